"""The row-buffer (ring) engine of the direct and the separable convolution.

One compiled engine, :func:`_ring_rows`, owns the ring of padded input rows (as OpenCV's
FilterEngine owns its row buffer); the row and column filters are small pieces plugged into it:
:func:`_load_row` (pad, and for a separable kernel the horizontal pass) and :func:`_emit_row`
(the 2-D taps, or the vertical pass). The hot inner loop is :func:`_taps_1d`.
"""
from __future__ import annotations

import numpy as np

from .. import _numba_env  # noqa: F401  (sets the Numba cache directory before Numba loads)
from numba import njit

# padding modes as the kernels see them
MODE_CODE = {"zeros": 0, "reflect": 1, "replicate": 2, "circular": 3}
# output values computed per pass over the taps: a chunk of a row that stays in L1
_CHUNK = 2048


@njit(cache=True)
def source_index(q, n, mode):  # pragma: no cover - compiled
    """The input index that padded position ``q`` (relative to the first input cell) reads, or -1 (zero)."""
    if 0 <= q < n:
        return q
    if mode == 0:
        return -1
    if mode == 2:
        return 0 if q < 0 else n - 1
    if mode == 3:
        return q % n
    if n == 1:
        return 0
    period = 2 * (n - 1)
    q = q % period
    return q if q < n else period - q


@njit(cache=True)
def _fill_padded_row(x, y, nc, pl, mode, buf):  # pragma: no cover - compiled
    """buf[(pl + W + pr)·nc] = input row ``y`` (channels interleaved) padded left and right, as float32."""
    w = x.shape[1] // nc
    pw = buf.shape[0] // nc
    base = pl * nc
    row = x[y]
    inner = buf[base:base + w * nc]
    for t in range(w * nc):
        inner[t] = row[t]
    for p in range(pl):
        s = source_index(p - pl, w, mode)
        for c in range(nc):
            buf[p * nc + c] = 0.0 if s < 0 else row[s * nc + c]
    for p in range(pl + w, pw):
        s = source_index(p - pl, w, mode)
        for c in range(nc):
            buf[p * nc + c] = 0.0 if s < 0 else row[s * nc + c]


@njit(cache=True)
def _taps_1d(src, weights, step, nc, sx, c0, m, acc):  # pragma: no cover - compiled
    """acc[t] += Σ_j weights[j] · src[tap j of output cell c0 + t], t < m (channels interleaved).

    Output cell t = ox·nc + c reads src[(ox·sx + j·step)·nc + c]; at stride 1 that is src[t + j·step·nc],
    contiguous, and up to four taps share one pass over ``acc``. The taps are slices indexed by the
    loop counter alone: an index of unknown sign would make Numba check for negative indices and
    LLVM would give up vectorising.
    """
    n = weights.shape[0]
    if sx == 1:
        d = step * nc
        j = 0
        while j + 4 <= n:
            w0, w1, w2, w3 = weights[j], weights[j + 1], weights[j + 2], weights[j + 3]
            o = c0 + j * d
            s0 = src[o:o + m]
            s1 = src[o + d:o + d + m]
            s2 = src[o + 2 * d:o + 2 * d + m]
            s3 = src[o + 3 * d:o + 3 * d + m]
            for t in range(m):
                acc[t] += w0 * s0[t] + w1 * s1[t] + w2 * s2[t] + w3 * s3[t]
            j += 4
        o = c0 + j * d
        if n - j == 3:
            w0, w1, w2 = weights[j], weights[j + 1], weights[j + 2]
            s0 = src[o:o + m]
            s1 = src[o + d:o + d + m]
            s2 = src[o + 2 * d:o + 2 * d + m]
            for t in range(m):
                acc[t] += w0 * s0[t] + w1 * s1[t] + w2 * s2[t]
        elif n - j == 2:
            w0, w1 = weights[j], weights[j + 1]
            s0 = src[o:o + m]
            s1 = src[o + d:o + d + m]
            for t in range(m):
                acc[t] += w0 * s0[t] + w1 * s1[t]
        elif n - j == 1:
            w0 = weights[j]
            s0 = src[o:o + m]
            for t in range(m):
                acc[t] += w0 * s0[t]
    else:
        for j in range(n):
            wj = weights[j]
            for t in range(m):
                cell = c0 + t
                ox = cell // nc
                c = cell - ox * nc
                acc[t] += wj * src[(ox * sx + j * step) * nc + c]


