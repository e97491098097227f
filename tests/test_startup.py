"""Start-up: a process that finds its kernels in Numba's cache loads them by convcli's quick path
(no full compiler refresh, see convcli/_numba_env.py) and computes exactly what a process that
took Numba's own path computes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

# every compiled kernel family, on small fixed inputs; prints the quick-load count, saves the results
SCRIPT = r"""
import json, sys
import numpy as np
import pytest
import convcli
from convcli import _numba_env
from convcli.ops.activations import FUNCTIONS
from convcli.ops.display import to_pixels

rng = np.random.default_rng(7)
img8 = rng.integers(0, 256, (37, 41, 3)).astype(np.uint8)
imgf = rng.standard_normal((29, 33)).astype(np.float32)
out = {
    "sobel_u8": convcli.convolve(img8, "sobel-x", padding="same", padding_mode="reflect"),
    "random_f32": convcli.convolve(imgf, rng.standard_normal((4, 5)).astype(np.float32), padding=2,
                                   stride=2, dilation=(1, 2), padding_mode="circular"),
    "dense": convcli.convolve(img8, rng.standard_normal((2, 3, 3, 3)).astype(np.float32), padding=1),
    "max": convcli.pool(img8, mode="max", size=3, stride=2, padding=1),
    "avg": convcli.pool(imgf, mode="avg", size=2),
    "nearest": convcli.upsample(img8, mode="nearest", scale=2),
    "bilinear": convcli.upsample(imgf, mode="bilinear", scale=1.5),
    "tconv": convcli.tconv(imgf, rng.standard_normal((4, 4)).astype(np.float32), stride=2, padding=1),
    "bnorm": np.stack(convcli.batch_norm([imgf, imgf * 2])[0]),
    "pixels": to_pixels(imgf * 100, 255, "abs"),
}
for fn in FUNCTIONS:
    out["act_" + fn] = convcli.activate(imgf * 4, fn)
    out["grad_" + fn] = convcli.activate(imgf * 4, fn, derivative=True)
np.savez(sys.argv[1], **out)
print(json.dumps({"fast_loads": _numba_env.fast_loads}))
"""


def _run(tmp_path: Path, name: str, **env_extra) -> tuple[dict, dict]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra)
    target = tmp_path / f"{name}.npz"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(target)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    with np.load(target) as data:
        return info, {key: data[key] for key in data.files}


def test_cached_kernels_load_quickly_and_compute_the_same(tmp_path, monkeypatch, capsys):
    # the session's own cache (warm after the in-process tests; a first run here compiles)
    _run(tmp_path, "first")
    info, quick = _run(tmp_path, "quick")
    off, full = _run(tmp_path, "full", CONVCLI_NUMBA_FAST_LOAD="0")
    assert info["fast_loads"] >= 10, info          # the kernels came by the quick path
    assert off["fast_loads"] == 0
    # the same script in this process, where Numba compiled or loaded its own way
    monkeypatch.setattr(sys, "argv", ["-", str(tmp_path / "here.npz")])
    exec(compile(SCRIPT, "<startup script>", "exec"), {})
    with np.load(tmp_path / "here.npz") as data:
        here = {key: data[key] for key in data.files}
    assert quick.keys() == full.keys() == here.keys()
    for key in full:
        np.testing.assert_array_equal(quick[key], full[key], err_msg=key)
        np.testing.assert_array_equal(quick[key], here[key], err_msg=key)
    assert np.abs(here["sobel_u8"]).max() > 0 and np.isfinite(here["bilinear"]).all()


def test_quick_path_is_installed_once_and_can_be_turned_off(monkeypatch):
    from numba.core import caching

    from convcli import _numba_env

    assert getattr(caching.Cache.load_overload, "convcli_quick", False)
    before = caching.Cache.load_overload
    assert _numba_env.fast_cache_loads() is True
    assert caching.Cache.load_overload is before          # not wrapped twice
    monkeypatch.setenv("CONVCLI_NUMBA_FAST_LOAD", "0")
    assert _numba_env.fast_cache_loads() is False


@pytest.mark.parametrize("failure", [OSError("no libc"), AttributeError("mallopt")])
def test_malloc_tuning_is_optional(monkeypatch, failure):
    import ctypes

    from convcli import cli

    def cdll(*args, **kwargs):
        raise failure

    monkeypatch.setattr(ctypes, "CDLL", cdll)
    cli._keep_big_buffers()          # nothing raised: malloc is left as it was


def test_the_console_script_tunes_malloc_and_exits_with_the_code(tmp_path):
    # the real entry point (main: malloc tuning, run, gc.freeze, exit code) in a fresh process
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    code = ("import sys; from convcli.cli import main; "
            f"sys.argv = ['convcli', 'convolve', '--matrix', '50,50,0;50,50,0;50,50,0', '-k', 'vertical-edge', "
            f"'-o', {str(tmp_path / 'r.npy')!r}]; main()")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert np.load(tmp_path / "r.npy").tolist() == [[150.0]]
    bad = subprocess.run([sys.executable, "-c", code.replace("vertical-edge", "nonsense-kernel")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "nonsense-kernel" in bad.stderr
