"""Pictures of arrays in the terminal: one "▄" per two pixels (top pixel = background colour,
bottom pixel = foreground colour), scaled to fit, each with its shape and a legend of its value scale.

Where the terminal shows images, the same colour-mapped pixels go out at full resolution instead (up
to :data:`MAX_GRAPHIC_SIDE`), as a PNG: the kitty graphics protocol (kitty, Ghostty) or iTerm2's inline
images (iTerm2, WezTerm, mintty). The choice is made from environment variables alone — no query is
sent to the terminal, so nothing can hang — and only when the stream is a terminal, unless
``--show-protocol kitty|iterm`` forces it (see :func:`choose_protocol`).

Colour follows the console: true colour when the terminal has it, Rich's nearest 256/16 colours
otherwise, and an ASCII shading ramp (one character per 1×2 pixels) when there is no colour at all.
Single-channel maps with negative values use a diverging map centred on zero; non-negative maps a
sequential one (gray unless a colormap is given); 3-channel results are drawn in colour and other
channel counts one panel per channel.
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass

import numpy as np
from rich.color import Color, ColorSystem
from rich.console import Console, Group
from rich.style import Style
from rich.table import Table
from rich.text import Text

from .. import colormaps
from ..colormaps import robust_scale  # noqa: F401  (the scale of signed pictures; re-exported)
from ..traces.model import fmt

ASCII_RAMP = " .:-=+*#%@"          # no-colour terminals: dark -> bright
ASCII_NEGATIVE = " .,~=≈"           # no-colour, signed maps: zero -> most negative
ASCII_POSITIVE = " .:+*#"           # no-colour, signed maps: zero -> most positive
MAX_ROWS = 20                       # character rows per picture (40 pixel rows)
MAX_UPSCALED = 32                   # a tiny matrix is blown up to at most this many columns
MAX_CHANNEL_PANELS = 4
GAP = 3
MAX_GRAPHIC_SIDE = 1024             # kitty / iTerm2 images: longest side sent, in pixels
MIN_GRAPHIC_SIDE = 256              # tiny matrices are blown up (nearest neighbour) to at least this
KITTY_CHUNK = 4096                  # the kitty protocol's largest base64 chunk (a multiple of 4)


@dataclass
class Panel:
    """One picture to draw: the values (H, W) or (H, W, 3) in 0..1 positions, and how to read them."""

    title: str
    positions: np.ndarray            # (h, w) positions in the colormap, or (h, w, 3) RGB in 0..1
    colormap: str | None             # None for RGB
    legend: tuple[str, str, str] | None = None   # (low, middle, high) labels


def _resample(a: np.ndarray, out_h: int, out_w: int, *, extreme: bool = False) -> np.ndarray:
    """Area average when shrinking, repetition when growing (exact integer factors), per axis.

    ``extreme``: for diverging maps (positions around 0.5), shrink by keeping each block's value
    farthest from 0.5 instead of the average — a thin + edge next to a − edge must not cancel out.
    """
    def axis(x: np.ndarray, n_out: int, ax: int) -> np.ndarray:
        n_in = x.shape[ax]
        if n_out == n_in:
            return x
        if n_out > n_in:
            return np.repeat(x, n_out // n_in, axis=ax)
        edges = np.linspace(0, n_in, n_out + 1).astype(np.intp)[:-1]
        if extreme:
            hi = np.maximum.reduceat(x, edges, axis=ax)
            lo = np.minimum.reduceat(x, edges, axis=ax)
            return np.where(hi - 0.5 >= 0.5 - lo, hi, lo)
        counts = np.diff(np.append(edges, n_in))
        sums = np.add.reduceat(x, edges, axis=ax)
        shape = [1] * x.ndim
        shape[ax] = n_out
        return sums / counts.reshape(shape)
    return axis(axis(a, out_h, 0), out_w, 1)


def fit_size(h: int, w: int, cols: int, rows: int = MAX_ROWS) -> tuple[int, int]:
    """Pixel size (height, width) to draw an h×w array in at most ``cols`` columns and ``rows`` text rows."""
    cols, px_rows = max(1, cols), max(2, 2 * rows)
    f = max(w / cols, h / px_rows)
    if f > 1:
        return max(1, int(h / f)), max(1, int(w / f))
    k = max(1, min(min(cols, MAX_UPSCALED) // w, px_rows // h))
    return h * k, w * k


def _range_of(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 0.0
    return float(finite.min()), float(finite.max())


def panels_for(values: np.ndarray, label: str, *, maxval: float | None = None,
               colormap: str | None = None) -> list[Panel]:
    """The panels that show ``values`` (H, W) or (H, W, C).

    ``maxval``: the full scale of an image (255, 65535); values within 0..maxval are drawn on that
    scale, anything else from its own min..max. ``colormap`` picks the map for one-channel,
    non-negative data (default gray; a diverging map is always used for negative values)."""
    a = np.asarray(values, dtype=np.float64)
    h, w = a.shape[:2]
    c = 1 if a.ndim == 2 else a.shape[2]
    shape = f"{h}×{w}" + (f"×{c}" if c > 1 else "")
    if c in (3, 4):
        rgb = a[:, :, :3]
        lo, hi = _range_of(rgb)
        if maxval and lo >= 0 and hi <= maxval:
            lo, hi = 0.0, float(maxval)
        span = hi - lo if hi > lo else 1.0
        pos = np.clip((np.nan_to_num(rgb, nan=lo) - lo) / span, 0.0, 1.0)
        note = " (colour" + (", alpha not drawn)" if c == 4 else ")")
        return [Panel(f"{label} {shape}{note}", pos, None, (fmt(lo, 3), "", fmt(hi, 3)))]
    if c == 1:
        plane = a if a.ndim == 2 else a[:, :, 0]
        return [_single(plane, f"{label} {shape}", maxval, colormap)]
    shown = min(c, MAX_CHANNEL_PANELS)
    more = f" (channels 0..{shown - 1} of {c})" if c > shown else ""
    return [_single(a[:, :, i], f"{label} {shape} · channel {i}{more if i == 0 else ''}", maxval, colormap)
            for i in range(shown)]


def _single(plane: np.ndarray, title: str, maxval: float | None, colormap: str | None) -> Panel:
    lo, hi = _range_of(plane)
    if lo < 0 or (colormap is not None and colormaps.check(colormap) in colormaps.SIGNED):
        pos, scale = colormaps.signed_positions(plane, robust_scale(plane))
        s = fmt(scale, 3)
        beyond = max(abs(lo), abs(hi)) > scale      # the few values past the scale saturate: say so
        low, high = (f"≤-{s}", f"≥+{s}") if beyond else (f"-{s}", f"+{s}")
        return Panel(title, pos, "diverging", (low if scale else "0", "0", high if scale else "0"))
    name = colormaps.check(colormap) if colormap else "gray"
    if maxval and hi <= maxval:
        lo, hi = 0.0, float(maxval)
    else:
        lo = min(lo, 0.0)
    return Panel(title, colormaps.sequential_positions(plane, lo, hi), name, (fmt(lo, 3), "", fmt(hi, 3)))


def _colours(panel: Panel, pos: np.ndarray) -> np.ndarray:
    if panel.colormap is None:
        return np.clip(np.rint(pos * 255), 0, 255).astype(np.uint8)
    return colormaps.lookup(panel.colormap, pos)


def _ascii(panel: Panel, t: float) -> str:
    if panel.colormap in colormaps.SIGNED:
        d = (t - 0.5) * 2
        ramp = ASCII_POSITIVE if d >= 0 else ASCII_NEGATIVE
        return ramp[min(len(ramp) - 1, int(round(abs(d) * (len(ramp) - 1))))]
    return ASCII_RAMP[min(len(ASCII_RAMP) - 1, int(round(t * (len(ASCII_RAMP) - 1))))]


_SYSTEMS = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT, "windows": ColorSystem.WINDOWS}


def _rgb(values, color: bool | str = True) -> Color:
    """A Rich colour, already reduced to the console's colour system when ``color`` names one ("256",
    "standard"). Rich caches each style's escape codes on the style the first time it is rendered,
    whatever the colour system, so an RGB style once drawn in true colour would stay true colour."""
    rgb = Color.from_rgb(*(int(v) for v in values))
    system = _SYSTEMS.get(color) if isinstance(color, str) else None
    return rgb.downgrade(system) if system is not None else rgb


def _style(top, bottom, color: bool | str = True) -> Style:
    fg = _rgb(bottom, color) if bottom is not None else None
    return Style(color=fg, bgcolor=_rgb(top, color))


def picture_lines(panel: Panel, cols: int, *, color: bool | str, rows: int = MAX_ROWS) -> list[Text]:
    """The picture as lines of text, at most ``cols`` wide and ``rows`` high. ``color``: False for the
    ASCII ramp, True or the console's colour system ("truecolor", "256", "standard") for ▄ blocks."""
    pos = panel.positions
    h, w = pos.shape[:2]
    ph, pw = fit_size(h, w, cols, rows)
    pos = _resample(pos, ph, pw, extreme=panel.colormap in colormaps.SIGNED)
    if not color:   # one character per 1×2 pixels, shade by brightness
        if pos.ndim == 3:
            pos = pos @ np.array([0.299, 0.587, 0.114])
        if ph % 2:
            pos = np.vstack([pos, pos[-1:]])
        pairs = (pos[0::2] + pos[1::2]) / 2
        if panel.colormap in colormaps.SIGNED:   # don't let a + and a − cancel to zero: keep the stronger
            stronger = np.where(np.abs(pos[0::2] - 0.5) >= np.abs(pos[1::2] - 0.5), pos[0::2], pos[1::2])
            pairs = stronger
        return [Text("".join(_ascii(panel, float(t)) for t in row)) for row in pairs]
    rgb = _colours(panel, pos)
    lines = []
    for r in range(0, ph, 2):
        line = Text()
        for x in range(pw):
            top = rgb[r, x]
            if r + 1 < ph:
                line.append("▄", _style(top, rgb[r + 1, x], color))
            else:
                line.append("▀", Style(color=_rgb(top, color)))
        lines.append(line)
    return lines


