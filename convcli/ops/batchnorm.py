"""Batch normalization per channel, exactly as ``torch.nn.BatchNorm2d`` computes it.

Training, for each mini-batch B (every pixel of every image counts once, per channel c)::

    μ_B = Σ z / n                   σ²_B = Σ (z − μ_B)² / n          (biased: used to normalize)
    ẑ = (z − μ_B) / √(σ²_B + ε)      out = γ·ẑ + β
    running_mean ← (1 − m)·running_mean + m·μ_B
    running_var  ← (1 − m)·running_var  + m·σ²_B·n/(n − 1)            (unbiased: what is stored)

starting from running_mean = 0 and running_var = 1. ``momentum=None`` is PyTorch's cumulative
average: m = 1/k after the k-th mini-batch. Evaluation normalizes with the running statistics and
leaves them unchanged.

Sums are accumulated in float64 (two passes: the mean, then squared deviations from it) by Numba
kernels, so statistics over many large images stay accurate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .. import _numba_env  # noqa: F401  (sets the Numba cache directory before Numba loads)
from numba import njit, prange

from ..errors import InputError, ParameterError
from ._common import check_real

_CHUNKS = 64


@njit(cache=True, parallel=True)
def _moments(x, shift, sums, squares):  # pragma: no cover - compiled
    """Per chunk k of the rows of x (P, C): sums[k, c] = Σ (x − shift[c]), squares[k, c] = Σ (x − shift[c])²."""
    n_rows, n_c = x.shape
    n_chunks = sums.shape[0]
    for k in prange(n_chunks):
        r0 = (n_rows * k) // n_chunks
        r1 = (n_rows * (k + 1)) // n_chunks
        for c in range(n_c):
            s = 0.0
            q = 0.0
            sh = shift[c]
            for r in range(r0, r1):
                v = np.float64(x[r, c]) - sh
                s += v
                q += v * v
            sums[k, c] = s
            squares[k, c] = q


@njit(cache=True, parallel=True)
def _normalize(x, mean, invstd, gamma, beta, out):  # pragma: no cover - compiled
    """out[p, c] = (x[p, c] − mean[c]) · invstd[c] · gamma[c] + beta[c], in float64, stored as float32."""
    n_rows, n_c = x.shape
    for r in prange(n_rows):
        for c in range(n_c):
            out[r, c] = np.float32((np.float64(x[r, c]) - mean[c]) * invstd[c] * gamma[c] + beta[c])


def _rows(arr: np.ndarray) -> np.ndarray:
    """(H, W, C) float32 -> contiguous (H·W, C) view."""
    return np.ascontiguousarray(arr.reshape(-1, arr.shape[-1]), dtype=np.float32)


def _sums(items: Sequence[np.ndarray], shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ (z − shift) and Σ (z − shift)² per channel over several (H, W, C) arrays, in float64."""
    c = shift.size
    total, total_sq = np.zeros(c), np.zeros(c)
    for arr in items:
        x = _rows(arr)
        chunks = max(1, min(_CHUNKS, x.shape[0]))
        s, q = np.zeros((chunks, c)), np.zeros((chunks, c))
        _moments(x, shift, s, q)
        total += s.sum(axis=0)
        total_sq += q.sum(axis=0)
    return total, total_sq


def channel_moments(items: Sequence[np.ndarray]) -> tuple[int, np.ndarray, np.ndarray]:
    """(n, mean, biased variance) per channel over (H, W, C) arrays: every pixel counts once."""
    c = items[0].shape[-1]
    n = int(sum(a.shape[0] * a.shape[1] for a in items))
    s, _ = _sums(items, np.zeros(c))
    mean = s / n
    d, q = _sums(items, mean)
    var = np.maximum((q - d * d / n) / n, 0.0)    # the d² term corrects the tiny rounding of the mean
    return n, mean, var


