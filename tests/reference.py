"""Deliberately slow, obvious reference implementations: the oracles of the tests.

Written from the definitions with plain Python loops, sharing no code with convcli's ops.
"""
from __future__ import annotations

import math

import numpy as np


def pad_reference(plane: np.ndarray, top: int, bottom: int, left: int, right: int, mode: str) -> np.ndarray:
    """Pad one 2-D plane cell by cell, with PyTorch's meaning of each mode."""
    h, w = plane.shape
    out = np.zeros((h + top + bottom, w + left + right), dtype=np.float64)
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            y, x = r - top, c - left
            if 0 <= y < h and 0 <= x < w:
                out[r, c] = plane[y, x]
                continue
            if mode == "zeros":
                continue
            if mode == "replicate":
                yy, xx = min(max(y, 0), h - 1), min(max(x, 0), w - 1)
            elif mode == "circular":
                yy, xx = y % h, x % w
            elif mode == "reflect":
                yy = -y if y < 0 else (2 * (h - 1) - y if y >= h else y)
                xx = -x if x < 0 else (2 * (w - 1) - x if x >= w else x)
            else:
                raise ValueError(mode)
            out[r, c] = plane[yy, xx]
    return out


def conv2d_reference(image: np.ndarray, kernel: np.ndarray, *, stride=(1, 1), pad=(0, 0, 0, 0),
                     mode="zeros", dilation=(1, 1), bias=0.0) -> np.ndarray:
    """Cross-correlation of (H, W) or (H, W, C) with a (kh, kw) kernel per channel, or a
    (C_out, C_in, kh, kw) weight; float64 accumulation; returns the layout convcli promises."""
    x = np.asarray(image, dtype=np.float64)
    two_d = x.ndim == 2
    if two_d:
        x = x[:, :, None]
    h, w, c = x.shape
    k = np.asarray(kernel, dtype=np.float64)
    dense = k.ndim == 4
    kh, kw = k.shape[-2:]
    planes = [pad_reference(x[:, :, ch], *pad, mode) for ch in range(c)]
    ph, pw = planes[0].shape
    sy, sx = stride
    dy, dx = dilation
    oh = (ph - dy * (kh - 1) - 1) // sy + 1
    ow = (pw - dx * (kw - 1) - 1) // sx + 1
    c_out = k.shape[0] if dense else c
    biases = np.broadcast_to(np.asarray(bias, dtype=np.float64), (c_out,))
    out = np.zeros((oh, ow, c_out))
    for co in range(c_out):
        for oy in range(oh):
            for ox in range(ow):
                total = 0.0
                for ci in (range(c) if dense else [co]):
                    weights = k[co, ci] if dense else k
                    for i in range(kh):
                        for j in range(kw):
                            total += planes[ci][oy * sy + i * dy, ox * sx + j * dx] * weights[i, j]
                out[oy, ox, co] = total + biases[co]
    if two_d and c_out == 1:
        return out[:, :, 0]
    return out


# ------------------------------------------------------------------------------------- pooling

def pool2d_reference(image: np.ndarray, *, mode="max", size=(2, 2), stride=None, padding=(0, 0),
                     ceil_mode=False, count_include_pad=True) -> np.ndarray:
    """Pooling of (H, W) or (H, W, C) from the definitions PyTorch documents.

    The output size: ⌊(n + 2p − k) / s⌋ + 1, or with ceil_mode ⌈…⌉ + 1 minus one if the last window
    would start in the right padding. Max/min look only at input cells (padding never wins; a NaN
    does). The average adds the input cells and divides by the number of cells of the window that
    lie inside the padded input (count_include_pad) or inside the input (otherwise).
    """
    x = np.asarray(image, dtype=np.float64)
    two_d = x.ndim == 2
    if two_d:
        x = x[:, :, None]
    h, w, c = x.shape
    kh, kw = size
    sy, sx = stride if stride is not None else size
    py, px = padding

    def out_size(n, k, s, p):
        if ceil_mode:
            o = math.ceil((n + 2 * p - k) / s) + 1
            if (o - 1) * s >= n + p:
                o -= 1
            return o
        return (n + 2 * p - k) // s + 1

    oh, ow = out_size(h, kh, sy, py), out_size(w, kw, sx, px)
    if oh < 1 or ow < 1:
        raise ValueError(f"no window fits: output {oh}×{ow}")
    out = np.zeros((oh, ow, c))
    for ch in range(c):
        for oy in range(oh):
            for ox in range(ow):
                inside, padded_cells = [], 0
                for i in range(kh):
                    for j in range(kw):
                        y, xx = oy * sy - py + i, ox * sx - px + j
                        if 0 <= y < h and 0 <= xx < w:
                            inside.append(x[y, xx, ch])
                        elif -py <= y < h + py and -px <= xx < w + px:
                            padded_cells += 1
                if mode == "avg":
                    divisor = len(inside) + (padded_cells if count_include_pad else 0)
                    out[oy, ox, ch] = sum(inside) / divisor
                elif any(math.isnan(v) for v in inside):
                    out[oy, ox, ch] = math.nan
                else:
                    out[oy, ox, ch] = max(inside) if mode == "max" else min(inside)
    return out[:, :, 0] if two_d else out


