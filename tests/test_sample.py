"""`convcli sample`: the bundled samples, copied byte for byte, without a source checkout."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES
from convcli import samples

DATA_FILES = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".csv", ".png", ".jpg"))


def test_the_package_holds_the_top_level_samples():
    """One copy: the package's sample_images is the repository's (a symlink in a checkout)."""
    assert sorted(samples.names()) == DATA_FILES
    for name in DATA_FILES:
        assert samples.path_of(name).read_bytes() == (SAMPLES / name).read_bytes()
    assert (ROOT / "convcli" / "sample_images").resolve() == SAMPLES.resolve()


def test_listing_names_every_sample_with_its_size(cli):
    code, out, err = cli("sample")
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == samples.names()
    listed = dict(line.split(None, 1) for line in lines)
    assert listed["slide_5x5.csv"].startswith("5×5 matrix")
    assert listed["slide_pool_4x4.csv"].startswith("4×4 matrix")
    assert listed["gray.png"].startswith("512×512 pixels, mode L")
    assert listed["rgb.jpg"].startswith("451×300 pixels, mode RGB")      # width × height
    assert listed["gray16.png"].startswith("256×256 pixels, mode I;16")


@pytest.mark.parametrize("name,given", [("slide_5x5.csv", "slide_5x5.csv"), ("gray.png", "gray"),
                                        ("rgb.jpg", "rgb.jpg"), ("gray16.png", "gray16")])
def test_writes_the_exact_bytes(cli, tmp_path, name, given):
    target = tmp_path / "copy.bin"
    code, out, err = cli("sample", given, "-o", str(target))
    assert code == 0, err
    assert target.read_bytes() == (SAMPLES / name).read_bytes()
    assert f"wrote {target}" in err and out == ""


def test_default_target_and_directory_target(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("sample", "slide_pool_4x4")
    assert code == 0, err
    assert (tmp_path / "slide_pool_4x4.csv").read_bytes() == (SAMPLES / "slide_pool_4x4.csv").read_bytes()
    (tmp_path / "d").mkdir()
    code, _, err = cli("sample", "alpha.png", "-o", "d")
    assert code == 0, err
    assert (tmp_path / "d" / "alpha.png").read_bytes() == (SAMPLES / "alpha.png").read_bytes()


def test_stdout(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "convcli", "sample", "gray.png", "-o", "-"], capture_output=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (SAMPLES / "gray.png").read_bytes()
    assert list(tmp_path.iterdir()) == []


def test_unknown_name_is_a_usage_error_with_the_list(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("sample", "cat.jpg", "-o", "x.jpg")
    assert code == 2 and out == ""
    assert err == f"convcli: error: unknown sample 'cat.jpg'; the samples are {', '.join(samples.names())}\n"
    assert list(tmp_path.iterdir()) == []


def test_bad_outputs(cli, tmp_path):
    code, _, err = cli("sample", "-o", str(tmp_path / "x.csv"))
    assert code == 2 and "-o needs a NAME" in err
    code, _, err = cli("sample", "slide_5x5", "-o", str(tmp_path / "missing" / "x.csv"))
    assert code == 5 and err.count("\n") == 1 and "does not exist" in err
    code, _, err = cli("sample", "slide_5x5", "-o", str(SAMPLES / "slide_5x5.csv"))
    assert code == 5 and "is the bundled sample itself" in err
    assert (SAMPLES / "slide_5x5.csv").read_bytes().startswith(b"#")


def test_sample_files_are_package_data():
    """pyproject.toml ships every sample file: each one matches a package-data pattern."""
    import fnmatch
    tomllib = pytest.importorskip("tomllib")      # Python 3.11+

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["convcli"]
    for path in Path(SAMPLES).iterdir():
        assert any(fnmatch.fnmatch(f"sample_images/{path.name}", p) for p in patterns), path.name
