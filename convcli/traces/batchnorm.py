"""The bnorm-stats trace as plain data: each mini-batch's statistics written out, each value's
normalization step by step, and the running-statistics update."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..ops.batchnorm import BatchNormStats
from .model import fmt, fmt_factor

DEFAULT_MAX_STEPS = 24
WRITE_OUT = 8          # sums of at most this many values are written term by term


HIST_BINS = 24


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    # the slides' picture: {"input": ..., "normalized": ...}, each {"lo", "hi", "counts", "mean", "std"}
    # (HIST_BINS equal bins from lo to hi; the mean and standard deviation of the plotted values)
    histogram: dict | None = None


def histogram(values: np.ndarray, bins: int = HIST_BINS) -> dict:
    """Counts of ``values`` in ``bins`` equal bins over their range, and their mean and standard
    deviation: a fixed-size summary, whatever the number of values."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"lo": 0.0, "hi": 0.0, "counts": [0] * bins, "mean": None, "std": None}
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, _ = np.histogram(v, bins=bins, range=(lo, hi))
    return {"lo": lo, "hi": hi, "counts": [int(c) for c in counts], "mean": float(v.mean()), "std": float(v.std())}


@dataclass
class BatchNormTrace:
    title: str
    sections: list[Section]
    notes: list[str] = field(default_factory=list)


def _sum_text(values: Sequence[float]) -> str:
    if len(values) <= WRITE_OUT:
        return "(" + " + ".join(fmt_factor(v) for v in values) + ")"
    return f"Σz = {fmt(math.fsum(values), 6)}"


def _sq_text(values: Sequence[float], mean: float) -> str:
    if len(values) <= WRITE_OUT:
        return "(" + " + ".join(f"({fmt(v)} − {fmt_factor(mean)})²" for v in values) + ")"
    return f"Σ(z − μ)² = {fmt(math.fsum((v - mean) ** 2 for v in values), 6)}"


def batchnorm_trace(items: Sequence[np.ndarray], outputs: Sequence[np.ndarray], stats: BatchNormStats,
                    names: Sequence[str], *, max_steps: int = DEFAULT_MAX_STEPS) -> BatchNormTrace:
    """``items``/``outputs``: (H, W, C) arrays in input order; ``names`` label them."""
    sections: list[Section] = []
    budget = max(0, max_steps)
    eps = stats.eps
    shown = 0
    total = sum(int(a.size) for a in items)
    for b in stats.batches:
        for c in range(stats.channels):
            span = f"input {b.start + 1}" if b.stop - b.start == 1 else f"inputs {b.start + 1}..{b.stop}"
            where = "all inputs" if not stats.training else f"mini-batch {b.index + 1} ({span})"
            sec = Section(f"{where}, channel {c}")
            vals = [float(v) for a in items[b.start:b.stop] for v in a[:, :, c].ravel()]
            n = len(vals)
            if stats.training:
                mu, var = float(b.mean[c]), float(b.var[c])
                sec.lines.append(f"μ = {_sum_text(vals)} / {n} = {fmt(mu, 6)}")
                sec.lines.append(f"σ² = {_sq_text(vals, mu)} / {n} = {fmt(var, 6)}   (biased: normalizes)")
                sec.lines.append(f"σ²·n/(n − 1) = {fmt(var, 6)}·{n}/{n - 1} = {fmt(float(b.var_unbiased[c]), 6)}   "
                                 f"(unbiased: goes into the running variance)")
            else:
                mu, var = float(b.running_mean[c]), float(b.running_var[c])
                sec.lines.append(f"evaluation: E[z] = running_mean = {fmt(mu, 6)}, Var[z] = running_var = {fmt(var, 6)}")
            denom = math.sqrt(var + eps)
            g, be = float(stats.gamma[c]), float(stats.beta[c])
            z = np.concatenate([np.asarray(a[:, :, c], dtype=np.float64).ravel() for a in items[b.start:b.stop]])
            sec.histogram = {"input": histogram(z), "normalized": histogram((z - mu) / denom)}
            for i in range(b.start, b.stop):
                a, o = items[i][:, :, c], outputs[i][:, :, c]
                for (r, col), z in np.ndenumerate(a):
                    if shown >= budget:
                        break
                    zhat = (float(z) - mu) / denom
                    sec.lines.append(
                        f"{names[i]}[{r},{col}]: ẑ = ({fmt(float(z))} − {fmt_factor(mu)}) / √({fmt(var, 6)} + {eps:g}) "
                        f"= {fmt(zhat, 6)};  γ·ẑ + β = {fmt_factor(g)}·{fmt_factor(zhat)} + {fmt_factor(be)} "
                        f"= {fmt(float(o[r, col]), 6)}")
                    shown += 1
            if stats.training:
                m = b.factor
                old_m, old_v = float(b.previous_mean[c]), float(b.previous_var[c])
                sec.lines.append(f"running_mean = (1 − {fmt(m, 6)})·{fmt_factor(old_m)} + {fmt(m, 6)}·{fmt_factor(mu)} "
                                 f"= {fmt(float(b.running_mean[c]), 6)}")
                sec.lines.append(f"running_var = (1 − {fmt(m, 6)})·{fmt_factor(old_v)} + {fmt(m, 6)}·"
                                 f"{fmt_factor(float(b.var_unbiased[c]))} = {fmt(float(b.running_var[c]), 6)}")
            sections.append(sec)
    notes = ["ẑ = (z − μ) / √(σ² + ε), then γ·ẑ + β; running = (1 − momentum)·running + momentum·batch"
             + (" (momentum none: 1/k after the k-th mini-batch)" if stats.momentum is None else "")]
    if total > shown:
        notes.append(f"showing {shown} of {total} values (--max-steps raises the limit)")
    mode = "training" if stats.training else "evaluation (running statistics)"
    return BatchNormTrace(f"bnorm-stats: {mode}, ε = {eps:g}", sections, notes)