@dataclass(frozen=True)
class BatchStats:
    """One mini-batch: the inputs it holds, its statistics, and the running statistics after it."""

    index: int
    start: int                      # inputs start .. stop − 1 (0-based, in the order given)
    stop: int
    count: int                      # values per channel: Σ H·W over its inputs
    mean: np.ndarray
    var: np.ndarray                 # biased, what normalized this batch (training)
    var_unbiased: np.ndarray
    running_mean: np.ndarray        # after this batch's update (unchanged in evaluation)
    running_var: np.ndarray
    factor: float | None = None     # the momentum used for this update (1/k for momentum=None)
    previous_mean: np.ndarray | None = None   # the running statistics before this update
    previous_var: np.ndarray | None = None

    def as_dict(self) -> dict:
        return {"index": self.index, "inputs": [self.start, self.stop], "count": self.count,
                "mean": _list(self.mean), "var": _list(self.var), "var_unbiased": _list(self.var_unbiased),
                "running_mean": _list(self.running_mean), "running_var": _list(self.running_var),
                "momentum": self.factor}


@dataclass(frozen=True)
class BatchNormStats:
    """Statistics of a batch-norm run: over the whole input set, per mini-batch, and the running ones."""

    channels: int
    count: int                      # values per channel over the whole input set
    inputs: int
    mean: np.ndarray                # whole input set, biased variance
    var: np.ndarray
    var_unbiased: np.ndarray
    running_mean: np.ndarray        # after the last mini-batch (training) or as given (evaluation)
    running_var: np.ndarray
    num_batches_tracked: int
    eps: float
    momentum: float | None
    gamma: np.ndarray
    beta: np.ndarray
    training: bool
    batches: list[BatchStats] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"channels": self.channels, "count": self.count, "inputs": self.inputs,
                "mean": _list(self.mean), "var": _list(self.var), "var_unbiased": _list(self.var_unbiased),
                "running_mean": _list(self.running_mean), "running_var": _list(self.running_var),
                "num_batches_tracked": self.num_batches_tracked, "eps": self.eps, "momentum": self.momentum,
                "gamma": _list(self.gamma), "beta": _list(self.beta),
                "mode": "train" if self.training else "eval",
                "batches": [b.as_dict() for b in self.batches]}


def _list(a: np.ndarray) -> list:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(a, dtype=np.float64)]


def _unbiased(var: np.ndarray, n: int) -> np.ndarray:
    return var * n / (n - 1) if n > 1 else np.full_like(var, np.nan)


def _as_items(batch, name: str = "batch") -> tuple[list[np.ndarray], str]:
    """Arrays (H, W, C) float32 plus how to give results back: 'stack3' / 'stack4' / 'list'."""
    if isinstance(batch, np.ndarray):
        check_real(batch, name)
        if batch.ndim not in (3, 4):
            raise InputError(f"{name} must be (N, H, W) or (N, H, W, C) (or a list of (H, W[, C]) arrays), "
                             f"got shape {batch.shape}")
        if batch.shape[0] == 0:
            raise InputError(f"{name} is empty: no inputs")
        arr = batch.astype(np.float32, copy=False)
        items = [a[:, :, None] if batch.ndim == 3 else a for a in arr]
        kind = "stack3" if batch.ndim == 3 else "stack4"
    else:
        items = []
        for i, item in enumerate(batch):
            a = np.asarray(item)
            check_real(a, f"{name}[{i}]")
            if a.ndim not in (2, 3):
                raise InputError(f"{name}[{i}] must be (H, W) or (H, W, C), got shape {a.shape}")
            a = a.astype(np.float32, copy=False)
            items.append(a[:, :, None] if a.ndim == 2 else a)
        if not items:
            raise InputError(f"{name} is empty: no inputs")
        kind = "list"
    channels = items[0].shape[2]
    for i, a in enumerate(items):
        if a.shape[0] * a.shape[1] == 0 or a.shape[2] == 0:
            raise InputError(f"{name}[{i}] is empty (shape {a.shape[:2] + (a.shape[2],)})")
        if a.shape[2] != channels:
            raise InputError(f"{name}[{i}] has {a.shape[2]} channel(s) but {name}[0] has {channels}; "
                             f"every input of a batch needs the same number of channels")
    return items, kind