def legend_line(panel: Panel, width: int, *, color: bool | str) -> Text | None:
    """A ramp of the colour scale with its end (and middle) values: "-150 ▇▇▇▇▇ 0 ▇▇▇▇▇ +150"."""
    if panel.legend is None or panel.colormap is None:
        if panel.legend is not None:
            return Text(f"values {panel.legend[0]}..{panel.legend[2]}", style="dim")
        return None
    low, mid, high = panel.legend
    n = max(5, min(21, width - len(low) - len(high) - 2))
    if panel.colormap in colormaps.SIGNED and n % 2 == 0:
        n -= 1
    t = np.linspace(0.0, 1.0, n)
    text = Text(f"{low} ")
    if color:
        rgb = colormaps.lookup(panel.colormap, t)
        for i in range(n):
            text.append("█", Style(color=_rgb(rgb[i], color)))
    else:
        text.append("".join(_ascii(panel, float(v)) or " " for v in t).replace(" ", "·"))
    text.append(f" {high}")
    if mid:
        centre = len(low) + 1 + n // 2
        below = Text(" " * centre + mid, style="dim")
        return Text.assemble(text, "\n", below)
    return text


def panel_renderable(panel: Panel, cols: int, *, color: bool | str, rows: int = MAX_ROWS) -> Group:
    lines = picture_lines(panel, cols, color=color, rows=rows)
    width = max([len(ln.plain) for ln in lines] + [1])
    parts: list = [Text(panel.title, style="bold")] + lines
    legend = legend_line(panel, max(width, 16), color=color)
    if legend is not None:
        parts.append(legend)
    return Group(*parts)


