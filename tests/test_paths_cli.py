"""The CLI's CONVCLI_<OP>_PATH variables: every path of an op writes the same file from the shell,
and a path that is unknown or cannot run the input is one line on stderr and exit 2, with no output."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

CASES = [
    ("CONVCLI_CONV_PATH", ["direct", "separable", "fft"], ["convolve", "-k", "gaussian:5", "--padding", "same"]),
    ("CONVCLI_CONV_PATH", ["direct", "fft"], ["convolve", "-k", "1,2,0;-3,1,4;0,5,-2", "--padding-mode", "reflect",
                                              "--padding", "1"]),
    ("CONVCLI_POOL_PATH", ["rows", "planes"], ["pool", "--mode", "avg", "--size", "3"]),
    ("CONVCLI_TCONV_PATH", ["rows", "planes"], ["tconv", "-k", "1,2;3,4", "--stride", "2"]),
]


def _run(args, env_extra, cwd):
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-m", "convcli", *args], capture_output=True, text=True, env=env, cwd=cwd)


@pytest.mark.parametrize("var,paths,args", CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_every_forced_path_writes_the_same_result(var, paths, args, samples, tmp_path):
    results = {}
    for path in paths:
        out = tmp_path / f"{path}.npy"
        done = _run([*args, str(samples / "gray.png"), "-o", str(out)], {var: path}, tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        results[path] = np.load(out)
    first = results[paths[0]]
    assert first.size > 1000 and np.ptp(first) > 0        # a real image result, not a constant
    for path, got in results.items():
        np.testing.assert_allclose(got, first, rtol=1e-5, atol=1e-3, err_msg=path)


@pytest.mark.parametrize("var,value,why", [
    ("CONVCLI_CONV_PATH", "fastest", "must be one of dense, fft, separable, direct"),
    ("CONVCLI_CONV_PATH", "separable", "needs a rank-1 kernel"),
    ("CONVCLI_CONV_PATH", "dense", "cannot run this plan"),
    ("CONVCLI_BLOCKS", "many", "CONVCLI_BLOCKS must be"),
])
def test_a_bad_forced_path_is_one_line_and_exit_2(var, value, why, samples, tmp_path):
    out = tmp_path / "out.png"
    done = _run(["convolve", str(samples / "gray.png"), "-k", "1,2;3,5", "-o", str(out)], {var: value}, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcli: error: ") and why in lines[0], done.stderr
    assert var in lines[0]
    assert not out.exists() and os.listdir(tmp_path) == []
