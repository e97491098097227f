"""The environment: Numba's kernel cache on read-only installs and shared by concurrent runs,
--debug tracebacks, and Ctrl-C in the middle of a batch (exit 130, no partial files)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import SAMPLES, os_is_root

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra) -> dict:
    env = dict(os.environ)
    env.pop("NUMBA_CACHE_DIR", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


# ------------------------------------------------------------------------------ the Numba cache

@pytest.fixture
def numba_env(monkeypatch, tmp_path):
    """convcli._numba_env with the package's __pycache__ made unwritable (simulated: CI is root)."""
    from convcli import _numba_env

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    package_cache = os.path.join(os.path.dirname(os.path.abspath(_numba_env.__file__)), "__pycache__")
    real = _numba_env._writable
    blocked = {package_cache}

    def writable(path):
        return False if path in blocked else real(path)

    monkeypatch.setattr(_numba_env, "_writable", writable)
    return _numba_env, blocked


def test_read_only_package_falls_back_to_the_user_cache(numba_env, tmp_path):
    mod, _blocked = numba_env
    mod.configure_numba_cache()
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "xdg" / "convcli" / "numba")
    assert (tmp_path / "xdg" / "convcli" / "numba").is_dir()


def test_then_the_temp_dir(numba_env, tmp_path):
    mod, blocked = numba_env
    blocked.add(str(tmp_path / "xdg" / "convcli" / "numba"))
    mod.configure_numba_cache()
    assert os.environ["NUMBA_CACHE_DIR"].startswith(os.path.join(tempfile_dir(), "convcli-numba-"))


def tempfile_dir() -> str:
    import tempfile

    return tempfile.gettempdir()


def test_an_explicit_cache_dir_wins(numba_env, monkeypatch, tmp_path):
    mod, _blocked = numba_env
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    mod.configure_numba_cache()
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")


def test_writable_package_keeps_numbas_default(monkeypatch):
    from convcli import _numba_env

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(_numba_env, "_writable", lambda path: True)
    _numba_env.configure_numba_cache()
    assert "NUMBA_CACHE_DIR" not in os.environ


def test_writable_probe_really_probes(tmp_path):
    from convcli import _numba_env

    assert _numba_env._writable(str(tmp_path / "new" / "dir"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert not _numba_env._writable(str(blocker / "sub"))        # a file where a directory should be
    assert not list((tmp_path / "new" / "dir").iterdir())          # the probe cleaned up after itself


@pytest.mark.skipif(os_is_root(), reason="root writes into read-only directories; the logic is tested above")
def test_read_only_copy_of_the_package_imports_and_runs(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(ROOT / "convcli", site / "convcli", ignore=shutil.ignore_patterns("__pycache__"))
    for p in sorted(site.rglob("*"), reverse=True):
        p.chmod(0o555 if p.is_dir() else 0o444)
    site.chmod(0o555)
    try:
        env = _env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(tmp_path / "xdg"), PYTHONDONTWRITEBYTECODE="1")
        run = subprocess.run([sys.executable, "-c", "import os, convcli; "
                              "print(os.environ['NUMBA_CACHE_DIR']); "
                              "print(convcli.convolve([[1, 2], [3, 4]], '1,1;1,1').tolist())"],
                             env=env, capture_output=True, text=True, cwd=tmp_path)
    finally:
        for p in site.rglob("*"):
            p.chmod(0o755)
        site.chmod(0o755)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [str(tmp_path / "xdg" / "convcli" / "numba"), "[[10.0]]"]


def test_concurrent_runs_share_a_fresh_cache(tmp_path):
    """Three processes compile into one empty cache at the same moment: none crashes, all agree."""
    cache = tmp_path / "cache"
    env = _env(NUMBA_CACHE_DIR=str(cache))
    procs = [subprocess.Popen([sys.executable, "-m", "convcli", "convolve", str(SAMPLES / "slide_5x5.csv"),
                               "-k", "sobel-x", "--padding", "1", "-o", str(tmp_path / f"r{i}.npy")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT) for i in range(3)]
    results = [(p.wait(timeout=300), p.stderr.read().decode()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [code for code, _ in results] == [0, 0, 0], results
    outs = [np.load(tmp_path / f"r{i}.npy") for i in range(3)]
    assert outs[0].shape == (5, 5) and all(np.array_equal(outs[0], o) for o in outs[1:])
    assert any(cache.rglob("*.nbi")), "nothing was cached"


# -------------------------------------------------------------------------------------- --debug

def test_debug_shows_the_traceback_and_keeps_the_code(cli):
    code, _o, err = cli("--debug", "convolve", "--matrix", "1,2;3,4", "-k", "nosuch")
    assert code == 2
    assert "Traceback" in err and "ParameterError" in err
    assert err.strip().splitlines()[-1].startswith("convcli: error: unknown kernel")


def test_debug_shows_the_traceback_of_a_failing_batch_input(cli, tmp_path):
    bad = tmp_path / "ragged.csv"
    bad.write_text("1,2\n3\n")
    code, _o, err = cli("--debug", "convolve", bad, "-k", "1")
    assert code == 3 and "Traceback" in err and "InputError" in err
    code, _o, err = cli("convolve", bad, "-k", "1")
    assert code == 3 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_no_traceback_without_debug_even_for_a_bug(cli, monkeypatch):
    """An unexpected exception (a bug) is one line with exit 1; --debug shows where it came from."""
    from convcli.ops import conv

    def broken(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(conv, "conv_settings", broken)
    import convcli.cli.convolve as cmd
    monkeypatch.setattr(cmd, "conv_settings", broken)
    code, _o, err = cli("convolve", "--matrix", "1,2;3,4", "-k", "1")
    assert code == 1 and "Traceback" not in err
    assert err.strip() == "convcli: error: internal error: ZeroDivisionError: a bug (rerun with --debug for the traceback)"
    code, _o, err = cli("--debug", "convolve", "--matrix", "1,2;3,4", "-k", "1")
    assert code == 1 and "Traceback" in err and "broken" in err


# --------------------------------------------------------------------------------------- Ctrl-C

def _default_sigint() -> None:
    """The child starts with Ctrl-C's default disposition, even when the test runner was started as a
    background job (which ignores SIGINT, and convcli keeps an ignored signal ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_in_the_middle_of_a_batch(tmp_path):
    """SIGINT while a batch runs: exit 130, one line, every written output complete, no temp file."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(60):
        shutil.copy(SAMPLES / "gray.png", inputs / f"g{i:02d}.png")
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "convcli", "convolve", str(inputs), "-k", "gaussian:41",
                             "--padding", "same", "--out-dir", str(out), "--format", "npy", "-q", "-j", "2"],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            preexec_fn=_default_sigint)
    deadline = time.monotonic() + 240
    while not any(out.glob("*.npy")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the batch finished before it could be interrupted: make it slower"
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    assert code == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "convcli: error: interrupted"
    written = sorted(out.glob("*.npy"))
    assert 1 <= len(written) < 60
    for p in written:
        assert np.load(p).shape == (512, 512)
    assert not [p.name for p in out.iterdir() if p.suffix != ".npy"], list(out.iterdir())
