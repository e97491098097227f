"""`convcli chain --trace / --cell / --trace-out`: what the user sees, and every way it can be misused."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

M6 = "1,2,3,4,5,6;7,8,9,10,11,12;1,2,3,4,5,6;7,8,9,10,11,12;1,2,3,4,5,6;7,8,9,10,11,12"
CONVCLI = str(Path(sys.executable).with_name("convcli"))


def test_trace_prints_every_stage_with_pictures(cli):
    code, out, err = cli("chain", "convolve -k box --padding 1", "pool --size 2", "--matrix", M6, "--trace")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "receptive field of output[1, 1] of the chain on --matrix"       # the centre of 3×3
    assert "after stage 2 · pool --size 2 · 3×3: rows 1..1, columns 1..1 · 1 cell (the traced cell)" in out
    assert "after stage 1 · convolve -k box --padding 1 · 6×6: rows 2..3, columns 2..3 · 2×2 = 4 cells" in out
    assert "input · 6×6: rows 1..4, columns 1..4 · 4×4 = 16 cells" in out
    assert "  read by stage 1 as convolve: 3×3 window, stride 1, dilation 1, padding 1,1,1,1" in out
    assert "  read by stage 2 as max pool: 2×2 window, stride 2, padding 0" in out
    # the input's picture: rows 1..4 and columns 1..4 marked
    start = lines.index("input · 6×6: rows 1..4, columns 1..4 · 4×4 = 16 cells")
    picture = lines[start + 2:start + 9]
    assert picture[0].split() == ["0", "1", "2", "3", "4", "5"]
    assert picture[1].split() == ["0"] + ["·"] * 6
    assert picture[2].split() == ["1", "·", "■", "■", "■", "■", "·"]
    assert picture[6].split() == ["5"] + ["·"] * 6
    assert "result 3×3" in out            # the result table still follows


def test_cell_picks_another_output_and_holes_are_listed(cli):
    code, out, err = cli("chain", "convolve -k box -d 2", "--matrix", M6, "--cell", "0,1")
    assert code == 0, err
    assert "of output[0, 1]" in out
    assert "input · 6×6: rows 0..4 (3 of them: 0, 2, 4), columns 1..5 (3 of them: 1, 3, 5) · 3×3 = 9 cells" in out


def test_a_big_map_is_cut_around_the_region(cli, samples):
    code, out, err = cli("chain", "convolve -k box -s 2", "pool --size 2", samples / "gray.png", "--cell", "10,20",
                         "--json")
    assert code == 0, err
    rec = json.loads(out)["records"][0]["report"]["receptive"]
    assert rec["cell"] == [10, 20]
    level = rec["levels"][-1]
    assert (level["rows"], level["columns"], level["cells"]) == ([40, 44], [80, 84], 25)


def test_json_keeps_stdout_for_json(cli):
    code, out, err = cli("chain", "convolve -k box", "--matrix", M6, "--trace", "--json")
    assert code == 0, err
    doc = json.loads(out)          # nothing else on stdout
    levels = doc["records"][0]["report"]["receptive"]["levels"]
    assert [lv["where"] for lv in levels] == ["after stage 1", "input"]
    assert levels[1]["row_cells"] == [2, 3, 4] and levels[1]["solid"] is True


@pytest.mark.parametrize("cell, needle", [
    ("4,0", "--cell 4,0 is outside the 4×4 output of the last stage (rows 0..3, columns 0..3)"),
    ("1", "--cell must be Y,X"),
    ("a,b", "--cell must be"),
    ("-1,0", "--cell must be Y,X with Y, X ≥ 0"),
])
def test_bad_cells(cli, tmp_path, cell, needle):
    code, out, err = cli("chain", "convolve -k box", "--matrix", M6, "--cell", cell, "-o", tmp_path / "o.npy")
    assert code == 2 and needle in err and err.count("\n") == 1
    assert not (tmp_path / "o.npy").exists()


def test_trace_out_formats(cli, tmp_path):
    stages = ["convolve -k box --padding 1", "pool --mode avg --size 2"]
    for name, check in (("t.md", lambda t: t.startswith("## receptive field of output[1, 1]") and "```text" in t
                         and "### input · 6×6: rows 1..4, columns 1..4 · 4×4 = 16 cells" in t),
                        ("t.txt", lambda t: t.startswith("receptive field of output[1, 1]") and "■ ■ ■ ■" in t),
                        ("t.json", lambda t: json.loads(t)["levels"][-1]["rows"] == [1, 4])):
        code, out, err = cli("chain", *stages, "--matrix", M6, "--trace-out", tmp_path / name)
        assert code == 0, err
        assert check((tmp_path / name).read_text()), name
        assert "receptive field" not in out       # the export went to the file only


def test_trace_out_misuse(cli, tmp_path, samples):
    code, _, err = cli("chain", "convolve -k box", samples / "gray.png", samples / "rgb.jpg", "--out-dir", tmp_path,
                       "--trace-out", tmp_path / "t.json")
    assert code == 2 and "one input" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
    code, _, err = cli("chain", "convolve -k box", "--matrix", M6, "--trace-out", tmp_path / "no" / "t.json")
    assert code == 5 and "does not exist" in err
    code, _, err = cli("chain", "tconv -k box -s 2 --overlap", "--matrix", M6, "--trace")
    assert code == 2 and "depend on no input value" in err and err.count("\n") == 1
    # refused before any input is read: one usage error, not one failure per input (exit 4)
    code, _, err = cli("chain", "tconv -k box -s 2 --overlap", samples / "gray.png", samples / "rgb.jpg", "--trace",
                       "--out-dir", tmp_path)
    assert code == 2 and err.count("\n") == 1 and list(tmp_path.iterdir()) == []


def test_several_inputs_each_traced(cli, tmp_path):
    (tmp_path / "o").mkdir()
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("1,2,3\n4,5,6\n7,8,9\n")
    b.write_text("1,2,3,4,5\n" * 5)
    code, out, err = cli("chain", "convolve -k box", a, b, "--out-dir", tmp_path / "o", "--format", "npy", "--trace")
    assert code == 0, err
    assert f"output[0, 0] of the chain on {a}" in out and f"output[1, 1] of the chain on {b}" in out


def test_trace_with_stdout_image_goes_to_stderr(tmp_path):
    run = subprocess.run([CONVCLI, "chain", "convolve -k box", "--matrix", M6, "--trace", "-o", "-"],
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(b"\x89PNG")
    assert b"receptive field of output[2, 2]" in run.stderr


def test_chain_help_documents_the_trace(cli):
    code, out, _ = cli("chain", "--help")
    assert code == 0
    for option in ("--trace", "--cell", "--trace-out", "--pipeline"):
        assert option in out
    assert "--animate" not in out and "--trace-format" not in out     # chain does not have these
