"""--show as full-resolution images (kitty graphics protocol, iTerm2 inline images), the choice of
protocol, and --colormap diverging images drawn with the same colours as --show."""
from __future__ import annotations

import base64
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from convcli import colormaps
from convcli.imageio import encode_pixels
from convcli.render.preview import (MIN_GRAPHIC_SIDE, _colours, choose_protocol, detect_protocol, graphic_pixels,
                                    iterm_sequence, kitty_sequence, panels_for, print_previews)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images"
KITTY = re.compile(r"\x1b_G([^;]*);([^\x1b]*)\x1b\\")
ITERM = re.compile(r"\x1b\]1337;File=([^:]*):([A-Za-z0-9+/=]*)\x07")


def _console(*, color: bool = True, width: int = 60, tty: bool = False) -> Console:
    class Stream(io.StringIO):
        def isatty(self):
            return tty

    return Console(file=Stream(), width=width, color_system="truecolor" if color else None,
                   force_terminal=color, no_color=not color, highlight=False, emoji=False)


def _kitty_png(text: str) -> tuple[list[str], bytes]:
    """The control keys of each chunk and the PNG they carry, from kitty escape sequences in ``text``."""
    chunks = KITTY.findall(text)
    return [keys for keys, _ in chunks], base64.b64decode("".join(data for _, data in chunks))


# ------------------------------------------------------------------ golden escape sequences

def test_kitty_sequence_golden():
    assert kitty_sequence(b"convcli", 3) == "\x1b_Ga=T,f=100,q=2,c=3,m=0;Y29udmNsaQ==\x1b\\"


def test_kitty_sequence_chunks_of_4096_bytes():
    payload = b"\x00" * 3072 + b"\xff\xff\xff"          # base64: 4096 × "A", then "////"
    assert kitty_sequence(payload, 5) == ("\x1b_Ga=T,f=100,q=2,c=5,m=1;" + "A" * 4096 + "\x1b\\"
                                          + "\x1b_Gm=0;////\x1b\\")
    big = bytes(range(256)) * 40                          # 10240 bytes -> 13656 base64 characters
    seq = kitty_sequence(big, 7)
    keys, data = _kitty_png(seq)
    assert keys == ["a=T,f=100,q=2,c=7,m=1", "m=1", "m=1", "m=0"]
    assert [len(d) for _, d in KITTY.findall(seq)] == [4096, 4096, 4096, 13656 - 3 * 4096]
    assert data == big


def test_iterm_sequence_golden():
    assert iterm_sequence(b"convcli", 3) == \
        "\x1b]1337;File=inline=1;size=7;width=3;preserveAspectRatio=1:Y29udmNsaQ==\x07"


def test_small_fixed_input_through_print_previews_kitty_and_iterm():
    values = np.array([[-2.0, 0.0], [0.0, 2.0]])
    # the colours independently: -2 -> the map's first colour, 0 -> its middle, +2 -> its last
    lut = colormaps.table("diverging")
    expect = np.array([[lut[0], lut[128]], [lut[128], lut[255]]], dtype=np.uint8)
    k = MIN_GRAPHIC_SIDE // 2
    expect = np.repeat(np.repeat(expect, k, axis=0), k, axis=1)       # 256×256, cells kept sharp
    png = encode_pixels(expect, "PNG")
    b64 = base64.standard_b64encode(png).decode()
    for protocol in ("kitty", "iterm"):
        console = _console(width=60)
        print_previews(console, [("result", values, None)], protocol=protocol)
        out = console.file.getvalue()
        lines = out.split("\n")
        assert lines[0] == "\x1b[1mresult 2×2\x1b[0m"
        if protocol == "kitty":
            # 2×2 fits in 32 columns (a tiny matrix is blown up to at most 32)
            chunks = [b64[i:i + 4096] for i in range(0, len(b64), 4096)]
            golden = "".join(f"\x1b_G{'a=T,f=100,q=2,c=32,' if i == 0 else ''}m={int(i < len(chunks) - 1)};{c}\x1b\\"
                             for i, c in enumerate(chunks))
        else:
            golden = f"\x1b]1337;File=inline=1;size={len(png)};width=32;preserveAspectRatio=1:{b64}\x07"
        assert lines[1] == golden
        # the picture keeps its legend: -2 … 0 … +2
        legend = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(lines[2:]))
        assert legend.split("\n")[0].startswith("-2 ") and legend.split("\n")[0].endswith(" +2")
        assert legend.split("\n")[1].strip() == "0"
        # and the PNG in it holds exactly the colour-mapped pixels
        data = _kitty_png(out)[1] if protocol == "kitty" else base64.b64decode(ITERM.findall(out)[0][1])
        got = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        assert got.shape == (256, 256, 3) and (got == expect).all()