# ------------------------------------------------------------------ full-resolution images

def detect_protocol(environ=None) -> str:
    """"kitty", "iterm" or "blocks", from the environment alone (no query that could hang).

    Inside tmux or screen the outer terminal's variables are inherited but the images would not get
    through the multiplexer: blocks."""
    env = os.environ if environ is None else environ
    term = env.get("TERM", "")
    program = env.get("TERM_PROGRAM", "")
    if env.get("TMUX") or env.get("STY") or term.startswith(("screen", "tmux")):
        return "blocks"
    if term in ("xterm-kitty", "xterm-ghostty") or env.get("KITTY_WINDOW_ID") or program == "ghostty":
        return "kitty"
    if program in ("iTerm.app", "WezTerm", "mintty") or env.get("LC_TERMINAL") == "iTerm2":
        return "iterm"
    return "blocks"


def _console_color(console: Console) -> bool:
    return console.color_system is not None and not console.no_color


def _is_tty(console: Console) -> bool:
    try:
        return bool(console.file.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def choose_protocol(console: Console, requested: str | None = None, environ=None) -> str:
    """How to draw on ``console``: "kitty", "iterm", "blocks" (coloured ▄) or "ascii".

    ``requested`` (default: ``--show-protocol``): kitty or iterm always win (also into a pipe or a
    file: the user asked); blocks without colour are the ASCII ramp; auto picks an image protocol
    only on a terminal with colour that says it has one (:func:`detect_protocol`)."""
    if requested is None:
        from .console import terminal_settings
        requested = terminal_settings().show_protocol
    color = _console_color(console)
    if requested in ("kitty", "iterm", "ascii"):
        return requested
    if requested == "auto" and color and _is_tty(console):
        found = detect_protocol(environ)
        if found != "blocks":
            return found
    return "blocks" if color else "ascii"


def graphic_pixels(panel: Panel) -> np.ndarray:
    """The panel's colour-mapped pixels (uint8 (H, W, 3)) as an image protocol sends them: the same
    colours as the ▄ picture, at full resolution; a big array shrunk to :data:`MAX_GRAPHIC_SIDE`
    (as the blocks shrink: area average, or the strongest value for a diverging map), a tiny one
    blown up by a whole factor so the terminal's scaling cannot blur its cells."""
    pos = panel.positions
    h, w = pos.shape[:2]
    side = max(h, w)
    if side > MAX_GRAPHIC_SIDE:
        f = side / MAX_GRAPHIC_SIDE
        pos = _resample(pos, max(1, int(h / f)), max(1, int(w / f)), extreme=panel.colormap in colormaps.SIGNED)
    rgb = _colours(panel, pos)
    k = MIN_GRAPHIC_SIDE // side if side < MIN_GRAPHIC_SIDE else 1
    if k > 1:
        rgb = np.repeat(np.repeat(rgb, k, axis=0), k, axis=1)
    return rgb


def kitty_sequence(png: bytes, cols: int) -> str:
    """The kitty graphics protocol: transmit and show (a=T) a PNG (f=100) over ``cols`` cells (the
    rows follow the aspect ratio), no reply (q=2); base64 in chunks of at most 4096 bytes, every
    chunk but the last marked m=1."""
    data = base64.standard_b64encode(png).decode("ascii")
    chunks = [data[i:i + KITTY_CHUNK] for i in range(0, len(data), KITTY_CHUNK)] or [""]
    out = []
    for i, chunk in enumerate(chunks):
        more = int(i < len(chunks) - 1)
        keys = f"a=T,f=100,q=2,c={cols},m={more}" if i == 0 else f"m={more}"
        out.append(f"\x1b_G{keys};{chunk}\x1b\\")
    return "".join(out)


def iterm_sequence(png: bytes, cols: int) -> str:
    """iTerm2's inline image (OSC 1337 File=): the PNG shown ``cols`` cells wide, aspect ratio kept."""
    data = base64.standard_b64encode(png).decode("ascii")
    return f"\x1b]1337;File=inline=1;size={len(png)};width={cols};preserveAspectRatio=1:{data}\x07"


def graphic_sequence(panel: Panel, cols: int, protocol: str, rows: int = MAX_ROWS) -> str:
    """The escape sequence that shows ``panel`` in at most ``cols`` columns and about ``rows`` rows,
    the box its ▄ picture would take."""
    from ..imageio import encode_pixels

    h, w = panel.positions.shape[:2]
    _, pw = fit_size(h, w, cols, rows)
    png = encode_pixels(graphic_pixels(panel), "PNG")
    return kitty_sequence(png, pw) if protocol == "kitty" else iterm_sequence(png, pw)


def _print_graphics(console: Console, panels: list[Panel], protocol: str, rows: int) -> None:
    """Each panel as title, image, legend, one below the other (images don't sit in Rich's grid)."""
    color = console.color_system if _console_color(console) else False
    for panel in panels:
        console.print(Text(panel.title, style="bold"))
        h, w = panel.positions.shape[:2]
        _, pw = fit_size(h, w, console.width, rows)
        console.file.write(graphic_sequence(panel, console.width, protocol, rows) + "\n")
        console.file.flush()
        legend = legend_line(panel, max(pw, 16), color=color)
        if legend is not None:
            console.print(legend)


def print_previews(console: Console, items: list[tuple[str, np.ndarray, float | None]], *,
                   colormap: str | None = None, rows: int = MAX_ROWS, protocol: str | None = None) -> None:
    """Draw each ``(label, values, maxval)`` side by side (stacked when the terminal is too narrow),
    or as full-resolution images where the terminal shows them (``protocol``: see
    :func:`choose_protocol`; default ``--show-protocol``)."""
    how = choose_protocol(console, protocol)
    panels = [p for label, values, maxval in items for p in panels_for(values, label, maxval=maxval,
                                                                         colormap=colormap)]
    if not panels:
        return
    if how in ("kitty", "iterm"):
        _print_graphics(console, panels, how, rows)
        return
    color = (console.color_system or True) if how == "blocks" else False
    width = console.width
    per = max(8, (width - GAP * (len(panels) - 1)) // len(panels))
    if per < 16 and len(panels) > 1:   # too narrow for all in one row: one per row, full width
        for p in panels:
            console.print(panel_renderable(p, width, color=color, rows=rows))
        return
    grid = Table.grid(padding=(0, GAP))
    for _ in panels:
        grid.add_column(vertical="top", no_wrap=True)
    grid.add_row(*[panel_renderable(p, per, color=color, rows=rows) for p in panels])
    console.print(grid)
