"""`convcli chain`: stages parsed with each subcommand's own options; equal to running them one by one."""
from __future__ import annotations

import json

import numpy as np
import pytest

import convcli

SLIDE = "50,50,0,0,0;50,50,0,0,0;50,50,0,0,0;50,50,0,0,0;50,50,0,0,0"


def test_chain_equals_ops_one_by_one(cli, samples, tmp_path):
    code, _, err = cli("chain", "convolve -k sobel-x --padding same", "activate --fn relu", "tconv -k box -s 2",
                       samples / "gray.png", "-o", tmp_path / "c.npy")
    assert code == 0, err
    from PIL import Image
    x = np.asarray(Image.open(samples / "gray.png"), dtype=np.float32)
    expected = convcli.tconv(convcli.activate(convcli.convolve(x, "sobel-x", padding="same"), "relu"), "box", stride=2)
    np.testing.assert_allclose(np.load(tmp_path / "c.npy"), expected, rtol=1e-5, atol=1e-3)


def test_chain_through_the_cli_one_by_one(cli, tmp_path):
    """The same stages run as separate commands, through .npy files, give the same numbers."""
    m = tmp_path / "m.csv"
    m.write_text("\n".join(",".join(str((r * 7 + c * 3) % 11) for c in range(8)) for r in range(8)))
    assert cli("convolve", m, "-k", "laplacian", "--padding", "1", "-o", tmp_path / "a.npy")[0] == 0
    assert cli("activate", tmp_path / "a.npy", "--fn", "leaky-relu", "--alpha", "0.1", "-o", tmp_path / "b.npy")[0] == 0
    assert cli("chain", "convolve -k laplacian --padding 1", "activate --fn leaky-relu --alpha 0.1", m,
               "-o", tmp_path / "c.npy")[0] == 0
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), np.load(tmp_path / "c.npy"))


def test_summary_and_pipeline_file(cli, tmp_path):
    (tmp_path / "net.txt").write_text("# a tiny network\nconvolve -k vertical-edge\nactivate --fn relu\n")
    code, out, err = cli("chain", "--pipeline", tmp_path / "net.txt", "--matrix", SLIDE, "--summary")
    assert code == 0, err
    assert "convolve -k vertical-edge" in out and "3×3" in out and "⌊(5 + 2·0 − 1·(3 − 1) − 1) / 1⌋ + 1 = 3" in out
    assert "150" in out


def test_json_has_every_stage(cli, samples, tmp_path):
    code, out, _ = cli("chain", "convolve -k box", "activate --fn tanh", samples / "gray.png", samples / "rgb.jpg",
                       "--out-dir", tmp_path, "--format", "npy", "--json")
    assert code == 0
    doc = json.loads(out)
    stages = doc["records"][0]["report"]["stages"]
    assert [s["stage"] for s in stages] == ["input", "convolve -k box", "activate --fn tanh"]
    assert stages[1]["shape"] == [510, 510] and -1 <= stages[2]["min"] <= stages[2]["max"] <= 1
    assert doc["written"] == 2


@pytest.mark.parametrize("args, message", [
    (["convolve -k nope"], "unknown kernel"),
    (["convolve -k box -o x.png"], "belong to chain itself"),
    (["convolve --bogus"], "No such option"),
    (["activate --fn relu --stride 2"], "No such option"),
    ([], "no stages"),
])
def test_bad_stages(cli, samples, args, message):
    code, _, err = cli("chain", *args, samples / "gray.png")
    assert code == 2 and message in err and err.count("\n") == 1
