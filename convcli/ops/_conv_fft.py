"""The FFT path of the convolution: overlap-save correlation on float64 tiles."""
from __future__ import annotations

import numpy as np

from .. import _numba_env  # noqa: F401  (sets the Numba cache directory before Numba loads)
from numba import njit

from ..shapes import effective_kernel
from ._conv_rows import MODE_CODE, source_index
from ._parallel import run_blocks

# ------------------------------------------------------------------------------------ the FFT path
# A big kernel that is not rank 1 costs kh·kw multiply-adds per output value on the direct path;
# overlap-save FFT correlation costs about the same per value whatever the kernel size. The FFT runs
# in float64 on tiles of the padded input: the rounding error of a float64 FFT is far below float32's
# (the result is cast to float32 at the end), each tile's working set stays in cache, and numpy's
# FFT releases the GIL, so the tiles run on the module's thread pool.

# effective kernel area (kh_eff · kw_eff) from which the FFT path is used, and the fewest output
# values per channel (smaller outputs stay direct). Measured on this project's 2-core machine, both
# paths alternated, random kernels, float32 and uint8 alike (FFT time ÷ direct time):
#   4096²: 15×15 1.8–1.95, 17×17 1.4, 19×19 1.16–1.22, 21×21 0.91, 23×23 0.85–0.97, 31×31 0.48–0.51
#   1024²: 21×21 1.0, 31×31 0.63;  512²: 21×21 0.97, 31×31 0.41;  384² 31×31: 0.51
#   256² 31×31: 1.33; 192²: 1.09 (one tile: its FFT and the kernel's run on the calling thread)
FFT_MIN_AREA = 400
FFT_MIN_OUT = 300 * 300
# FFT lengths for the tiles and what one rfft2 + product + irfft2 costs per tile cell at that length
# (ns, float64, one core of this machine, best of 9). Powers of two are not slower here, but above
# ~420 the tile falls out of cache and the cost triples (432: 32 ns, 512: 37 ns).
_FFT_TILES = {256: 9.9, 320: 10.5, 384: 11.6}


