"""--show pictures and --colormap outputs: rendered to recording consoles and compared as text
and colours; colour maps checked against their anchor colours."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from convcli import colormaps
from convcli.render.preview import (ASCII_RAMP, fit_size, panels_for, picture_lines, print_previews)


def _console(color_system="truecolor", width=100) -> Console:
    return Console(record=True, width=width, file=io.StringIO(), color_system=color_system,
                   force_terminal=color_system is not None, no_color=color_system is None)


def _cells(line):
    """(character, top rgb, bottom rgb) per cell of a rendered picture line."""
    out = []
    for seg in line.render(Console(width=500, file=io.StringIO())):
        if not seg.text.strip() and seg.style is None:
            continue
        for ch in seg.text:
            st = seg.style
            bottom = st.color.get_truecolor() if st and st.color else None
            top = st.bgcolor.get_truecolor() if st and st.bgcolor else None
            out.append((ch, tuple(top) if top else None, tuple(bottom) if bottom else None))
    return out


def test_colormap_tables_pass_through_their_anchors():
    for name, anchors in colormaps.ANCHORS.items():
        lut = colormaps.table(name)
        assert lut.shape == (256, 3) and lut.dtype == np.uint8
        first = tuple(int(anchors[0][i:i + 2], 16) for i in (1, 3, 5))
        last = tuple(int(anchors[-1][i:i + 2], 16) for i in (1, 3, 5))
        assert tuple(lut[0]) == first and tuple(lut[-1]) == last
    # viridis gets brighter from end to end, the diverging map is near white in the middle
    v = colormaps.table("viridis").astype(int).sum(axis=1)
    assert v[-1] > v[128] > v[0]
    mid = colormaps.lookup("diverging", 0.5)
    assert mid.min() > 240
    with pytest.raises(Exception, match="colormap must be one of"):
        colormaps.check("jet")


def test_signed_positions_centre_zero():
    pos, scale = colormaps.signed_positions(np.array([-2.0, 0.0, 1.0, 2.0]))
    assert scale == 2.0 and pos.tolist() == [0.0, 0.5, 0.75, 1.0]
    pos, scale = colormaps.signed_positions(np.zeros(3))
    assert scale == 0 and pos.tolist() == [0.5] * 3


def test_fit_size_scales_down_and_blows_up_small_matrices():
    assert fit_size(600, 800, 40, rows=20) == (30, 40)
    h, w = fit_size(5, 5, 60, rows=20)
    assert (h, w) == (30, 30)            # ×6: at most 32 columns for a tiny matrix
    assert fit_size(2, 100, 50) == (1, 50)


def test_true_colour_picture_pixels():
    # 2×2: top row -1, +1; bottom row 0, 0 -> one text row, top = background, bottom = foreground
    panel = panels_for(np.array([[-1.0, 1.0], [0.0, 0.0]]), "result")[0]
    assert panel.colormap == "diverging" and panel.legend == ("-1", "0", "+1")
    lines = picture_lines(panel, cols=2, color=True, rows=1)
    assert len(lines) == 1
    cells = _cells(lines[0])
    blue = tuple(int(colormaps.ANCHORS["diverging"][0][i:i + 2], 16) for i in (1, 3, 5))
    red = tuple(int(colormaps.ANCHORS["diverging"][-1][i:i + 2], 16) for i in (1, 3, 5))
    white = tuple(colormaps.lookup("diverging", 0.5).tolist())
    assert cells == [("▄", blue, white), ("▄", red, white)]


def test_non_negative_is_gray_on_the_image_scale():
    panel = panels_for(np.array([[0.0, 255.0]]), "input", maxval=255)[0]
    assert panel.colormap == "gray" and panel.legend == ("0", "", "255")
    # an odd number of pixel rows: the last row is a top-half block
    cells = _cells(picture_lines(panel, cols=2, color=True, rows=1)[0])
    assert [c[0] for c in cells] == ["▀", "▀"]
    assert cells[0][2] == (0, 0, 0) and cells[1][2] == (255, 255, 255)


def test_no_colour_fallback_is_an_ascii_ramp():
    panel = panels_for(np.array([[0.0, 50.0], [0.0, 50.0]]), "m")[0]
    lines = picture_lines(panel, cols=2, color=False, rows=1)
    assert [ln.plain for ln in lines] == [ASCII_RAMP[0] + ASCII_RAMP[-1]]
    signed = panels_for(np.array([[-3.0, 3.0], [-3.0, 3.0]]), "s")[0]
    assert picture_lines(signed, cols=2, color=False, rows=1)[0].plain == "≈#"


def test_rgb_and_many_channels():
    rgb = np.zeros((4, 4, 3))
    rgb[..., 0] = 255
    (panel,) = panels_for(rgb, "input", maxval=255)
    assert panel.colormap is None and "(colour)" in panel.title
    cells = _cells(picture_lines(panel, cols=4, color=True, rows=2)[0])
    assert all(c[1] == (255, 0, 0) and c[2] == (255, 0, 0) for c in cells)
    many = panels_for(np.zeros((3, 3, 6)), "features")
    assert len(many) == 4 and "channels 0..3 of 6" in many[0].title and "channel 3" in many[3].title


def test_print_previews_side_by_side_with_shapes_and_legend():
    console = _console(None, width=100)
    print_previews(console, [("input", np.full((5, 5), 50.0), None),
                             ("result", np.array([[150.0, -150.0]]), None)])
    text = console.export_text()
    first = text.splitlines()[0]
    assert first.startswith("input 5×5") and "result 1×2" in first
    assert "-150" in text and "+150" in text
    narrow = _console(None, width=30)
    print_previews(narrow, [("input", np.ones((4, 4)), None), ("result", np.ones((2, 2)), None)])
    lines = narrow.export_text().splitlines()
    assert lines[0].startswith("input 4×4") and any(ln.startswith("result 2×2") for ln in lines[1:])


def test_256_colour_terminals_get_downgraded_colours():
    console = _console("256")
    print_previews(console, [("x", np.array([[-1.0, 1.0], [1.0, -1.0]]), None)])
    out = console.file.getvalue()
    assert "\x1b[38;5;" in out and "38;2;" not in out


def test_show_on_the_cli(cli, samples):
    code, out, err = cli("convolve", samples / "slide_5x5.csv", "-k", "vertical-edge", "--show")
    assert code == 0, err
    assert out.splitlines()[0].startswith("input 5×5") and "result 3×3" in out.splitlines()[0]
    assert "0 " in out and "50" in out and "150" in out          # legends
    assert "result 3×3" in out                                    # the table still follows
    code, out, err = cli("pool", samples / "gray.png", "--size", "4", "--show", "--json")
    assert code == 0 and json.loads(out)["records"][0]["status"] == "ok"   # pictures go to stderr
    assert "input 512×512" in err and "result 128×128" in err


def test_show_in_chain_draws_the_final_result(cli, samples):
    code, out, err = cli("chain", "convolve -k sobel-x --padding same", "pool --size 2", samples / "slide_5x5.csv",
                         "--show")
    assert code == 0, err
    assert "input 5×5" in out and "result 2×2" in out


def test_colormap_diverging_output_shows_sign(cli, tmp_path):
    target = tmp_path / "edges.png"
    code, _, err = cli("convolve", "--matrix", "0,0,9,9;0,0,9,9;9,9,0,0", "-k", "1,-1", "--colormap", "diverging",
                       "-o", target)
    assert code == 0, err
    im = np.asarray(Image.open(target))
    assert im.shape == (3, 3, 3)
    # result row 0: 0, -9, 0 -> white, most blue, white; row 2: 0, 9, 0 -> red in the middle
    blue, red = colormaps.lookup("diverging", 0.0), colormaps.lookup("diverging", 1.0)
    assert (im[0, 1] == blue).all() and (im[2, 1] == red).all()
    assert (im[0, 0] == colormaps.lookup("diverging", 0.5)).all()


def test_colormap_viridis_follows_the_range_rule(cli, tmp_path, samples):
    target = tmp_path / "v.png"
    code, _, err = cli("pool", samples / "gray.png", "--size", "8", "--colormap", "viridis", "-o", target)
    assert code == 0, err
    im = Image.open(target)
    assert im.mode == "RGB" and im.size == (64, 64)
    src = np.asarray(Image.open(samples / "gray.png").convert("L"), dtype=np.float64)
    pooled = src.reshape(64, 8, 64, 8).max(axis=(1, 3))
    want = colormaps.lookup("viridis", pooled / 255.0)
    assert np.abs(np.asarray(im).astype(int) - want.astype(int)).max() <= 1


def test_colormap_refuses_colour_results_and_writes_nothing(cli, tmp_path, samples):
    target = tmp_path / "x.png"
    code, _, err = cli("convolve", samples / "rgb.jpg", "-k", "box", "--colormap", "magma", "-o", target)
    assert code == 2 and "one-channel" in err and not target.exists()
    code, _, err = cli("convolve", samples / "rgb.jpg", "-k", "box", "--colormap", "jet", "-o", target)
    assert code == 2 and not target.exists()


def test_colormap_leaves_npy_outputs_raw(cli, tmp_path):
    target = tmp_path / "x.npy"
    code, _, _ = cli("convolve", "--matrix", "1,-2;3,4", "-k", "1", "--colormap", "diverging", "-o", target)
    assert code == 0 and np.load(target).tolist() == [[1, -2], [3, 4]]
