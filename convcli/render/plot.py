"""Line plots in the terminal with braille dots (2×4 dots per character), testable as plain text."""
from __future__ import annotations

import math

import numpy as np
from rich.console import Console
from rich.text import Text

from ..traces.model import fmt

# bit of each dot in a braille cell, indexed [row][column]
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
DEAD_MARK = "x"
SATURATED_MARK = "~"


def braille_lines(ys: np.ndarray, lo: float, hi: float, width: int, height: int) -> list[str]:
    """Draw ``ys`` (2·width samples, left to right) on a width×height character canvas spanning lo..hi.

    Consecutive samples are joined by a vertical run of dots, so steep parts and jumps stay connected.
    Non-finite samples are left out."""
    rows_total = 4 * height
    cells = np.zeros((height, width), dtype=np.int64)
    prev = None
    span = hi - lo if hi > lo else 1.0
    for i, v in enumerate(np.asarray(ys, dtype=np.float64)[: 2 * width]):
        if not math.isfinite(v):
            prev = None
            continue
        r = int(round((hi - v) / span * (rows_total - 1)))
        r = min(max(r, 0), rows_total - 1)
        a, b = (r, r) if prev is None else (min(prev, r), max(prev, r))
        col = i // 2
        for rr in range(a, b + 1):
            cells[rr // 4, col] |= _DOTS[rr % 4][i % 2]
        prev = r
    return ["".join(chr(0x2800 + int(c)) for c in row) for row in cells]


def plot_panel(xs: np.ndarray, ys: np.ndarray, title: str, *, width: int, height: int, style: str = "") -> list[Text]:
    """A titled panel: y-axis labels (max, 0 when inside, min), the curve, an x axis with its ends."""
    finite = ys[np.isfinite(ys)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    lines = braille_lines(ys, lo, hi, width, height)
    labels = [""] * height
    labels[0], labels[-1] = fmt(hi - pad, 3), fmt(lo + pad, 3)
    if lo < 0 < hi:
        zero_row = int(round(hi / (hi - lo) * (4 * height - 1))) // 4
        if 0 < zero_row < height - 1:
            labels[zero_row] = "0"
    lw = max(len(s) for s in labels)
    out = [Text(title, style="bold")]
    for label, line in zip(labels, lines):
        out.append(Text.assemble(f"{label:>{lw}} ┤", (line, style)))
    out.append(Text(" " * lw + " └" + "─" * width))
    left, right = fmt(float(xs[0]), 3), fmt(float(xs[-1]), 3)
    out.append(Text(" " * (lw + 2) + left + " " * max(1, width - len(left) - len(right)) + right))
    return out


def zone_line(dead: np.ndarray, saturated: np.ndarray, width: int, indent: int) -> Text:
    """One character per two samples: x where a sample is dead, ~ where saturated, blank otherwise."""
    text = Text(" " * indent)
    for col in range(width):
        d = bool(dead[2 * col: 2 * col + 2].any())
        s = bool(saturated[2 * col: 2 * col + 2].any())
        if d:
            text.append(DEAD_MARK, style="bold red")
        elif s:
            text.append(SATURATED_MARK, style="yellow")
        else:
            text.append(" ")
    return text


def print_activation_plot(console: Console, xs: np.ndarray, y: np.ndarray, d: np.ndarray, dead: np.ndarray,
                          saturated: np.ndarray, name: str, *, width: int = 60, height: int = 10) -> None:
    """g over the range, then g', then a strip marking dead (x) and saturated (~) inputs."""
    g_panel = plot_panel(xs, y, f"g(x) = {name}(x)", width=width, height=height, style="cyan")
    d_panel = plot_panel(xs, d, "g'(x), the gradient", width=width, height=height, style="magenta")
    indent = len(d_panel[-2].plain) - width
    for line in g_panel + [Text("")] + d_panel:
        console.print(line)
    console.print(zone_line(dead, saturated, width, indent))
    console.print(Text(" " * indent + f"{DEAD_MARK} dead (g = 0 and g' = 0)   {SATURATED_MARK} saturated "
                       f"(|g'| < 0.01)", style="dim"))
