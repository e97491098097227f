"""Deliberately slow, obvious reference implementations: the oracles of the tests.

Written from the definitions with plain Python loops, sharing no code with convcli's ops.
"""
from __future__ import annotations

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


def tconv2d_reference(image: np.ndarray, kernel: np.ndarray, *, stride=(1, 1), padding=(0, 0),
                      output_padding=(0, 0), dilation=(1, 1), bias=0.0) -> np.ndarray:
    """Transposed convolution by its definition: every input value times the kernel, added into a
    full-size canvas at stride steps; then ``padding`` cells cropped from each side and
    ``output_padding`` extra rows/columns kept at the bottom/right. A (kh, kw) kernel works per channel;
    a (C_in, C_out, kh, kw) weight (PyTorch's ConvTranspose2d layout) mixes channels. float64."""
    x = np.asarray(image, dtype=np.float64)
    two_d = x.ndim == 2
    if two_d:
        x = x[:, :, None]
    h, w, c = x.shape
    k = np.asarray(kernel, dtype=np.float64)
    dense = k.ndim == 4
    kh, kw = k.shape[-2:]
    sy, sx = stride
    py, px = padding
    ay, ax = output_padding
    dy, dx = dilation
    c_out = k.shape[1] if dense else c
    full_h = (h - 1) * sy + dy * (kh - 1) + 1 + ay
    full_w = (w - 1) * sx + dx * (kw - 1) + 1 + ax
    canvas = np.zeros((full_h, full_w, c_out))
    for ci in range(c):
        for iy in range(h):
            for ix in range(w):
                for co in (range(c_out) if dense else [ci]):
                    weights = k[ci, co] if dense else k
                    for i in range(kh):
                        for j in range(kw):
                            canvas[iy * sy + i * dy, ix * sx + j * dx, co] += x[iy, ix, ci] * weights[i, j]
    out_h = full_h - 2 * py
    out_w = full_w - 2 * px
    out = canvas[py:py + out_h, px:px + out_w, :] + np.broadcast_to(np.asarray(bias, np.float64), (c_out,))
    if two_d and c_out == 1:
        return out[:, :, 0]
    return out
