"""Many inputs: a folder with broken files among good ones, JSON, pipes, names, atomicity."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import convcli
from convcli.batch import Outcome, expand_inputs, output_name, run_batch
from conftest import ROOT, snapshot


@pytest.fixture
def folder(tmp_path, samples):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("gray.png", "rgb.jpg", "alpha.png"):
        (src / name).write_bytes((samples / name).read_bytes())
    (src / "broken.png").write_bytes(b"not an image at all")
    (src / "trunc.png").write_bytes((samples / "gray.png").read_bytes()[:400])
    (src / "notes.md").write_text("ignored: not an image or matrix extension")
    np.save(src / "m.npy", np.arange(30, dtype=np.float32).reshape(5, 6))
    out = tmp_path / "out"
    out.mkdir()
    return src, out


def test_folder_with_broken_files(cli, folder):
    src, out = folder
    before = snapshot(src)
    code, stdout, err = cli("convolve", src, "-k", "box", "--padding", "same", "--out-dir", out)
    assert code == 4
    assert sorted(os.listdir(out)) == ["alpha.png", "gray.png", "m.npy", "rgb.jpg"]
    assert "broken.png: not an image format" in err and "trunc.png: corrupt or truncated" in err
    assert "4 written to" in err and "2 failed" in err
    assert snapshot(src) == before                                  # inputs untouched
    g = np.asarray(Image.open(out / "gray.png"), dtype=np.float64)
    expected = convcli.convolve(np.asarray(Image.open(src / "gray.png"), dtype=np.float32), "box", padding="same")
    assert np.abs(g - expected).max() <= 0.5 + 1e-3                 # rounded to 8 bits, nothing else
    np.testing.assert_allclose(np.load(out / "m.npy"), convcli.convolve(np.load(src / "m.npy"), "box", padding="same"))
    assert not [p for p in os.listdir(out) if p.startswith(".convcli-")]   # no temporary files left


def test_json_records(cli, folder):
    src, out = folder
    code, stdout, err = cli("convolve", str(src / "*.png"), "-k", "sobel-x", "--out-dir", out,
                            "--format", "npy", "--name", "{stem}_edges", "--json")
    assert code == 4
    doc = json.loads(stdout)
    by_input = {os.path.basename(r["input"]): r for r in doc["records"]}
    assert sorted(by_input) == ["alpha.png", "broken.png", "gray.png", "trunc.png"]
    ok = by_input["gray.png"]
    assert ok["status"] == "ok" and ok["output"].endswith("gray_edges.npy")
    assert ok["input_shape"] == [512, 512] and ok["output_shape"] == [510, 510]
    arr = np.load(ok["output"])
    assert ok["min"] == pytest.approx(float(arr.min())) and ok["mean"] == pytest.approx(float(arr.mean()), rel=1e-5)
    bad = by_input["broken.png"]
    assert bad["status"] == "error" and bad["exit_code"] == 3 and "not an image format" in bad["error"]
    assert doc["written"] == 2 and doc["failed"] == 2
    assert "\x1b[" not in stdout


def test_several_inputs_need_out_dir(cli, samples):
    code, _, err = cli("convolve", samples / "gray.png", samples / "rgb.jpg", "-k", "box")
    assert code == 2 and "give --out-dir DIR" in err
    code, _, err = cli("convolve", samples / "gray.png", samples / "rgb.jpg", "-k", "box", "-o", "x.png")
    assert code == 2 and "-o names one output" in err


def test_missing_patterns_and_dirs(cli, tmp_path, samples):
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = cli("convolve", samples / "gray.png", str(tmp_path / "nothing*.png"), "-k", "box", "--out-dir", out)
    assert code == 4 and "no files match" in err and os.listdir(out) == ["gray.png"]
    # a missing --out-dir is created (with its parents), as bnorm-stats --out-dir always did
    code, _, err = cli("convolve", samples / "gray.png", "-k", "box", "--out-dir", tmp_path / "new" / "dir")
    assert code == 0 and os.listdir(tmp_path / "new" / "dir") == ["gray.png"]
    assert err.strip().splitlines() == [f"convcli: 1 written to {tmp_path / 'new' / 'dir'}, 0 failed, in "
                                        + err.split(" in ")[-1].strip()]
    # ... but only when something is written: a run that fails first leaves no empty directory
    code, _, err = cli("convolve", samples / "gray.png", "-k", "box:999", "--out-dir", tmp_path / "never")
    assert code == 2 and not (tmp_path / "never").exists()
    # a file in the way is still refused at once
    (tmp_path / "afile").write_text("x")
    code, _, err = cli("convolve", samples / "gray.png", "-k", "box", "--out-dir", tmp_path / "afile" / "sub")
    assert code == 5 and "not a directory" in err and len(err.strip().splitlines()) == 1


def test_output_never_replaces_an_input(cli, folder):
    src, _ = folder
    before = snapshot(src)
    code, _, err = cli("convolve", src / "gray.png", src / "rgb.jpg", "-k", "box", "--out-dir", src)
    assert code == 4 and "overwrite the input" in err
    assert snapshot(src) == before


def test_name_collisions_are_refused(cli, tmp_path, samples):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    for d in (a, b, out):
        d.mkdir()
    (a / "x.png").write_bytes((samples / "gray.png").read_bytes())
    (b / "x.png").write_bytes((samples / "gray.png").read_bytes())
    code, _, err = cli("convolve", a / "x.png", b / "x.png", "-k", "box", "--out-dir", out)
    assert code == 4 and "also the output of" in err and os.listdir(out) == ["x.png"]


def test_stdin_stdout_round_trip(samples, tmp_path):
    env = dict(os.environ, NO_COLOR="1")
    data = (samples / "gray.png").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "convcli", "convolve", "-", "-k", "box", "--padding", "same",
                           "-o", "-"], input=data, capture_output=True, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "b.png").write_bytes(proc.stdout)
    assert cli_equivalent(samples / "gray.png", tmp_path / "b.png")
    proc = subprocess.run([sys.executable, "-m", "convcli", "convolve", "-", "-k", "box", "-o", "-", "--format", "npy"],
                          input=data, capture_output=True, env=env, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout[:6] == b"\x93NUMPY"


def cli_equivalent(src, piped) -> bool:
    expected = convcli.convolve(np.asarray(Image.open(src), dtype=np.float32), "box", padding="same")
    return np.abs(np.asarray(Image.open(piped), dtype=np.float64) - expected).max() <= 0.5 + 1e-3


def test_expand_and_name_helpers(tmp_path):
    (tmp_path / "b.png").write_bytes(b"x")
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "c.txt").write_text("1")
    (tmp_path / "z.md").write_text("no")
    assert [os.path.basename(p) for p, e in expand_inputs([str(tmp_path)])] == ["a.jpg", "b.png", "c.txt"]
    assert output_name("in/photo.gif", "out") == os.path.join("out", "photo.png")
    assert output_name("in/photo.jpg", "out", fmt="tif", name="{stem}_x") == os.path.join("out", "photo_x.tif")


def test_python_batch_api(folder):
    src, out = folder
    records = run_batch([str(src / "gray.png"), str(src / "broken.png")],
                        lambda im: Outcome(convcli.convolve(im.data, "box", padding="same")), out_dir=str(out))
    assert [r.status for r in records] == ["ok", "error"]
    assert os.path.exists(out / "gray.png")


@pytest.mark.parametrize("statistics", [True, False])
def test_record_statistics_only_when_asked(folder, statistics):
    src, out = folder
    made = {}

    def step(im):
        made["result"] = convcli.convolve(im.data, "sobel-x", padding="same")
        return Outcome(made["result"])

    (rec,) = run_batch([str(src / "gray.png")], step, out_dir=str(out), statistics=statistics)
    result = made["result"]
    assert rec.status == "ok" and rec.output_shape == list(result.shape)
    if statistics:
        assert (rec.min, rec.max) == (float(result.min()), float(result.max()))
        assert rec.mean == pytest.approx(float(result.mean(dtype=np.float64)))
        assert rec.min < 0 < rec.max
    else:
        assert rec.min is None and rec.max is None and rec.mean is None
