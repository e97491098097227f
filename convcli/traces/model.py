"""The data model shared by every op's trace."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import ParameterError


def fmt(value: float, digits: int = 4) -> str:
    """Compact number for a grid cell: integers as integers, others with ``digits`` significant digits."""
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v) and abs(v) < 1e9:
        return str(int(v))
    text = f"{v:.{digits}g}"
    return text


def fmt_factor(value: float) -> str:
    """A factor inside a product: negatives in parentheses, as on the slides' "0×(−1)"."""
    text = fmt(value)
    return f"({text})" if text.startswith("-") else text


@dataclass
class GridView:
    """A 2-D grid of numbers as drawn: values, labels, and which cells are padding."""

    values: np.ndarray
    title: str
    row_labels: list[str] | None = None
    col_labels: list[str] | None = None
    pad_mask: np.ndarray | None = None       # True where a cell is padding (drawn distinctly)
    # input coordinates of each row and column, when the labels are not them (the zeros view labels
    # only the rows that hold input values); default: the labels as whole numbers, else 0, 1, ...
    coords: tuple[list[int], list[int]] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.values.shape[0]), int(self.values.shape[1])


@dataclass
class Step:
    """One output value: where it goes, which input cells made it, and how."""

    out_pos: tuple[int, int]                          # (row, col) in the output grid
    cells: list[tuple[int, int]]                      # input-grid cells in the window
    terms: list[str]                                  # "50×1", ... (or values for pooling)
    expression: str                                   # "50×1 + 50×0 + ... = 150"
    value: float                                      # the output number
    move: str = ""                                    # how the window moved to get here
    marked: list[tuple[int, int]] = field(default_factory=list)  # e.g. the max-pool winner
    out_cells: list[tuple[int, int]] | None = None    # output cells written (scatter views); default [out_pos]
    out_products: list[float] | None = None           # scatter views: the product added into each out_cells entry
    out_terms: list[str] | None = None                # ... and that product written out ("2×(−1)")


@dataclass
class Trace:
    """A whole traced computation."""

    title: str
    input: GridView
    output_shape: tuple[int, int]
    steps: list[Step]
    kernel: GridView | None = None
    operator: str = "*"
    formulas: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total_steps: int = 0
    output_values: np.ndarray | None = None           # the op's full result (shown as the final grid)
    output_title: str = "output"
    # running output values after each step, indexable by (row, col) (an array or a dict of the cells
    # written so far): scatter views, whose output cells fill in over several steps
    partial_outputs: list | None = None

    def __post_init__(self) -> None:
        if not self.total_steps:
            self.total_steps = len(self.steps)


def move_text(prev: tuple[int, int] | None, cur: tuple[int, int], stride: tuple[int, int]) -> str:
    """How a window moves between two output cells, in pixels of the input, as the slides say it."""
    if prev is None:
        return "start: window at the top-left"
    dy, dx = cur[0] - prev[0], cur[1] - prev[1]
    if dy == 0 and dx > 0:
        n = dx * stride[1]
        return f"→ {n} pixel{'s' if n != 1 else ''} to the right"
    n = dy * stride[0]
    if n > 0:
        return f"↓ {n} pixel{'s' if n != 1 else ''} down, back to the left"
    return "jump to the next traced cell"


def parse_region(text: str | Sequence[int] | None) -> tuple[int, int, int, int] | None:
    """``"Y,X,H,W"`` -> a checked tuple (H, W >= 1, Y, X >= 0)."""
    if text is None:
        return None
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4 or not all(p.lstrip("-").isdigit() for p in parts):
            raise ParameterError(f"region must be Y,X,H,W (four whole numbers), got {text!r}")
        vals = tuple(int(p) for p in parts)
    else:
        vals = tuple(int(v) for v in text)
        if len(vals) != 4:
            raise ParameterError("region must be four numbers Y,X,H,W")
    y, x, h, w = vals
    if y < 0 or x < 0 or h < 1 or w < 1:
        raise ParameterError(f"region Y,X must be >= 0 and H,W >= 1, got {y},{x},{h},{w}")
    return y, x, h, w


def region_cells(out_h: int, out_w: int, centre_of, region, in_shape: tuple[int, int],
                 default_side: int = 8) -> tuple[list[tuple[int, int]], tuple[int, int, int, int]]:
    """Output cells whose window centre (``centre_of(oy, ox)`` in input coordinates) lies in ``region``.

    ``centre_of`` must be separable, as every op's is: the row from ``oy`` alone, the column from ``ox``.

    Without a region, the whole input when it is small, else its top-left ``default_side`` square.
    Returns the cells in row-major order and the region used.
    """
    h, w = in_shape
    if region is None:
        if max(h, w) <= 2 * default_side:   # small: every output cell, padding-only windows included
            return [(oy, ox) for oy in range(out_h) for ox in range(out_w)], (0, 0, h, w)
        region = (0, 0, min(h, default_side), min(w, default_side))
    y0, x0, rh, rw = region
    if y0 >= h or x0 >= w:
        raise ParameterError(f"region {y0},{x0},{rh},{rw} starts outside the {h}×{w} input")
    # a window's centre row depends on its output row only, and its column on the output column:
    # pick rows and columns apart (O(out_h + out_w), not a Python loop over a large image's outputs)
    rows = [oy for oy in range(out_h) if y0 <= centre_of(oy, 0)[0] < y0 + rh]
    cols = [ox for ox in range(out_w) if x0 <= centre_of(0, ox)[1] < x0 + rw]
    return [(oy, ox) for oy in rows for ox in cols], region


def channel_plane(image: np.ndarray, channel: int, max_steps: int) -> tuple[np.ndarray, int]:
    """The (H, W) float32 plane of ``channel`` of an (H, W) or (H, W, C) input, and C.

    Every trace starts here, so that a bad --channel or --max-steps reads the same for every op.
    """
    arr = np.asarray(image, dtype=np.float32)
    n_c = 1 if arr.ndim == 2 else arr.shape[2]
    if not 0 <= channel < n_c:
        raise ParameterError(f"channel {channel} does not exist: the input has {n_c} channel(s) (0..{n_c - 1})")
    if max_steps < 1:
        raise ParameterError(f"--max-steps must be at least 1, got {max_steps}")
    return np.ascontiguousarray(arr if arr.ndim == 2 else arr[:, :, channel]), n_c
