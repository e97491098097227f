"""Shared fixtures: paths, running the CLI in-process, temporary outputs."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images"
GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def cli(capsys):
    """Run ``convcli ARGS`` in-process through the real entry (``convcli.cli.run``).

    Returns (exit_code, stdout, stderr)."""
    from convcli.cli import run

    def invoke(*args: str):
        code = run([str(a) for a in args])
        out, err = capsys.readouterr()
        return int(code), out, err

    return invoke


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def torch_or_skip():
    return pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under a directory with its bytes: to assert nothing changed or appeared."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def _no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("CONVCLI_MAX_PIXELS", raising=False)
    import convcli.limits as limits
    limits.set_max_pixels(limits.DEFAULT_MAX_PIXELS)
    yield
    limits.set_max_pixels(limits.DEFAULT_MAX_PIXELS)


def os_is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
