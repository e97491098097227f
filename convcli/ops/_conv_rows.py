"""The row-buffer (ring) engine of the direct and the separable convolution.

The ring is written once: :func:`_ring` makes it and :func:`_ring_advance` moves it down the
image, saying which kernel row reads which ring row and which ring rows to (re)load, as OpenCV's
FilterEngine owns its row buffer. The two block kernels plug their filters into it: the direct
one loads padded rows and applies the 2-D taps; the separable one loads rows filtered by the row
factor and applies the column factor. They stay two compiled kernels, not one with a flag, so a
first run compiles only the one it needs. The hot inner loop is :func:`_taps_1d`.
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


@njit(cache=True, inline="always")
def _ring(kh, dy, width, n_out):  # pragma: no cover - compiled
    """A ring for a kernel of kh rows at row dilation dy: (ring rows, their source rows, slots, loads, acc).

    The ring holds the dy·(kh − 1) + 1 consecutive padded rows one window spans, each ``width``
    float32 values; tags[slot] is the input row a ring row holds (−1: none yet)."""
    span = dy * (kh - 1) + 1
    ring = np.empty((span, width), dtype=np.float32)
    tags = np.empty(span, dtype=np.int64)   # not np.full: one more overload to compile on a first run
    for t in range(span):
        tags[t] = -1
    slots = np.empty(kh, dtype=np.int64)
    loads = np.empty(kh, dtype=np.int64)
    acc = np.empty(min(_CHUNK, n_out), dtype=np.float32)
    return ring, tags, slots, loads, acc


@njit(cache=True, inline="always")
def _ring_advance(oy, sy, dy, pt, h, mode, tags, slots, loads):  # pragma: no cover - compiled
    """Move the ring to output row ``oy``: slots[i] = the ring row kernel row i reads (−1: a row of
    zeros, in the zero padding); returns n, with loads[:n] the ring rows to fill, from input rows
    tags[loads[q]] (each input row is loaded once while the window passes over it)."""
    span = tags.shape[0]
    n = 0
    for i in range(slots.shape[0]):
        py = oy * sy + i * dy
        s = source_index(py - pt, h, mode)
        if s < 0:
            slots[i] = -1
            continue
        slot = py % span
        slots[i] = slot
        if tags[slot] != s:
            tags[slot] = s
            loads[n] = slot
            n += 1
    return n


@njit(cache=True, inline="always")
def _finish(acc, m, bias_chunk, dst):  # pragma: no cover - compiled
    for t in range(m):
        dst[t] = acc[t] + bias_chunk[t]


@njit(cache=True, nogil=True)
def _rows_block(x, nc, k, bias_row, pt, pl, pr, mode, sy, sx, dy, dx, row0, r0, r1, out):  # pragma: no cover
    """Direct depthwise kernel on channel-interleaved rows, output rows r0..r1: x is (H, W·C), out's
    row 0 is output row ``row0``; the ring holds padded input rows (padded once each, in cache):

        out[oy, ox·C + c] = Σ_ij k[i, j] · padded[oy·sy + i·dy, (ox·sx + j·dx)·C + c] + bias_row[ox·C + c]
    """
    h = x.shape[0]
    n_out = out.shape[1]
    ring, tags, slots, loads, acc = _ring(k.shape[0], dy, (pl + x.shape[1] // nc + pr) * nc, n_out)
    for oy in range(r0, r1):
        for q in range(_ring_advance(oy, sy, dy, pt, h, mode, tags, slots, loads)):
            _fill_padded_row(x, tags[loads[q]], nc, pl, mode, ring[loads[q]])
        dst = out[oy - row0]
        for c0 in range(0, n_out, _CHUNK):
            m = min(_CHUNK, n_out - c0)
            for t in range(m):
                acc[t] = 0.0
            for i in range(k.shape[0]):
                if slots[i] >= 0:
                    _taps_1d(ring[slots[i]], k[i], dx, nc, sx, c0, m, acc)
            _finish(acc, m, bias_row[c0:c0 + m], dst[c0:c0 + m])


@njit(cache=True, nogil=True)
def _separable_block(x, nc, kcol, krow, bias_row, pt, pl, pr, mode, sy, sx, dy, dx, row0, r0, r1,
                     out):  # pragma: no cover - compiled
    """As _rows_block for a rank-1 kernel k = kcol ⊗ krow: the ring holds padded input rows already
    filtered with krow (once each), and each output row is Σ_i kcol[i] · ring row i: kh + kw taps,
    not kh·kw."""
    h = x.shape[0]
    n_out = out.shape[1]
    kh = kcol.shape[0]
    ring, tags, slots, loads, acc = _ring(kh, dy, n_out, n_out)
    padded = np.empty((pl + x.shape[1] // nc + pr) * nc, dtype=np.float32)
    live = np.empty(kh, dtype=np.int64)
    col = np.empty(kh, dtype=np.float32)
    for oy in range(r0, r1):
        for q in range(_ring_advance(oy, sy, dy, pt, h, mode, tags, slots, loads)):
            _fill_padded_row(x, tags[loads[q]], nc, pl, mode, padded)
            filtered = ring[loads[q]]
            for c0 in range(0, n_out, _CHUNK):       # the horizontal pass, into the ring
                m = min(_CHUNK, n_out - c0)
                for t in range(m):
                    acc[t] = 0.0
                _taps_1d(padded, krow, dx, nc, sx, c0, m, acc)
                dst = filtered[c0:c0 + m]
                for t in range(m):
                    dst[t] = acc[t]
        # the vertical pass over the live (non-zero) rows, four rows per pass over the chunk
        n_live = 0
        for i in range(kh):
            if slots[i] >= 0:
                live[n_live] = slots[i]
                col[n_live] = kcol[i]
                n_live += 1
        dst = out[oy - row0]
        for c0 in range(0, n_out, _CHUNK):
            m = min(_CHUNK, n_out - c0)
            for t in range(m):
                acc[t] = 0.0
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
            _finish(acc, m, bias_row[c0:c0 + m], dst[c0:c0 + m])


_RANK1_TOLERANCE = 16.0 * float(np.finfo(np.float32).eps)


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
    k64 = k.astype(np.float64)
    magnitude = np.abs(k64)
    p, q = divmod(int(magnitude.argmax()), kw)
    big = magnitude[p, q]
    if not big > 0.0:
        return None
    col = k[:, q].astype(np.float32)
    row = (k64[p, :] / k64[p, q]).astype(np.float32)
    # every entry within a few float32 roundings of itself (not of the largest entry): a tiny weight
    # that the factors would drop, say 3e-45 beside 1, still counts on an input of 1e15 or ±inf
    error = np.abs(col.astype(np.float64)[:, None] * row.astype(np.float64)[None, :] - k64)
    return None if (error > _RANK1_TOLERANCE * magnitude).any() else (col, row)