def test_graphics_keep_full_resolution_and_shrink_only_huge_arrays():
    rng = np.random.default_rng(3)
    values = rng.integers(0, 256, size=(300, 200)).astype(np.float64)
    (panel,) = panels_for(values, "input", maxval=255)
    pixels = graphic_pixels(panel)
    assert pixels.shape == (300, 200, 3)                       # every pixel, not 80 columns' worth
    gray = colormaps.lookup("gray", values / 255.0)
    assert (pixels == gray).all()
    (huge,) = panels_for(np.zeros((2048, 1024)), "input", maxval=255)
    assert graphic_pixels(huge).shape == (1024, 512, 3)


# ------------------------------------------------------------------ which protocol

@pytest.mark.parametrize("env, want", [
    ({"TERM": "xterm-kitty"}, "kitty"),
    ({"TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"}, "kitty"),
    ({"TERM": "xterm-ghostty"}, "kitty"),
    ({"TERM_PROGRAM": "iTerm.app"}, "iterm"),
    ({"LC_TERMINAL": "iTerm2", "TERM": "xterm-256color"}, "iterm"),
    ({"TERM_PROGRAM": "WezTerm"}, "iterm"),
    ({"TERM": "xterm-256color"}, "blocks"),
    ({}, "blocks"),
    ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-1/default,1,0"}, "blocks"),   # tmux would swallow it
    ({"TERM": "screen-256color", "KITTY_WINDOW_ID": "1"}, "blocks"),
])
def test_detect_protocol_from_the_environment(env, want):
    assert detect_protocol(env) == want


def test_choose_protocol_needs_a_terminal_unless_forced():
    kitty = {"TERM": "xterm-kitty"}
    assert choose_protocol(_console(tty=True), "auto", kitty) == "kitty"
    assert choose_protocol(_console(tty=False), "auto", kitty) == "blocks"     # piped: never images
    assert choose_protocol(_console(tty=False, color=False), "auto", kitty) == "ascii"
    assert choose_protocol(_console(tty=True, color=False), "auto", kitty) == "ascii"   # --color never
    assert choose_protocol(_console(tty=False), "kitty", {}) == "kitty"        # forced
    assert choose_protocol(_console(tty=False, color=False), "iterm", {}) == "iterm"
    assert choose_protocol(_console(tty=True), "blocks", kitty) == "blocks"
    assert choose_protocol(_console(tty=True, color=False), "blocks", kitty) == "ascii"
    assert choose_protocol(_console(tty=True), "ascii", kitty) == "ascii"


def _script() -> str:
    return str(Path(sys.executable).parent / "convcli")


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "TERM", "TERM_PROGRAM", "LC_TERMINAL", "KITTY_WINDOW_ID", "TMUX")}
    env.update(extra)
    return env


