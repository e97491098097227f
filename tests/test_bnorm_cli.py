"""``convcli bnorm-stats`` end to end: statistics, running statistics, outputs, eval, trace, errors."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import snapshot, torch_or_skip
from reference import batch_norm_reference


def _npys(directory, arrays):
    directory.mkdir(exist_ok=True)
    paths = []
    for i, a in enumerate(arrays):
        p = directory / f"x{i:02d}.npy"
        np.save(p, a.astype(np.float32))
        paths.append(p)
    return paths


def test_json_statistics_match_reference(cli, tmp_path, rng):
    arrays = [(rng.standard_normal((int(rng.integers(2, 6)), int(rng.integers(2, 6)), 2)) * 3 + 1)
              for _ in range(5)]
    _npys(tmp_path / "in", arrays)
    code, out, err = cli("bnorm-stats", tmp_path / "in", "--batch-size", "2", "--momentum", "none",
                         "--gamma", "2,0.5", "--beta", "1", "--json")
    assert code == 0, err
    doc = json.loads(out)
    images = [a.astype(np.float32) for a in arrays]
    _, ref = batch_norm_reference(images, momentum=None, batch_size=2, gamma=[2, 0.5], beta=[1, 1])
    assert doc["channels"] == 2 and doc["inputs"] == 5 and doc["count"] == ref["count"]
    for key in ("mean", "var", "var_unbiased", "running_mean", "running_var"):
        np.testing.assert_allclose(doc[key], ref[key], rtol=1e-6, atol=1e-7)
    assert len(doc["batches"]) == 3
    for b, rb in zip(doc["batches"], ref["batches"]):
        for key in ("mean", "var", "var_unbiased", "running_mean", "running_var"):
            np.testing.assert_allclose(b[key], rb[key], rtol=1e-6, atol=1e-7)
    assert [b["momentum"] for b in doc["batches"]] == [1.0, 0.5, pytest.approx(1 / 3)]
    assert doc["files"] == [str(tmp_path / "in" / f"x{i:02d}.npy") for i in range(5)]
    assert "bnorm-stats: 5 input(s), 2 channel(s)" in err


def test_agrees_with_torch_batchnorm2d(cli, tmp_path):
    torch = torch_or_skip()
    rng = np.random.default_rng(42)
    for trial in range(3):
        n, c, h, w = 6, 1 + trial, 5, 4
        x = (rng.standard_normal((n, h, w, c)) * (1 + 10 * trial) + trial).astype(np.float32)
        d = tmp_path / f"t{trial}"
        paths = _npys(d, list(x))
        momentum = [0.1, None, 0.7][trial]
        args = ["bnorm-stats", *paths, "--batch-size", "4", "--json", "--out-dir", d / "out", "--save-stats", d / "s.json",
                "--momentum", "none" if momentum is None else str(momentum)]
        code, out, err = cli(*args)
        assert code == 0, err
        doc = json.loads(out)
        bn = torch.nn.BatchNorm2d(c, momentum=momentum)
        ys = []
        with torch.no_grad():
            for start in (0, 4):
                ys.append(bn(torch.from_numpy(x[start:start + 4]).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy())
        y = np.concatenate(ys)
        np.testing.assert_allclose(doc["running_mean"], bn.running_mean.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(doc["running_var"], bn.running_var.numpy(), rtol=1e-4, atol=1e-4)
        xt = torch.from_numpy(x).permute(0, 3, 1, 2)
        np.testing.assert_allclose(doc["mean"], xt.mean(dim=(0, 2, 3)).numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(doc["var"], xt.var(dim=(0, 2, 3), unbiased=False).numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(doc["var_unbiased"], xt.var(dim=(0, 2, 3), unbiased=True).numpy(), rtol=1e-4)
        for i, p in enumerate(paths):
            got = np.load(d / "out" / p.name)
            assert got.dtype == np.float32 and got.shape == (h, w, c)
            np.testing.assert_allclose(got, y[i], rtol=1e-4, atol=1e-4)
        # test time: torch's eval with the running statistics
        x_new = (rng.standard_normal((2, 3, 3, c)) * 2).astype(np.float32)
        new = _npys(d / "new", list(x_new))
        code, out, err = cli("bnorm-stats", *new, "--eval", "--stats", d / "s.json", "--out-dir", d / "eval_out")
        assert code == 0, err
        bn.eval()
        with torch.no_grad():
            ye = bn(torch.from_numpy(x_new).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
        for i, p in enumerate(new):
            np.testing.assert_allclose(np.load(d / "eval_out" / p.name), ye[i], rtol=1e-4, atol=1e-4)


def test_images_scaled_to_unit_range_unless_raw(cli, samples):
    src = np.asarray(Image.open(samples / "rgb.jpg"), dtype=np.float64)
    code, out, _ = cli("bnorm-stats", samples / "rgb.jpg", "--json")
    doc = json.loads(out)
    np.testing.assert_allclose(doc["mean"], (src / 255).mean(axis=(0, 1)), rtol=1e-6)
    np.testing.assert_allclose(doc["var"], (src / 255).var(axis=(0, 1)), rtol=1e-6)
    code, out, _ = cli("bnorm-stats", samples / "rgb.jpg", "--json", "--raw")
    doc = json.loads(out)
    np.testing.assert_allclose(doc["mean"], src.mean(axis=(0, 1)), rtol=1e-6)
    np.testing.assert_allclose(doc["var"], src.var(axis=(0, 1)), rtol=1e-6)
    code, out, _ = cli("bnorm-stats", samples / "gray16.png", "--json")
    g16 = np.asarray(Image.open(samples / "gray16.png"), dtype=np.float64)
    np.testing.assert_allclose(json.loads(out)["mean"], [(g16 / 65535).mean()], rtol=1e-6)


def test_mixed_sizes_rgb_and_rgba(cli, samples):
    a = np.asarray(Image.open(samples / "rgb.jpg"), dtype=np.float64) / 255
    b = np.asarray(Image.open(samples / "alpha.png"), dtype=np.float64)[..., :3] / 255
    code, out, _ = cli("bnorm-stats", samples / "rgb.jpg", samples / "alpha.png", "--json")
    assert code == 0
    both = np.concatenate([a.reshape(-1, 3), b.reshape(-1, 3)])
    doc = json.loads(out)
    assert doc["count"] == both.shape[0]
    np.testing.assert_allclose(doc["mean"], both.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(doc["var"], both.var(axis=0), rtol=1e-6)


def test_glob_and_directory_order(cli, tmp_path):
    for name, v in [("b.csv", "1,2"), ("a.csv", "3,5"), ("c.txt", "7 8")]:
        (tmp_path / name).write_text(v + "\n")
    code, out, _ = cli("bnorm-stats", str(tmp_path / "*.csv"), tmp_path / "c.txt", "--json")
    assert json.loads(out)["files"] == [str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), str(tmp_path / "c.txt")]
    code, out, _ = cli("bnorm-stats", tmp_path, "--json", "--batch-size", "1")
    doc = json.loads(out)
    assert [b["mean"][0] for b in doc["batches"]] == [4.0, 1.5, 7.5]     # a, b, c


def test_out_dir_images_display_mapping_keeps_alpha_and_depth(cli, samples, tmp_path):
    code, out, err = cli("bnorm-stats", samples / "alpha.png", samples / "gray16.png", "--gray",
                         "--out-dir", tmp_path / "out", "--json")
    assert code == 0, err
    doc = json.loads(out)
    src = np.asarray(Image.open(samples / "alpha.png").convert("RGBA"), dtype=np.float64)
    luma = (src[..., 0] * 0.299 + src[..., 1] * 0.587 + src[..., 2] * 0.114) / 255
    z = (luma - doc["mean"][0]) / np.sqrt(doc["var"][0] + 1e-5)
    expected = np.clip(np.rint((z + 3) / 6 * 255), 0, 255)
    got = Image.open(tmp_path / "out" / "alpha.png")
    assert got.mode == "LA"
    arr = np.asarray(got, dtype=np.float64)
    assert np.abs(arr[..., 0] - expected).max() <= 1
    np.testing.assert_array_equal(arr[..., 1], src[..., 3])
    assert Image.open(tmp_path / "out" / "gray16.png").mode.startswith("I;16")


def test_save_stats_then_eval(cli, tmp_path):
    (tmp_path / "a.csv").write_text("1,3\n")
    (tmp_path / "b.csv").write_text("5,7\n")
    code, _, err = cli("bnorm-stats", tmp_path / "a.csv", tmp_path / "b.csv", "--save-stats", tmp_path / "s.json",
                       "--gamma", "2", "--beta", "0.5")
    assert code == 0, err
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["running_mean"] == pytest.approx([0.4]) and saved["running_var"] == pytest.approx([0.9 + 0.1 * 20 / 3])
    assert saved["gamma"] == [2.0] and saved["beta"] == [0.5] and saved["num_batches_tracked"] == 1
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "t.csv").write_text("0,10\n")
    code, out, err = cli("bnorm-stats", tmp_path / "new" / "t.csv", "--eval", "--stats", tmp_path / "s.json",
                         "--out-dir", tmp_path / "o", "--json")
    assert code == 0, err
    got = np.loadtxt(tmp_path / "o" / "t.csv", delimiter=",")
    rv = 0.9 + 0.1 * 20 / 3
    np.testing.assert_allclose(got, 2 * (np.array([0, 10]) - 0.4) / np.sqrt(rv + 1e-5) + 0.5, rtol=1e-6)
    doc = json.loads(out)
    assert doc["mode"] == "eval" and doc["running_mean"] == pytest.approx([0.4])


def test_trace_writes_out_the_slide_formulas(cli, tmp_path):
    (tmp_path / "a.csv").write_text("1,3\n")
    (tmp_path / "b.csv").write_text("5,7\n")
    code, out, _ = cli("bnorm-stats", tmp_path / "a.csv", tmp_path / "b.csv", "--trace")
    assert code == 0
    assert "μ = (1 + 3 + 5 + 7) / 4 = 4" in out
    assert "σ² = ((1 − 4)² + (3 − 4)² + (5 − 4)² + (7 − 4)²) / 4 = 5" in out
    assert "σ²·n/(n − 1) = 5·4/3 = 6.66667" in out
    assert "a.csv[0,0]: ẑ = (1 − 4) / √(5 + 1e-05) = -1.34164" in out
    assert "running_mean = (1 − 0.1)·0 + 0.1·4 = 0.4" in out
    assert "running_var = (1 − 0.1)·1 + 0.1·6.667 = 1.56667" in out


# ----------------------------------------------------------------------------------------- errors

def test_errors_leave_nothing_behind(cli, samples, tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    shutil.copy(samples / "rgb.jpg", work / "rgb.jpg")
    shutil.copy(samples / "gray.png", work / "gray.png")
    (work / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    before = snapshot(tmp_path)
    out_args = ["--out-dir", tmp_path / "out", "--save-stats", tmp_path / "s.json"]
    cases = [
        ((work / "rgb.jpg", work / "gray.png"), 3, "same number"),
        ((work / "rgb.jpg", work / "bad.png"), 3, "bad.png"),
        ((work / "rgb.jpg", tmp_path / "missing.png"), 3, "no such file"),
        ((str(tmp_path / "*.nothing"),), 3, "no files match"),
    ]
    for inputs, code, match in cases:
        got, _, err = cli("bnorm-stats", *inputs, *out_args)
        assert got == code and match in err, err
        assert err.startswith("convcli: error:") and len(err.strip().splitlines()) == 1
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("extra,code,match", [
    (["--eval"], 2, "--eval needs --stats"),
    (["--momentum", "2"], 2, "--momentum"),
    (["--momentum", "fast"], 2, "--momentum"),
    (["--gamma", "1,2"], 2, "gamma has 2 values"),
    (["--eps", "0"], 2, "eps"),
    (["--batch-size", "0"], 2, "batch_size"),
    (["--save-stats", "s.txt"], 2, ".json"),
])
def test_bad_parameters(cli, tmp_path, extra, code, match):
    (tmp_path / "a.csv").write_text("1,3\n")
    got, _, err = cli("bnorm-stats", tmp_path / "a.csv", *extra)
    assert got == code and match in err, err


def test_more_errors(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    got, _, err = cli("bnorm-stats", tmp_path / "empty")
    assert got == 3 and "has no image or matrix files" in err
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.csv").write_text("1,2\n")
    (tmp_path / "b" / "x.csv").write_text("3,4\n")
    got, _, err = cli("bnorm-stats", tmp_path / "a" / "x.csv", tmp_path / "b" / "x.csv", "--out-dir", tmp_path / "o")
    assert got == 5 and "would both be written" in err and not (tmp_path / "o").exists()
    got, _, err = cli("bnorm-stats", tmp_path / "a" / "x.csv", "--out-dir", tmp_path / "a")
    assert got == 5 and "overwrite the input" in err
    (tmp_path / "one.csv").write_text("5\n")
    got, _, err = cli("bnorm-stats", tmp_path / "one.csv")
    assert got == 3 and "more than one" in err
    (tmp_path / "s.json").write_text(json.dumps({"running_mean": [0, 0], "running_var": [1, 1]}))
    got, _, err = cli("bnorm-stats", tmp_path / "a" / "x.csv", "--eval", "--stats", tmp_path / "s.json")
    assert got == 3 and "2 channel(s)" in err
    (tmp_path / "bad.json").write_text("{")
    got, _, err = cli("bnorm-stats", tmp_path / "a" / "x.csv", "--eval", "--stats", tmp_path / "bad.json")
    assert got == 3 and "JSON" in err


def test_trace_exports(cli, samples, tmp_path):
    """bnorm-stats' trace exports like every op's: JSON on stdout (tables on stderr), or a file."""
    import json as _json
    code, out, err = cli("bnorm-stats", samples / "slide_5x5.csv", "--trace-format", "json", "--max-steps", "3")
    assert code == 0, err
    doc = _json.loads(out)
    assert "bnorm-stats" in err and doc["title"].startswith("bnorm-stats") and doc["sections"]
    code, out, _ = cli("bnorm-stats", samples / "slide_5x5.csv", "--trace-out", tmp_path / "bn.md")
    assert code == 0 and (tmp_path / "bn.md").read_text().startswith("# bnorm-stats")
    code, _, err = cli("bnorm-stats", samples / "slide_5x5.csv", "--trace-format", "json", "--json")
    assert code == 2 and "--trace-out" in err


def test_show_draws_input_and_normalized(cli, samples):
    code, out, err = cli("bnorm-stats", samples / "gray.png", "--show")
    assert code == 0, err
    assert "gray.png: input 512×512" in out and "normalized 512×512" in out
    assert "≤-" in out or "-1" in out          # normalized values are signed: a diverging legend
