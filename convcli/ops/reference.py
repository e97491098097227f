"""Each op's plain reference: readable loops, the math as the slides write it.

Deliberately slow and obvious, in float64 (PyTorch's float32 coordinate arithmetic where an index
depends on it), sharing no code with the fast paths beside them, so that the tests can use these
as the oracle of every path (tests/test_paths.py) and a reader sees the formula next to the trick:

    convolution (cross-correlation), per channel (depthwise) or channel-mixing:
        out[oy, ox, c]  = b[c]  + Σ_i Σ_j k[i, j] · x_pad[oy·s_y + i·d_y, ox·s_x + j·d_x, c]
        out[oy, ox, co] = b[co] + Σ_ci Σ_i Σ_j w[co, ci, i, j] · x_pad[oy·s_y + i·d_y, ox·s_x + j·d_x, ci]
    transposed convolution, the scatter form: every input value stamps the kernel into the output,
        full[iy·s_y + i·d_y, ix·s_x + j·d_x] += x[iy, ix] · k[i, j], then ``padding`` cropped per side
    pooling: the max / min / mean of each window (padding never wins a max or min)
    upsampling: out[y, x] = Σ_i Σ_j w_y[i] · w_x[j] · x[iy_i, ix_j] with PyTorch's source coordinates
    activations: g(x) and g'(x) from the textbook definitions
    batch normalization: ẑ = (z − μ_B) / √(σ²_B + ε), out = γ·ẑ + β, running statistics updated

NumPy and ``math`` only.
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


def _channels_last(image) -> tuple[np.ndarray, bool]:
    """The image as float64 (H, W, C), and whether it was (H, W)."""
    x = np.asarray(image, dtype=np.float64)
    return (x[:, :, None], True) if x.ndim == 2 else (x, False)


def _layout(out: np.ndarray, two_d: bool) -> np.ndarray:
    """(H', W', C') back to (H', W') when the input was 2-D and there is one channel, as convcli returns it."""
    return out[:, :, 0] if two_d and out.shape[2] == 1 else out


def conv2d_reference(image: np.ndarray, kernel: np.ndarray, *, stride=(1, 1), pad=(0, 0, 0, 0),
                     mode="zeros", dilation=(1, 1), bias=0.0) -> np.ndarray:
    """Cross-correlation of (H, W) or (H, W, C) with a (kh, kw) kernel per channel, or a
    (C_out, C_in, kh, kw) weight; float64 accumulation; returns the layout convcli promises."""
    x, two_d = _channels_last(image)
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
    return _layout(out, two_d)


def tconv2d_reference(image: np.ndarray, kernel: np.ndarray, *, stride=(1, 1), padding=(0, 0),
                      output_padding=(0, 0), dilation=(1, 1), bias=0.0) -> np.ndarray:
    """Transposed convolution by its definition: every input value times the kernel, added into a
    full-size canvas at stride steps; then ``padding`` cells cropped from each side and
    ``output_padding`` extra rows/columns kept at the bottom/right. A (kh, kw) kernel works per channel;
    a (C_in, C_out, kh, kw) weight (PyTorch's ConvTranspose2d layout) mixes channels. float64."""
    x, two_d = _channels_last(image)
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
    return _layout(out, two_d)
# ------------------------------------------------------------------------------------ activations

def activation_reference(x: float, fn: str, alpha: float | None = None) -> tuple[float, float]:
    """(g(x), g'(x)) for one number, straight from the textbook definitions with the math module.

    Kinks follow PyTorch's autograd: ReLU'(0) = 0, LeakyReLU'(0) = alpha, ELU'(0) = alpha.
    Softplus uses PyTorch's beta = 1, threshold = 20 (g(x) = x above it)."""
    if fn == "relu":
        return (x, 1.0) if x > 0 else (0.0, 0.0)
    if fn == "leaky-relu":
        a = 0.01 if alpha is None else alpha
        return (x, 1.0) if x > 0 else (a * x, a)
    if fn == "sigmoid":
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return s, s * (1.0 - s)
    if fn == "tanh":
        t = math.tanh(x)
        return t, 1.0 - t * t
    if fn == "elu":
        a = 1.0 if alpha is None else alpha
        return (x, 1.0) if x > 0 else (a * math.expm1(x), a * math.exp(x))   # e^x − 1, exact near 0
    if fn == "gelu":
        cdf = 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))
        pdf = math.exp(-x * x / 2.0) / math.sqrt(2.0 * math.pi)
        return x * cdf, cdf + x * pdf
    if fn == "silu":
        s, _ = activation_reference(x, "sigmoid")
        return x * s, s + x * s * (1.0 - s)
    if fn == "softplus":
        if x > 20:
            return x, 1.0
        s, _ = activation_reference(x, "sigmoid")
        return math.log1p(math.exp(x)), s   # log(1 + e^x) without losing e^x next to 1
    raise ValueError(fn)