def _per_channel(value, channels: int, name: str, default: float) -> np.ndarray:
    if value is None:
        return np.full(channels, default)
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.size == 1:
        arr = np.full(channels, float(arr[0]))
    if arr.size != channels:
        raise ParameterError(f"{name} has {arr.size} values but the inputs have {channels} channel(s); "
                             f"give one value, or one per channel")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} must be finite")
    return arr


def check_params(eps: float, momentum: float | None, batch_size: int | None) -> None:
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ParameterError(f"eps must be a positive number, got {eps!r}")
    if momentum is not None and not (math.isfinite(momentum) and 0.0 <= momentum <= 1.0):
        raise ParameterError(f"momentum must be between 0 and 1 (or None for a cumulative average), got {momentum!r}")
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ParameterError(f"batch_size must be a whole number ≥ 1, got {batch_size!r}")


def batch_norm(batch, *, eps: float = 1e-5, momentum: float | None = 0.1, gamma=None, beta=None,
               batch_size: int | None = None, running_mean=None, running_var=None, num_batches_tracked: int = 0,
               training: bool = True):
    """Normalize a batch per channel as ``torch.nn.BatchNorm2d`` does, and return its statistics.

    Parameters
    ----------
    batch : array_like (N, H, W) or (N, H, W, C), or a list of (H, W) / (H, W, C) arrays
        The inputs, channel-last as everywhere in convcli. List members may differ in height and
        width (every pixel counts once) but not in channels.
    eps : float
        Added to the variance under the square root (PyTorch's default 1e-5).
    momentum : float in [0, 1] or None
        Weight of the new mini-batch in the running statistics; None = cumulative average (1/k).
    gamma, beta : float or one float per channel, optional
        The learnable scale and shift (default 1 and 0).
    batch_size : int, optional
        Split the inputs in order into mini-batches of this many (the last may be smaller), each
        normalized with its own statistics, the running statistics updated after each. Default: one.
    running_mean, running_var : one float per channel, optional
        Starting running statistics (default 0 and 1), or the stored ones for evaluation.
    num_batches_tracked : int
        Mini-batches already counted (only matters for ``momentum=None``).
    training : bool
        True: batch statistics, running statistics updated. False: normalize with the running ones.

    Returns
    -------
    normalized : numpy.ndarray or list of numpy.ndarray, float32
        Shaped like ``batch`` (an array for an array, a list for a list).
    stats : BatchNormStats
        ``mean``/``var`` (biased)/``var_unbiased`` over the whole input set, ``running_mean``/``running_var``
        after the last mini-batch, and ``batches``, each mini-batch's statistics.

    Examples
    --------
    >>> out, stats = batch_norm(np.array([[[1.0, 3.0]], [[5.0, 7.0]]]))   # 2 inputs of 1×2, one channel
    >>> stats.mean.tolist(), stats.var.tolist(), stats.running_mean.tolist()
    ([4.0], [5.0], [0.4])
    """
    check_params(eps, momentum, batch_size)
    items, kind = _as_items(batch)
    c = items[0].shape[2]
    g = _per_channel(gamma, c, "gamma", 1.0)
    b = _per_channel(beta, c, "beta", 0.0)
    rm, rv = _running(running_mean, running_var, c)
    whole = channel_moments(items)
    outputs: list[np.ndarray | None] = [None] * len(items)
    if training:
        size = len(items) if batch_size is None else int(batch_size)
        batches, rm, rv, tracked = _train(items, whole, size, momentum, int(num_batches_tracked), rm, rv,
                                          _Affine(eps, g, b), outputs)
    else:
        batches, tracked = [_evaluate(items, whole, rm, rv, _Affine(eps, g, b), outputs)], int(num_batches_tracked)
    n_all, mean_all, var_all = whole
    stats = BatchNormStats(c, n_all, len(items), mean_all, var_all, _unbiased(var_all, n_all), rm, rv, tracked,
                           float(eps), momentum, g, b, bool(training), batches)
    return _shaped(outputs, kind, batch), stats


