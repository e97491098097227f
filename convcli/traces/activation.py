"""The activate trace as plain data: x -> g(x) -> g'(x) per cell, dead and saturated cells marked."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ops.activations import SATURATION_THRESHOLD, check_function, classify

DEFAULT_MAX_STEPS = 64

FORMULAS = {
    "relu": ("g(x) = max(0, x)", "g'(x) = 1 if x > 0 else 0   (PyTorch: g'(0) = 0)"),
    "leaky-relu": ("g(x) = x if x > 0 else α·x", "g'(x) = 1 if x > 0 else α   (PyTorch: g'(0) = α)"),
    "sigmoid": ("g(x) = 1 / (1 + e^(−x))", "g'(x) = g(x)·(1 − g(x))"),
    "tanh": ("g(x) = tanh(x)", "g'(x) = 1 − tanh²(x)"),
    "elu": ("g(x) = x if x > 0 else α·(e^x − 1)", "g'(x) = 1 if x > 0 else α·e^x   (PyTorch: g'(0) = α)"),
    "gelu": ("g(x) = x·Φ(x) = x/2·(1 + erf(x/√2))", "g'(x) = Φ(x) + x·φ(x)"),
    "silu": ("g(x) = x·σ(x)", "g'(x) = σ(x)·(1 + x·(1 − σ(x)))"),
    "softplus": ("g(x) = ln(1 + e^x)  (x when x > 20)", "g'(x) = σ(x)  (1 when x > 20)"),
}


@dataclass
class ActivationRow:
    position: tuple[int, ...]        # (row, col) or (row, col, channel)
    pixel: float | None              # the pixel value before mapping (images), else None
    x: float
    y: float
    d: float
    status: str                      # "", "dead", "saturated"


@dataclass
class ActivationTrace:
    title: str
    formulas: tuple[str, str]
    rows: list[ActivationRow]
    total: int
    notes: list[str] = field(default_factory=list)


def activation_trace(x: np.ndarray, y: np.ndarray, d: np.ndarray, fn: str, alpha: float | None, *,
                     pixels: np.ndarray | None = None, mapping: str = "",
                     max_steps: int = DEFAULT_MAX_STEPS) -> ActivationTrace:
    """Rows for the first ``max_steps`` cells in row-major order (channels innermost)."""
    name, a = check_function(fn, alpha)
    dead, saturated = classify(y, d)
    rows = []
    total = int(x.size)
    for flat in range(min(total, max(0, max_steps))):
        pos = tuple(int(i) for i in np.unravel_index(flat, x.shape))
        status = "dead" if dead.flat[flat] else ("saturated" if saturated.flat[flat] else "")
        rows.append(ActivationRow(pos, None if pixels is None else float(pixels.flat[flat]),
                                  float(x.flat[flat]), float(y.flat[flat]), float(d.flat[flat]), status))
    alpha_text = f" with α = {a:g}" if name in ("leaky-relu", "elu") else ""
    notes = [f"dead = g(x) = 0 and g'(x) = 0 (no gradient flows back); saturated = |g'(x)| < "
             f"{SATURATION_THRESHOLD:g} (a vanishing gradient)"]
    if mapping:
        notes.insert(0, mapping)
    if total > len(rows):
        notes.append(f"showing {len(rows)} of {total} values (--max-steps raises the limit)")
    return ActivationTrace(f"activate {name}{alpha_text}", FORMULAS[name], rows, total, notes)
