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


# ------------------------------------------------------------------ stages that are not stages (issue #14)

def _matrix_file(tmp_path):
    m = tmp_path / "in.csv"
    m.write_text("1,2,3,4\n5,6,7,8\n9,10,11,12\n13,14,15,16\n")
    return m


@pytest.mark.parametrize("typo, message", [
    ("pol --size 2", "unknown stage 'pol', did you mean pool?"),
    ("pol", "unknown stage 'pol', did you mean pool?"),
    ("convolv -k box", "unknown stage 'convolv', did you mean convolve?"),
    ("upsampel --scale 2", "did you mean upsample?"),
    ("xyzzy --foo 1", "unknown stage 'xyzzy'; stages start with one of convolve, tconv, activate, pool, upsample"),
])
def test_a_mistyped_stage_is_an_error_not_an_input(cli, tmp_path, typo, message):
    m = _matrix_file(tmp_path)
    out = tmp_path / "out.npy"
    code, stdout, err = cli("chain", "convolve -k box", typo, m, "-o", out)
    assert code == 2, err
    assert message in err and err.startswith("convcli: error: ") and err.count("\n") == 1
    assert not out.exists() and stdout == ""


def test_a_stage_after_the_inputs_is_refused(cli, tmp_path):
    m = _matrix_file(tmp_path)
    code, _, err = cli("chain", "convolve -k box", m, "pool --size 2", "-o", tmp_path / "o.npy")
    assert code == 2 and "comes after the input" in err and err.count("\n") == 1
    assert not (tmp_path / "o.npy").exists()


def test_a_stage_beside_pipeline_is_refused(cli, tmp_path):
    (tmp_path / "net.txt").write_text("convolve -k box\n")
    code, _, err = cli("chain", "--pipeline", tmp_path / "net.txt", "pool --size 2", _matrix_file(tmp_path))
    assert code == 2 and "put it in the pipeline file" in err and err.count("\n") == 1


def test_an_existing_file_that_looks_like_a_stage_is_an_input(cli, tmp_path, monkeypatch):
    """Only arguments that are not existing inputs are taken for stages."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pool 2.csv").write_text("1,2;3,4".replace(";", "\n"))
    code, out, err = cli("chain", "activate --fn relu", "pool 2.csv")
    assert code == 0, err
    assert "result 2×2" in out
    # a missing file with a space in its name is still reported as a missing input
    code, _, err = cli("chain", "activate --fn relu", "my matrix.csv")
    assert code == 3 and "my matrix.csv" in err and "unknown stage" not in err


def test_the_right_stage_still_pools(cli, tmp_path):
    m = _matrix_file(tmp_path)
    assert cli("chain", "convolve -k box --padding 1", "pool --size 2", m, "-o", tmp_path / "o.npy")[0] == 0
    assert np.load(tmp_path / "o.npy").shape == (2, 2)


# ------------------------------------------------------------------ --pipeline files

def test_pipeline_comments_at_the_end_of_a_line(cli, tmp_path):
    m = _matrix_file(tmp_path)
    kernel = tmp_path / "k #1.csv"               # a # inside quotes is part of the word
    kernel.write_text("0,0,0\n0,2,0\n0,0,0\n")
    (tmp_path / "net.txt").write_text(
        "# a tiny network\n"
        f'convolve -k "{kernel}" --padding 1   # doubles every value\n'
        "\n"
        "pool --size 2 --mode max  # 2x2 max\n"
        "activate --fn relu  # keeps positives\n")
    code, _, err = cli("chain", "--pipeline", tmp_path / "net.txt", m, "-o", tmp_path / "o.npy", "--json")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), [[12, 16], [28, 32]])


def test_strip_comment_is_quote_aware():
    from convcli.cli.chain import strip_comment
    assert strip_comment('convolve -k box  # blur') == "convolve -k box  "
    assert strip_comment('convolve -k "a # b.csv" # c') == 'convolve -k "a # b.csv" '
    assert strip_comment("convolve -k 'x#y' #") == "convolve -k 'x#y' "
    assert strip_comment("convolve -k a#b.csv") == "convolve -k a#b.csv"
    assert strip_comment(r"convolve -k a\ \#b") == r"convolve -k a\ \#b"
    assert strip_comment("# whole line") == ""


def test_pipeline_from_dev_zero_is_a_clean_error(cli, tmp_path):
    code, out, err = cli("chain", "--pipeline", "/dev/zero", _matrix_file(tmp_path))
    assert code == 6 and "pipeline file" in err and "65,536" in err and err.count("\n") == 1 and out == ""


def test_pipeline_limits_and_bad_files(cli, tmp_path):
    m = _matrix_file(tmp_path)
    many = tmp_path / "many.txt"
    many.write_text("activate --fn relu\n" * 65)
    code, _, err = cli("chain", "--pipeline", many, m)
    assert code == 6 and "65 stages, over the limit of 64" in err and err.count("\n") == 1
    many.write_text("activate --fn relu\n" * 64)
    assert cli("chain", "--pipeline", many, m, "-o", tmp_path / "ok.npy")[0] == 0
    big = tmp_path / "big.txt"
    big.write_text("# padding\n" * 7000)
    code, _, err = cli("chain", "--pipeline", big, m)
    assert code == 6 and "over the limit" in err
    code, _, err = cli("chain", "--pipeline", tmp_path / "missing.txt", m)
    assert code == 2 and "no such file" in err and err.count("\n") == 1
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"convolve -k box # caf\xe9\n")
    code, _, err = cli("chain", "--pipeline", latin, m)
    assert code == 2 and "not UTF-8" in err
    code, _, err = cli("chain", "--pipeline", tmp_path, m)
    assert code == 2 and "directory" in err
    typo = tmp_path / "typo.txt"
    typo.write_text("convolve -k box\npol --size 2\n")
    code, _, err = cli("chain", "--pipeline", typo, m)
    assert code == 2 and "unknown stage 'pol', did you mean pool?" in err