def activate_reference(values: np.ndarray, fn: str, alpha: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Apply activation_reference to every element; float64 arrays of values and derivatives."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    pairs = [activation_reference(float(v), fn, alpha) for v in flat]
    y = np.array([p[0] for p in pairs]).reshape(np.shape(values))
    d = np.array([p[1] for p in pairs]).reshape(np.shape(values))
    return y, d


# ------------------------------------------------------------------------------ batch normalization

def batch_norm_reference(images, *, eps=1e-5, momentum=0.1, gamma=None, beta=None, batch_size=None,
                         running_mean=None, running_var=None, training=True):
    """BatchNorm2d from its definition, value by value in plain Python (images: list of (H, W, C)).

    Returns (outputs as float64 arrays, dict of per-batch and final statistics)."""
    c = images[0].shape[2]
    gamma = [1.0] * c if gamma is None else list(gamma)
    beta = [0.0] * c if beta is None else list(beta)
    rm = [0.0] * c if running_mean is None else list(running_mean)
    rv = [1.0] * c if running_var is None else list(running_var)
    size = len(images) if batch_size is None else batch_size
    outputs = []
    batches = []
    tracked = 0

    def values(group, ch):
        return [float(v) for im in group for v in im[:, :, ch].ravel()]

    def moments(vals):
        n = len(vals)
        mean = math.fsum(vals) / n
        var = math.fsum((v - mean) ** 2 for v in vals) / n
        return n, mean, var

    if not training:
        for im in images:
            out = np.zeros(im.shape)
            for ch in range(c):
                for (r, col), v in np.ndenumerate(im[:, :, ch]):
                    out[r, col, ch] = (v - rm[ch]) / math.sqrt(rv[ch] + eps) * gamma[ch] + beta[ch]
            outputs.append(out)
    else:
        for start in range(0, len(images), size):
            group = images[start:start + size]
            stats = [moments(values(group, ch)) for ch in range(c)]
            tracked += 1
            m = 1.0 / tracked if momentum is None else momentum
            for ch, (n, mean, var) in enumerate(stats):
                rm[ch] = (1 - m) * rm[ch] + m * mean
                rv[ch] = (1 - m) * rv[ch] + m * var * n / (n - 1)
            for im in group:
                out = np.zeros(im.shape)
                for ch, (n, mean, var) in enumerate(stats):
                    for (r, col), v in np.ndenumerate(im[:, :, ch]):
                        out[r, col, ch] = (v - mean) / math.sqrt(var + eps) * gamma[ch] + beta[ch]
                outputs.append(out)
            batches.append({"mean": [s[1] for s in stats], "var": [s[2] for s in stats],
                            "var_unbiased": [s[2] * s[0] / (s[0] - 1) for s in stats],
                            "running_mean": list(rm), "running_var": list(rv), "count": stats[0][0]})
    whole = [moments(values(images, ch)) for ch in range(c)]
    return outputs, {"mean": [s[1] for s in whole], "var": [s[2] for s in whole],
                     "var_unbiased": [s[2] * s[0] / (s[0] - 1) if s[0] > 1 else float("nan") for s in whole],
                     "count": whole[0][0], "running_mean": rm, "running_var": rv, "batches": batches}


def pool2d_reference(image: np.ndarray, *, mode="max", size=(2, 2), stride=None, padding=(0, 0),
                     ceil_mode=False, count_include_pad=True) -> np.ndarray:
    """Pooling of (H, W) or (H, W, C) from the definitions PyTorch documents.

    The output size: ⌊(n + 2p − k) / s⌋ + 1, or with ceil_mode ⌈…⌉ + 1 minus one if the last window
    would start in the right padding. Max/min look only at input cells (padding never wins; a NaN
    does). The average adds the input cells and divides by the number of cells of the window that
    lie inside the padded input (count_include_pad) or inside the input (otherwise).
    """
    x, two_d = _channels_last(image)
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
    return _layout(out, two_d)


# ---------------------------------------------------------------------------------- upsampling

def _f(v) -> np.float32:
    return np.float32(v)


def _inv(n: int, m: int, s) -> np.float32:
    """Input pixels per output pixel, as PyTorch computes it: 1/scale when a scale was given, else n/m."""
    if s is not None:
        return _f(1.0 / s)
    return _f(n) / _f(m)


def _nearest_index(mode: str, d: int, n: int, m: int, s, small: bool) -> int:
    """The input index output ``d`` copies (nearest: ⌊d·r⌋; nearest-exact: ⌊(d + ½)·r⌋).

    PyTorch's small-output nearest kernel (H_out + W_out ≤ 128) copies for an unchanged size and
    halves for a doubled one; its general kernel always floors d / scale."""
    if mode == "nearest":
        if small and m == n:
            return d
        if small and m == 2 * n:
            return d // 2
        return min(int(math.floor(_f(d) * _inv(n, m, s))), n - 1)
    return min(int(math.floor(_f((d + 0.5) * float(_inv(n, m, s))))), n - 1)


def _source(d: int, n: int, m: int, s, align_corners: bool) -> np.float32:
    """The source coordinate of output ``d``: d·(n − 1)/(m − 1) with align_corners, else (d + ½)·r − ½."""
    if align_corners:
        ratio = _f(n - 1) / _f(m - 1) if m > 1 else _f(0)
        return ratio * _f(d)
    return _inv(n, m, s) * (_f(d) + _f(0.5)) - _f(0.5)


def _linear_taps(d: int, n: int, m: int, s, align_corners: bool) -> list[tuple[int, float]]:
    """(index, weight) pairs of linear interpolation: (1 − λ) at ⌊src⌋, λ at the next pixel."""
    if m == n:
        return [(d, 1.0)]
    src = max(_source(d, n, m, s, align_corners), _f(0))
    i0 = min(int(math.floor(src)), n - 1)
    lam = min(max(src - _f(i0), _f(0)), _f(1))
    i1 = i0 + 1 if i0 < n - 1 else i0
    return [(i0, float(_f(1) - lam)), (i1, float(lam))]


def _cubic_taps(d: int, n: int, m: int, s, align_corners: bool) -> list[tuple[int, float]]:
    """(index, weight) pairs of Keys' cubic convolution (a = −0.75), borders repeated."""
    a = -0.75
    src = _source(d, n, m, s, align_corners)
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


def interpolate_reference(image: np.ndarray, *, mode="nearest", scale=None, size=None,
                          align_corners=False) -> np.ndarray:
    """torch.nn.functional.interpolate written out pixel by pixel from PyTorch's documented rules.

    Coordinates are computed in float32, as PyTorch does on the CPU, so floor() picks the same
    source pixels. ``scale`` is (sy, sx) or None, ``size`` (H, W) or None.
    """
    x, two_d = _channels_last(image)
    h, w, c = x.shape
    if size is not None:
        (oh, ow), scales = size, (None, None)
    else:
        scales = scale
        oh, ow = math.floor(h * scale[0]), math.floor(w * scale[1])
    small = oh + ow <= 128
    out = np.zeros((oh, ow, c))
    for oy in range(oh):
        for ox in range(ow):
            if mode in ("nearest", "nearest-exact"):
                out[oy, ox] = x[_nearest_index(mode, oy, h, oh, scales[0], small),
                                _nearest_index(mode, ox, w, ow, scales[1], small)]
                continue
            taps = _linear_taps if mode == "bilinear" else _cubic_taps
            total = np.zeros(c)
            for iy, wy in taps(oy, h, oh, scales[0], align_corners):
                for ix, wx in taps(ox, w, ow, scales[1], align_corners):
                    total += wy * wx * x[iy, ix]
            out[oy, ox] = total
    return _layout(out, two_d)