def _running(running_mean, running_var, c: int) -> tuple[np.ndarray, np.ndarray]:
    """The starting (or, in evaluation, the stored) running statistics, checked."""
    rm = _per_channel(running_mean, c, "running_mean", 0.0)
    rv = _per_channel(running_var, c, "running_var", 1.0)
    if np.any(rv < 0):
        raise ParameterError("running_var must be ≥ 0")
    return rm, rv


@dataclass(frozen=True)
class _Affine:
    """ε and the learnable scale and shift: out = γ·(z − μ)/√(σ² + ε) + β."""

    eps: float
    gamma: np.ndarray
    beta: np.ndarray

    def normalize(self, arr: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
        return _apply(arr, mean, 1.0 / np.sqrt(var + self.eps), self.gamma, self.beta)


def _evaluate(items, whole, rm, rv, affine: _Affine, outputs: list) -> BatchStats:
    """Evaluation: every input normalized with the running statistics, which stay as they are."""
    n_all, mean_all, var_all = whole
    for i, a in enumerate(items):
        outputs[i] = affine.normalize(a, rm, rv)
    return BatchStats(0, 0, len(items), n_all, mean_all, var_all, _unbiased(var_all, n_all), rm.copy(), rv.copy(), None)


def _train(items, whole, size: int, momentum, tracked: int, rm, rv, affine: _Affine, outputs: list):
    """Training: each mini-batch of ``size`` inputs normalized with its own statistics, the running
    statistics updated after each. Returns (per-batch stats, running mean, running var, tracked)."""
    batches: list[BatchStats] = []
    for k, start in enumerate(range(0, len(items), size)):
        chunk = items[start:start + size]
        n, mean, var = channel_moments(chunk) if len(chunk) < len(items) else whole
        if n < 2:
            raise InputError(f"mini-batch {k + 1} (input {start + 1}) has only one value per channel; "
                             f"training needs more than one (PyTorch refuses it too)")
        unbiased = _unbiased(var, n)
        previous = (rm, rv)
        tracked += 1
        factor = 1.0 / tracked if momentum is None else float(momentum)
        rm = (1.0 - factor) * rm + factor * mean
        rv = (1.0 - factor) * rv + factor * unbiased
        for j, a in enumerate(chunk):
            outputs[start + j] = affine.normalize(a, mean, var)
        batches.append(BatchStats(k, start, start + len(chunk), n, mean, var, unbiased, rm.copy(), rv.copy(),
                                  factor, previous[0].copy(), previous[1].copy()))
    return batches, rm, rv, tracked


def _shaped(outputs: list, kind: str, batch):
    """The outputs shaped like the input batch: a stacked array, or a list of 2-D / 3-D arrays."""
    if kind == "stack4":
        return np.stack(outputs)
    if kind == "stack3":
        return np.stack([o[:, :, 0] for o in outputs])
    return [o[:, :, 0] if np.ndim(src) == 2 else o for o, src in zip(outputs, batch)]


def _apply(arr: np.ndarray, mean: np.ndarray, invstd: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    x = _rows(arr)
    out = np.empty_like(x)
    _normalize(x, np.ascontiguousarray(mean, dtype=np.float64), np.ascontiguousarray(invstd, dtype=np.float64),
               np.ascontiguousarray(gamma, dtype=np.float64), np.ascontiguousarray(beta, dtype=np.float64), out)
    return out.reshape(arr.shape)