def test_cli_sends_images_only_to_a_terminal_or_when_forced():
    args = [_script(), "convolve", str(SAMPLES / "slide_5x5.csv"), "-k", "vertical-edge", "--show"]
    piped = subprocess.run(args, capture_output=True, text=True, env=_env(TERM="xterm-kitty"), timeout=300)
    assert piped.returncode == 0 and "\x1b_G" not in piped.stdout and "\x1b]1337" not in piped.stdout
    forced = subprocess.run(args + ["--show-protocol", "kitty"], capture_output=True, text=True, env=_env(),
                            timeout=300)
    assert forced.returncode == 0, forced.stderr
    keys, png = _kitty_png(forced.stdout)
    assert len(keys) == 2 and keys[0].startswith("a=T,f=100,q=2,c=")          # input and result
    assert "input 5×5" in forced.stdout and "result 3×3" in forced.stdout
    forced = subprocess.run(args[:1] + ["--color", "always"] + args[1:] + ["--show-protocol", "iterm"],
                            capture_output=True, text=True, env=_env(), timeout=300)
    assert len(ITERM.findall(forced.stdout)) == 2
    bad = subprocess.run(args + ["--show-protocol", "sixel"], capture_output=True, text=True, env=_env(), timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("convcli: error:") and "--show-protocol" in bad.stderr


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_cli_on_a_kitty_terminal_sends_kitty_images():
    import pty  # noqa: F401  (POSIX only)

    def on_terminal(env: dict) -> str:
        master, slave = os.openpty()
        proc = subprocess.Popen([_script(), "pool", str(SAMPLES / "slide_pool_4x4.csv"), "--size", "2", "--show"],
                                stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=300)
        os.close(master)
        assert proc.returncode == 0, proc.stderr.read()
        return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")

    kitty = on_terminal(_env(TERM="xterm-kitty", COLUMNS="80"))
    assert "\x1b_Ga=T,f=100,q=2," in kitty
    plain = on_terminal(_env(TERM="xterm-256color", COLUMNS="80"))
    assert "\x1b_G" not in plain and "\x1b]1337" not in plain and "▄" in plain
    iterm = on_terminal(_env(TERM="xterm-256color", TERM_PROGRAM="iTerm.app", COLUMNS="80"))
    assert "\x1b]1337;File=inline=1;" in iterm


# ------------------------------------------------------------------ --colormap diverging == --show

def test_written_diverging_image_has_the_colours_of_the_preview(cli, tmp_path):
    png, npy = tmp_path / "edges.png", tmp_path / "edges.npy"
    args = (SAMPLES / "gray.png", "-k", "sobel-x", "--padding", "same", "--colormap", "diverging")
    assert cli("convolve", *args, "-o", png)[0] == 0
    assert cli("convolve", *args, "-o", npy)[0] == 0
    result = np.load(npy)
    written = np.asarray(Image.open(png).convert("RGB"))
    (panel,) = panels_for(result, "result", colormap="diverging")
    preview = _colours(panel, panel.positions)           # the colours --show draws, before fitting
    assert written.shape == preview.shape
    assert (written == preview).all()
    assert (graphic_pixels(panel) == written).all()       # and the kitty / iTerm2 image is the same
    # not washed out: one extreme value does not set the scale, so strong edges reach full colour
    scale = np.percentile(np.abs(result), 99.5)
    assert scale < np.abs(result).max()
    strong = np.abs(result) >= scale
    ends = np.stack([colormaps.lookup("diverging", 0.0), colormaps.lookup("diverging", 1.0)])
    assert ((written[strong][:, None, :] == ends[None]).all(axis=2).any(axis=1)).all()


def test_colours_follow_each_console_even_after_a_true_colour_one():
    """Rich caches a style's escape codes on first use: a 256-colour console drawing the same colours
    after a true-colour one must still get 256-colour codes."""
    values = [("x", np.array([[-1.0, 1.0], [1.0, -1.0]]), None)]
    for system in ("truecolor", "256", "standard", "truecolor"):
        console = Console(file=io.StringIO(), width=60, color_system=system, force_terminal=True, no_color=False,
                          highlight=False, emoji=False)
        print_previews(console, values, protocol="blocks")
        out = console.file.getvalue()
        assert ("38;2;" in out) is (system == "truecolor")
        assert ("38;5;" in out) is (system == "256")