# ---------------------------------------------------------------------------------- upsampling

def _f(v) -> np.float32:
    return np.float32(v)


def interpolate_reference(image: np.ndarray, *, mode="nearest", scale=None, size=None,
                          align_corners=False) -> np.ndarray:
    """torch.nn.functional.interpolate written out pixel by pixel from PyTorch's documented rules.

    Coordinates are computed in float32, as PyTorch does on the CPU, so floor() picks the same
    source pixels. ``scale`` is (sy, sx) or None, ``size`` (H, W) or None.
    """
    x = np.asarray(image, dtype=np.float64)
    two_d = x.ndim == 2
    if two_d:
        x = x[:, :, None]
    h, w, c = x.shape
    if size is not None:
        oh, ow = size
        scales = (None, None)
    else:
        scales = scale
        oh, ow = math.floor(h * scale[0]), math.floor(w * scale[1])
    # PyTorch's small-output nearest kernel copies for an unchanged size and halves for a doubled
    # one; its general kernel (H_out + W_out > 128) always floors dst / scale
    small = oh + ow <= 128

    def inv(n, m, s):            # input pixels per output pixel
        if s is not None:
            return _f(1.0 / s)
        return _f(n) / _f(m)

    def nearest(d, n, m, s):
        if mode == "nearest":
            if small and m == n:
                return d
            if small and m == 2 * n:
                return d // 2
            return min(int(math.floor(_f(d) * inv(n, m, s))), n - 1)
        return min(int(math.floor(_f((d + 0.5) * float(inv(n, m, s))))), n - 1)

    def source(d, n, m, s):
        if align_corners:
            ratio = _f(n - 1) / _f(m - 1) if m > 1 else _f(0)
            return ratio * _f(d)
        return inv(n, m, s) * (_f(d) + _f(0.5)) - _f(0.5)

    def linear_taps(d, n, m, s):
        if m == n:
            return [(d, 1.0)]
        src = max(source(d, n, m, s), _f(0))
        i0 = min(int(math.floor(src)), n - 1)
        lam = min(max(src - _f(i0), _f(0)), _f(1))
        i1 = i0 + 1 if i0 < n - 1 else i0
        return [(i0, float(_f(1) - lam)), (i1, float(lam))]

    def cubic_taps(d, n, m, s):
        a = -0.75
        src = source(d, n, m, s)
        i0 = min(int(math.floor(src)), n - 1)
        t = float(min(max(src - _f(i0), _f(0)), _f(1)))
        taps = []
        for k in range(-1, 3):
            dist = abs(t - k)
            if dist <= 1:
                wgt = (a + 2) * dist ** 3 - (a + 3) * dist ** 2 + 1
            elif dist < 2:
                wgt = a * dist ** 3 - 5 * a * dist ** 2 + 8 * a * dist - 4 * a
            else:
                wgt = 0.0
            taps.append((min(max(i0 + k, 0), n - 1), wgt))
        return taps

    out = np.zeros((oh, ow, c))
    for oy in range(oh):
        for ox in range(ow):
            if mode in ("nearest", "nearest-exact"):
                out[oy, ox] = x[nearest(oy, h, oh, scales[0]), nearest(ox, w, ow, scales[1])]
                continue
            taps = linear_taps if mode == "bilinear" else cubic_taps
            total = np.zeros(c)
            for iy, wy in taps(oy, h, oh, scales[0]):
                for ix, wx in taps(ox, w, ow, scales[1]):
                    total += wy * wx * x[iy, ix]
            out[oy, ox] = total
    return out[:, :, 0] if two_d else out