def _fast_len(n: int) -> int:
    """The smallest 2^a·3^b·5^c ≥ n (lengths numpy's FFT handles fastest)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _tile_len(span_h: int, span_w: int) -> int:
    """The tile length with the lowest cost per output value for a kernel spanning span_h × span_w."""
    return min(_FFT_TILES, key=lambda n: _FFT_TILES[n] * n * n / max(1, (n - span_h + 1) * (n - span_w + 1)))


def _tiling(out_n: int, span: int, target: int) -> tuple[int, int, int]:
    """(FFT length, outputs per tile, tiles) along one axis for a kernel spanning ``span`` cells.

    Tiles of length ``target``, shortened when the last one would be mostly waste (the outputs are
    spread evenly over the same count of tiles); a short axis gets one tile of the smallest fast
    length that holds it, if that is short (≤ 320: a 405-cell tile measured 2× slower per cell)
    and shorter than the tiles.
    """
    n = max(target, _fast_len(2 * span))
    count = -(-out_n // (n - span + 1))
    even = _fast_len(-(-out_n // count) + span - 1)
    if even <= 0.9 * n:
        n = even
    whole = _fast_len(out_n + span - 1)
    if whole <= max(320, n) and whole <= count * n:
        return whole, out_n, 1
    return n, n - span + 1, -(-out_n // (n - span + 1))


@njit(cache=True, nogil=True)
def _fill_tile(x, nc, c, y0, x0, pt, pl, ph, pw, mode, tile):  # pragma: no cover - compiled
    """tile[a, b] = channel ``c`` of the padded input at (y0 + a, x0 + b), as float64; 0 past its end.

    x is (H, W·C) channel-interleaved; the padded input is ph × pw with pt rows on top and pl columns
    on the left, in padding ``mode``: no padded copy of the image is made. Returns (all finite, all
    whole numbers, max |value|) of the tile, checked on the way (rows are in L1 by then: no extra pass).
    """
    h = x.shape[0]
    w = x.shape[1] // nc
    th, tw = tile.shape
    # tile columns that read input columns directly
    b_lo = min(max(0, pl - x0), tw)
    b_hi = max(b_lo, min(tw, pl + w - x0))
    probe = 0.0
    frac = 0.0
    big = 0.0
    for a in range(th):
        dst = tile[a]
        py = y0 + a
        s = source_index(py - pt, h, mode) if py < ph else -1
        if s < 0:
            for b in range(tw):
                dst[b] = 0.0
            continue
        row = x[s]
        off = (x0 - pl) * nc + c
        for b in range(b_lo, b_hi):
            dst[b] = row[off + b * nc]
        for b in range(b_lo):
            q = source_index(x0 + b - pl, w, mode)
            dst[b] = 0.0 if q < 0 else row[q * nc + c]
        for b in range(b_hi, tw):
            px = x0 + b
            q = source_index(px - pl, w, mode) if px < pw else -1
            dst[b] = 0.0 if q < 0 else row[q * nc + c]
        for b in range(tw):
            v = dst[b]
            probe += v * 0.0                    # NaN as soon as one value is ±inf or NaN
            frac = max(frac, abs(v - np.floor(v)))
            big = max(big, abs(v))
    finite = probe == 0.0
    return finite, finite and frac == 0.0, big


@njit(cache=True, nogil=True)
def _store_tile(res, nc, c, oy0, ox0, vh, vw, bias, whole, out):  # pragma: no cover - compiled
    """out[oy0 + a, (ox0 + b)·C + c] = float32(res[a, b] (rounded to a whole number if ``whole``) + bias)."""
    for a in range(vh):
        src = res[a]
        dst = out[oy0 + a]
        base = ox0 * nc + c
        if whole:
            for b in range(vw):
                dst[base + b * nc] = np.float32(np.rint(src[b]) + bias)
        else:
            for b in range(vw):
                dst[base + b * nc] = np.float32(src[b] + bias)


def run_fft(rows: np.ndarray, nc: int, plan) -> np.ndarray | None:
    """Overlap-save FFT correlation of channel-interleaved ``rows`` (H, W·C): (H', W'·C) float32.

    Each tile of th × tw padded-input cells gives (th − eh + 1) × (tw − ew + 1) outputs: the circular
    correlation with the (dilated) kernel is exact there. Where a tile holds only whole numbers and
    the kernel too, and |values| · Σ|k| < 2^24, the exact results are whole numbers that float32
    holds: they are rounded before the bias is added, and match the direct path's exact sums bit
    for bit. Returns None as soon as a tile holds a NaN or ±inf (it would spread over the whole
    tile): the caller runs the direct path instead.
    """
    g = plan.geometry
    out = np.empty((g.out_h, g.out_w * nc), dtype=np.float32)
    (dy, dx) = g.dilation
    eh, ew = effective_kernel(g.k_h, dy), effective_kernel(g.k_w, dx)
    target = _tile_len(eh, ew)
    th, vh, ny = _tiling(g.out_h, eh, target)
    tw, vw, nx = _tiling(g.out_w, ew, target)
    k = plan.kernel
    kpad = np.zeros((th, tw))
    kpad[:eh:dy, :ew:dx] = k
    spec = np.conj(np.fft.rfft2(kpad))          # correlation = product with the conjugate spectrum
    # below this max |tile value| the exact results are whole numbers float32 holds (if k is whole)
    exact_below = 2.0 ** 24 / float(np.abs(k.astype(np.float64)).sum()) if np.all(k == np.round(k)) else -1.0
    pt, _, pl, _ = g.pad
    mode = MODE_CODE[plan.padding_mode]
    bias = [float(b) for b in plan.bias]
    tiles = [(ty, c, tx) for ty in range(ny) for c in range(nc) for tx in range(nx)]
    failed = []

    def work(j0: int, j1: int, out: np.ndarray) -> None:
        # buffers reused for every tile: fresh 0.5 MiB arrays per FFT cost about a third more time
        tile = np.empty((th, tw))
        f = np.empty((th, tw // 2 + 1), dtype=np.complex128)
        res = np.empty((th, tw))
        for ty, c, tx in tiles[j0:j1]:
            if failed:
                return
            oy0, ox0 = ty * vh, tx * vw
            finite, whole, big = _fill_tile(rows, nc, c, oy0, ox0, pt, pl, g.padded_h, g.padded_w, mode, tile)
            if not finite:
                failed.append((ty, c, tx))
                return
            np.fft.rfft2(tile, out=f)
            np.multiply(f, spec, out=f)
            # the inverse by hand: irfft2(out=...) leaves ``out`` unfilled in numpy 2.4, and only the
            # rows kept need the last pass
            np.fft.ifft(f, axis=0, out=f)
            m = min(vh, g.out_h - oy0)
            np.fft.irfft(f[:m], n=tw, axis=1, out=res[:m])
            _store_tile(res, nc, c, oy0, ox0, m, min(vw, g.out_w - ox0), bias[c], whole and big < exact_below, out)

    run_blocks(lambda j0, j1: work(j0, j1, out), len(tiles), len(tiles) * th * tw * 8)
    return None if failed else out
