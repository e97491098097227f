"""Colour maps as small NumPy lookup tables (no matplotlib): gray, viridis, magma, diverging.

Each map is defined by a few anchor colours, evenly spaced from 0 to 1, and stretched to a
256-entry table by linear interpolation in RGB. The viridis and magma anchors are the ten evenly
spaced samples of those maps as published by their authors (van der Walt and Smith, 2015; the
colours are in the public domain, CC0); the diverging map is a blue - near-white - red ramp
(ColorBrewer's RdBu, reversed so that negative is blue).

>>> from convcli.colormaps import lookup
>>> lookup("gray", [0.0, 1.0]).tolist()
[[0, 0, 0], [255, 255, 255]]
"""
from __future__ import annotations

import numpy as np

from .errors import ParameterError

ANCHORS: dict[str, tuple[str, ...]] = {
    "gray": ("#000000", "#ffffff"),
    "viridis": ("#440154", "#482878", "#3e4989", "#31688e", "#26828e",
                "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"),
    "magma": ("#000004", "#180f3d", "#440f76", "#721f81", "#9e2f7f",
              "#cd4071", "#f1605d", "#fd9668", "#feca8d", "#fcfdbf"),
    "diverging": ("#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
                  "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"),
}
NAMES = tuple(ANCHORS)
SIGNED = {"diverging"}       # maps whose middle is zero


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def table(name: str, size: int = 256) -> np.ndarray:
    """The ``(size, 3)`` uint8 lookup table of a map (made on each call: 256 entries cost
    microseconds, and no cache is kept between runs)."""
    key = check(name)
    anchors = np.array([_hex(c) for c in ANCHORS[key]], dtype=np.float64)
    where = np.linspace(0.0, 1.0, len(anchors))
    t = np.linspace(0.0, 1.0, size)
    out = np.stack([np.interp(t, where, anchors[:, i]) for i in range(3)], axis=1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def check(name: str) -> str:
    key = str(name).strip().lower()
    if key not in ANCHORS:
        raise ParameterError(f"colormap must be one of {', '.join(NAMES)}, got {name!r}")
    return key


def lookup(name: str, t) -> np.ndarray:
    """Colours (uint8, shape ``t.shape + (3,)``) for positions ``t`` in 0..1 (clipped; NaN -> 0)."""
    lut = table(name)
    t = np.nan_to_num(np.asarray(t, dtype=np.float64), nan=0.0)
    idx = np.clip(np.rint(t * (len(lut) - 1)), 0, len(lut) - 1).astype(np.intp)
    return lut[idx]


def signed_positions(values: np.ndarray, scale: float | None = None) -> tuple[np.ndarray, float]:
    """Positions for a diverging map: 0 -> 0.5, ±scale -> 0/1 (scale = largest |value| by default)."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    if scale is None:
        scale = float(np.abs(finite).max()) if finite.size else 0.0
    if scale <= 0:
        return np.full(v.shape, 0.5), 0.0
    return 0.5 + 0.5 * np.clip(np.nan_to_num(v) / scale, -1.0, 1.0), scale


def robust_scale(values: np.ndarray) -> float:
    """The ±scale of a diverging map: the 99.5th percentile of |value|, so that one extreme pixel does
    not wash every other edge out to near-white (the few values beyond it are drawn at full colour).
    The --show pictures and --colormap diverging images both use it, so they look alike."""
    v = np.asarray(values, dtype=np.float64)
    finite = np.abs(v[np.isfinite(v)])
    if not finite.size:
        return 0.0
    scale = float(np.percentile(finite, 99.5))
    return scale if scale > 0 else float(finite.max())


def sequential_positions(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Positions for a sequential map: lo -> 0, hi -> 1."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=lo)
    if hi <= lo:
        return np.zeros(v.shape)
    return np.clip((v - lo) / (hi - lo), 0.0, 1.0)


def colorize(result: np.ndarray, name: str, *, display: np.ndarray | None = None,
             maxval: float = 255.0) -> np.ndarray:
    """A one-channel result as an RGB picture (float32 (H, W, 3) on 0..255) through map ``name``.

    A diverging map is centred on zero and spans ±:func:`robust_scale` (the 99.5th percentile of
    |result|; larger values saturate), so sign and size both show — the same mapping as --show.
    A sequential map (gray, viridis, magma) looks up ``display`` (the result already mapped onto
    0..maxval by a range rule) divided by ``maxval``.
    """
    key = check(name)
    plane = np.asarray(result)
    if plane.ndim == 3:
        if plane.shape[2] != 1:
            raise ParameterError(f"--colormap colours a one-channel result; this one has {plane.shape[2]} "
                                 "channels (add --gray, or write .npy)")
        plane = plane[:, :, 0]
    if key in SIGNED:
        pos, _ = signed_positions(plane, robust_scale(plane))
    else:
        shown = plane if display is None else np.asarray(display)
        if shown.ndim == 3:
            shown = shown[:, :, 0]
        pos = sequential_positions(shown, 0.0, float(maxval))
    return lookup(key, pos).astype(np.float32)