@njit(cache=True)
def _window_rows(oy, kh, sy, dy, pt, h, mode, tags, slots):  # pragma: no cover - compiled
    """For output row ``oy``: slots[i] = ring slot of kernel row i (-1: a zero row); rows to load get
    tags[slot] = -2 - source row (the caller loads them and stores the source row)."""
    span = tags.shape[0]
    for i in range(kh):
        py = oy * sy + i * dy
        s = source_index(py - pt, h, mode)
        if s < 0:
            slots[i] = -1
            continue
        slot = py % span
        slots[i] = slot
        if tags[slot] != s:
            tags[slot] = -2 - s


@njit(cache=True)
def _load_row(x, s, nc, pl, mode, separable, krow, dx, sx, padded, acc, dst):  # pragma: no cover - compiled
    """The ring row for input row ``s``: the row padded left and right (direct), or that padded row
    filtered by ``krow`` at stride sx (separable: the horizontal pass, done once per input row)."""
    if not separable:
        _fill_padded_row(x, s, nc, pl, mode, dst)
        return
    _fill_padded_row(x, s, nc, pl, mode, padded)
    n_out = dst.shape[0]
    for c0 in range(0, n_out, _CHUNK):
        m = min(_CHUNK, n_out - c0)
        for t in range(m):
            acc[t] = 0.0
        _taps_1d(padded, krow, dx, nc, sx, c0, m, acc)
        d = dst[c0:c0 + m]
        for t in range(m):
            d[t] = acc[t]


@njit(cache=True)
def _emit_row(ring, slots, k, kcol, separable, dx, nc, sx, live, col, acc, bias_row, dst):  # pragma: no cover
    """One output row from the ring rows its window reads (slots[i]: kernel row i's ring row, −1: zeros).

    direct:    dst = Σ_i Σ_j k[i, j] · ring row i at tap j (_taps_1d), plus the bias;
    separable: dst = Σ_i kcol[i] · ring row i (rows already filtered by krow), four rows per pass.
    """
    n_out = dst.shape[0]
    kh = slots.shape[0]
    n_live = 0
    if separable:                    # the live (non-zero) rows and their weights
        for i in range(kh):
            if slots[i] >= 0:
                live[n_live] = slots[i]
                col[n_live] = kcol[i]
                n_live += 1
    for c0 in range(0, n_out, _CHUNK):
        m = min(_CHUNK, n_out - c0)
        for t in range(m):
            acc[t] = 0.0
        if not separable:
            for i in range(kh):
                slot = slots[i]
                if slot >= 0:
                    _taps_1d(ring[slot], k[i], dx, nc, sx, c0, m, acc)
        else:
            i = 0
            while i + 4 <= n_live:
                w0, w1, w2, w3 = col[i], col[i + 1], col[i + 2], col[i + 3]
                s0 = ring[live[i], c0:c0 + m]
                s1 = ring[live[i + 1], c0:c0 + m]
                s2 = ring[live[i + 2], c0:c0 + m]
                s3 = ring[live[i + 3], c0:c0 + m]
                for t in range(m):
                    acc[t] += w0 * s0[t] + w1 * s1[t] + w2 * s2[t] + w3 * s3[t]
                i += 4
            while i < n_live:
                wi = col[i]
                s0 = ring[live[i], c0:c0 + m]
                for t in range(m):
                    acc[t] += wi * s0[t]
                i += 1
        d = dst[c0:c0 + m]
        b_chunk = bias_row[c0:c0 + m]
        for t in range(m):
            d[t] = acc[t] + b_chunk[t]


@njit(cache=True, nogil=True)
def _ring_rows(x, nc, k, kcol, krow, separable, bias_row, pt, pl, pr, mode, sy, sx, dy, dx, row0, r0, r1,
               out):  # pragma: no cover - compiled
    """The row-buffer engine of the direct and the separable convolution, output rows r0..r1.

    x is (H, W·C) channel-interleaved, out (rows, W'·C) with out's row 0 = output row ``row0``.
    The input rows a window needs are kept in a small ring (each is padded, and for the separable
    kernel filtered horizontally, once per block, in cache: no padded copy of the image):

    direct (k, kh × kw):        out[oy, ox·C + c] = Σ_ij k[i, j] · padded[oy·sy + i·dy, (ox·sx + j·dx)·C + c] + b
    separable (k = kcol ⊗ krow): the same sum as Σ_i kcol[i] · (Σ_j krow[j] · padded[...]): kh + kw taps, not kh·kw.
    """
    h = x.shape[0]
    w = x.shape[1] // nc
    n_out = out.shape[1]
    kh = kcol.shape[0] if separable else k.shape[0]
    span = dy * (kh - 1) + 1
    pwc = (pl + w + pr) * nc
    ring = np.empty((span, n_out if separable else pwc), dtype=np.float32)
    padded = np.empty(pwc if separable else 1, dtype=np.float32)
    tags = np.empty(span, dtype=np.int64)   # not np.full: one more overload to compile on a first run
    for t in range(span):
        tags[t] = -1
    slots = np.empty(kh, dtype=np.int64)
    live = np.empty(kh, dtype=np.int64)
    col = np.empty(kh, dtype=np.float32)
    acc = np.empty(min(_CHUNK, n_out), dtype=np.float32)
    for oy in range(r0, r1):
        _window_rows(oy, kh, sy, dy, pt, h, mode, tags, slots)
        for i in range(kh):
            slot = slots[i]
            if slot >= 0 and tags[slot] <= -2:
                tags[slot] = -2 - tags[slot]
                _load_row(x, tags[slot], nc, pl, mode, separable, krow, dx, sx, padded, acc, ring[slot])
        _emit_row(ring, slots, k, kcol, separable, dx, nc, sx, live, col, acc, bias_row, out[oy - row0])


def rank1_factors(k: np.ndarray):
    """(column, row) float32 vectors with k = column ⊗ row, every entry to within a few float32
    roundings of itself, or None.

    The factors come from the kernel's own entries (the column and the row through its largest
    entry, the first in row-major order), not from an SVD, so that integer kernels such as Sobel or
    the slides' vertical-edge factor exactly ([1, 2, 1] ⊗ [1, 0, −1]) and give bit-identical integer
    results. Plain NumPy: the kernel is tiny, and a compiled version cost a second of compiling on
    a first run.
    """
    kh, kw = k.shape
    if kh < 2 or kw < 2:
        return None
    magnitude = np.abs(k.astype(np.float64))
    p, q = divmod(int(np.argmax(magnitude)), kw)
    big = magnitude[p, q]
    if not big > 0.0:
        return None
    col = k[:, q].astype(np.float32)
    row = (k[p, :].astype(np.float64) / np.float64(k[p, q])).astype(np.float32)
    # every entry within a few float32 roundings of itself (not of the largest entry): a tiny weight
    # that the factors would drop, say 3e-45 beside 1, still counts on an input of 1e15 or ±inf
    error = np.abs(np.outer(col.astype(np.float64), row.astype(np.float64)) - k.astype(np.float64))
    return None if np.any(error > 16.0 * float(np.finfo(np.float32).eps) * magnitude) else (col, row)
