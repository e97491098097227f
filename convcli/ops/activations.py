"""Activation functions g and their derivatives g', with PyTorch's definitions and kink conventions.

Every value is computed in float64 inside an elementwise Numba kernel and returned as float32,
so results agree with PyTorch's float32 forward pass and autograd to within a few units in the
last place.

==============  ===========================================  ============================================
name            g(x)                                         g'(x) (PyTorch's choice at a kink)
==============  ===========================================  ============================================
relu            max(0, x)                                    1 if x > 0 else 0       (ReLU'(0) = 0)
leaky-relu      x if x > 0 else α·x        (α = 0.01)        1 if x > 0 else α       (Leaky'(0) = α)
sigmoid         1 / (1 + e^(−x))                             σ(x)·(1 − σ(x))
tanh            tanh(x)                                      1 − tanh²(x)
elu             x if x > 0 else α·(e^x − 1)  (α = 1)         1 if x > 0 else α·e^x   (ELU'(0) = α)
gelu            x·Φ(x) = x/2·(1 + erf(x/√2))  (exact form)   Φ(x) + x·φ(x)
silu            x·σ(x)                                       σ(x)·(1 + x·(1 − σ(x)))
softplus        ln(1 + e^x); x when x > 20  (β=1, thr. 20)   σ(x); 1 when x > 20
==============  ===========================================  ============================================
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np

from .. import _numba_env  # noqa: F401  (sets the Numba cache directory before Numba loads)
from numba import njit

from ..errors import ParameterError
from ._common import as_rows, check_real, parse_word, widen_range
from ._paths import Option, choose
from .sinks import Values, sink_or_values

FUNCTIONS = ("relu", "leaky-relu", "sigmoid", "tanh", "elu", "gelu", "silu", "softplus")
_CODES = {name: i for i, name in enumerate(FUNCTIONS)}
_ALIASES = {"leaky_relu": "leaky-relu", "leakyrelu": "leaky-relu", "leaky": "leaky-relu", "swish": "silu"}
DEFAULT_ALPHA = {"leaky-relu": 0.01, "elu": 1.0}
SATURATION_THRESHOLD = 0.01     # |g'(x)| below this (with a non-zero output) counts as saturated
SOFTPLUS_THRESHOLD = 20.0       # PyTorch's softplus(beta=1, threshold=20): above it g(x) = x
# the range of the bounded functions: their images always use it, so the squashing stays visible
BOUNDED_RANGE = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@njit(cache=True)
def _sigmoid(x):  # pragma: no cover - compiled
    # stable on both sides: never exp of a large positive number
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(cache=True)
def _one(code, x, alpha):  # pragma: no cover - compiled
    """(g(x), g'(x)) in float64 for the function numbered ``code`` (an index into FUNCTIONS)."""
    if code == 0:                       # relu
        if x > 0.0:
            return x, 1.0
        return 0.0, 0.0
    if code == 1:                       # leaky-relu
        if x > 0.0:
            return x, 1.0
        return alpha * x, alpha
    if code == 2:                       # sigmoid
        s = _sigmoid(x)
        return s, s * (1.0 - s)
    if code == 3:                       # tanh
        t = math.tanh(x)
        return t, 1.0 - t * t
    if code == 4:                       # elu
        if x > 0.0:
            return x, 1.0
        return alpha * math.expm1(x), alpha * math.exp(x)
    if code == 5:                       # gelu (exact, erf form: PyTorch's approximate='none')
        cdf = 0.5 * (1.0 + math.erf(x * 0.7071067811865476))
        pdf = math.exp(-0.5 * x * x) * 0.3989422804014327
        return x * cdf, cdf + x * pdf
    if code == 6:                       # silu
        s = _sigmoid(x)
        return x * s, s * (1.0 + x * (1.0 - s))
    # softplus, beta = 1, threshold = 20
    if x > SOFTPLUS_THRESHOLD:
        return x, 1.0
    if x > 0.0:
        y = x + math.log1p(math.exp(-x))
    else:
        y = math.log1p(math.exp(x))
    return y, _sigmoid(x)


@njit(cache=True)
def _nan_grad(code, alpha):  # pragma: no cover - compiled
    """g'(NaN) as PyTorch's autograd gives it: its backward kernels test x > 0 (or relu's output
    <= 0), a comparison NaN fails, so relu and elu pass the gradient (1) and leaky-relu scales it
    by α; the smooth functions compute with the NaN and give NaN."""
    if code == 0 or code == 4:          # relu, elu
        return 1.0
    if code == 1:                       # leaky-relu
        return alpha
    return np.nan


@njit(cache=True, nogil=True)
def _activate_rows(x, code, alpha, which, grads, row0, r0, r1, out):  # pragma: no cover - compiled
    """Rows r0..r1 of a 2-D float32 array: out = g(x) (``which`` 0), g'(x) (1), or g(x) with g'(x)
    into ``grads`` (2); out's and grads' row 0 is row ``row0``. g(NaN) is NaN, g'(NaN) as PyTorch."""
    cols = x.shape[1]
    for r in range(r0, r1):
        src = x[r]
        dst = out[r - row0]
        for t in range(cols):
            v = np.float64(src[t])
            if v != v:
                y, d = v, _nan_grad(code, alpha)
            else:
                y, d = _one(code, v, alpha)
            if which == 1:
                dst[t] = np.float32(d)
            else:
                dst[t] = np.float32(y)
                if which == 2:
                    grads[r - row0, t] = np.float32(d)


# one evaluation of g or g' costs about as much as this many multiply-adds (a transcendental)
_WORK_PER_VALUE = 16


def check_function(fn: str, alpha: float | None = None) -> tuple[str, float]:
    """Resolve a function name (PyTorch-style aliases such as ``leaky_relu`` too) and its α.

    Raises ``ParameterError`` for an unknown name, an α for a function without one, or a non-finite α.
    """
    name = parse_word(fn, FUNCTIONS, _ALIASES)
    if name is None:
        raise ParameterError(f"unknown activation {fn!r}; choose one of {', '.join(FUNCTIONS)}")
    if alpha is None:
        return name, DEFAULT_ALPHA.get(name, 0.0)
    if name not in DEFAULT_ALPHA:
        raise ParameterError(f"alpha applies to leaky-relu (negative slope) and elu only, not {name}")
    a = float(alpha)
    if not math.isfinite(a):
        raise ParameterError(f"alpha must be finite, got {alpha!r}")
    return name, a


def _as_float32(x) -> np.ndarray:
    arr = np.asarray(x)
    check_real(arr, "the input")
    out = np.asarray(arr, dtype=np.float32)
    return out if out.flags.c_contiguous else out.copy(order="C")


def evaluate(x, fn: str, *, alpha: float | None = None, value: bool = True,
             gradient: bool = True) -> tuple[np.ndarray | None, np.ndarray | None]:
    """g(x) and g'(x) together, as float32 arrays of x's shape (either can be skipped)."""
    name, a = check_function(fn, alpha)
    arr = _as_float32(x)
    rows = as_rows(arr)
    if not (value or gradient) or rows.size == 0:
        empty = np.empty(arr.shape, dtype=np.float32)
        return (empty if value else None), (empty.copy() if gradient else None)
    which = 2 if value and gradient else (0 if value else 1)
    grads = np.empty(rows.shape if which == 2 else (1, 1), dtype=np.float32)
    fill = partial(_activate_rows, rows, _CODES[name], float(a), which, grads)
    out = Values().rows(fill, rows.shape[0], rows.shape[1], rows.size * _WORK_PER_VALUE * (1 + (which == 2)))
    first = out.reshape(arr.shape)
    if which == 2:
        return first, grads.reshape(arr.shape)
    return (first, None) if value else (None, first)


@dataclass(frozen=True)
class ActivationPlan:
    """A checked activation: the function, its α (0 where it has none) and the path that runs."""

    fn: str
    alpha: float
    path: str = "rows"


def plan_activation(fn: str, alpha: float | None = None, *, path: str | None = None) -> ActivationPlan:
    """Check the function and α; ``path`` (or CONVCLI_ACTIVATION_PATH) may name the one path,
    ``rows``: the elementwise kernel over the input's rows, row-local."""
    name, a = check_function(fn, alpha)
    return ActivationPlan(name, float(a), choose("activation", [Option("rows")], path))


def run_activation(arr, fn, *, alpha: float | None = None, sink=None) -> np.ndarray:
    """g(x) into ``sink`` (None: float32 values; :class:`~convcli.ops.sinks.Pixels`: pixels made
    strip by strip), the shape of ``arr``. ``fn`` is a function name or an :class:`ActivationPlan`."""
    plan = fn if isinstance(fn, ActivationPlan) else plan_activation(fn, alpha)
    x = _as_float32(arr)
    rows = as_rows(x)
    fill = partial(_activate_rows, rows, _CODES[plan.fn], plan.alpha, 0, np.empty((1, 1), dtype=np.float32))
    out = sink_or_values(sink).rows(fill, rows.shape[0], rows.shape[1], rows.size * _WORK_PER_VALUE)
    return out.reshape(x.shape)


def activate(x, fn: str, *, alpha: float | None = None, derivative: bool = False) -> np.ndarray:
    """Apply an activation function elementwise, exactly as PyTorch does.

    Parameters
    ----------
    x : array_like
        Any shape; raw numbers (map image pixels to an input range first).
    fn : {"relu", "leaky-relu", "sigmoid", "tanh", "elu", "gelu", "silu", "softplus"}
        ``leaky_relu`` and ``swish`` are accepted as aliases.
    alpha : float, optional
        Leaky ReLU's negative slope (default 0.01) or ELU's α (default 1). An error for the others.
    derivative : bool
        Return g'(x) instead of g(x), what autograd gives for ``g(x).sum().backward()``: at the kinks
        ReLU'(0) = 0, LeakyReLU'(0) = α, ELU'(0) = α.

    Returns
    -------
    numpy.ndarray of float32, the shape of ``x``.

    Examples
    --------
    >>> activate([-2.0, 0.0, 3.0], "relu").tolist()
    [0.0, 0.0, 3.0]
    >>> activate([-2.0, 0.0, 3.0], "leaky-relu", alpha=0.1, derivative=True).tolist()
    [0.10000000149011612, 0.10000000149011612, 1.0]
    """
    y, d = evaluate(x, fn, alpha=alpha, value=not derivative, gradient=derivative)
    return d if derivative else y


# ------------------------------------------------------------------------------------ the report

@dataclass(frozen=True)
class ActivationStats:
    """What a run of an activation did to its input."""

    fn: str
    alpha: float | None
    derivative: bool
    count: int
    min: float
    max: float
    mean: float
    gradient_min: float
    gradient_max: float
    gradient_mean: float
    dead: int                  # g(x) = 0 and g'(x) = 0: the unit passes nothing back (dying ReLU)
    saturated: int             # |g'(x)| < 0.01 but not dead: a vanishing gradient

    @property
    def dead_fraction(self) -> float:
        return self.dead / self.count if self.count else 0.0

    @property
    def saturated_fraction(self) -> float:
        return self.saturated / self.count if self.count else 0.0

    def as_dict(self) -> dict:
        return {"fn": self.fn, "alpha": self.alpha, "derivative": self.derivative, "count": self.count,
                "output": {"min": self.min, "max": self.max, "mean": self.mean},
                "gradient": {"min": self.gradient_min, "max": self.gradient_max, "mean": self.gradient_mean},
                "dead": self.dead, "dead_fraction": self.dead_fraction,
                "saturated": self.saturated, "saturated_fraction": self.saturated_fraction,
                "saturation_threshold": SATURATION_THRESHOLD}


def classify(y: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (dead, saturated): dead = g(x) = 0 and g'(x) = 0; saturated = |g'(x)| < 0.01
    and not dead. The rule is the same for every function: ReLU's negative side is dead, sigmoid's
    and tanh's tails are saturated, and so are ELU's, GELU's, SiLU's and softplus' negative tails."""
    dead = (y == 0) & (d == 0)
    saturated = (np.abs(d) < SATURATION_THRESHOLD) & ~dead
    return dead, saturated


def _finite_stats(a: np.ndarray) -> tuple[float, float, float]:
    f = a[np.isfinite(a)]
    if f.size == 0:
        return math.nan, math.nan, math.nan
    return float(f.min()), float(f.max()), float(f.astype(np.float64).mean())


def activation_stats(y: np.ndarray, d: np.ndarray, fn: str, alpha: float | None, derivative: bool) -> ActivationStats:
    """Summarise g(x) (``y``) and g'(x) (``d``): ranges over the finite values, dead and saturated counts."""
    name, a = check_function(fn, alpha)
    dead, saturated = classify(y, d)
    lo, hi, mean = _finite_stats(y)
    glo, ghi, gmean = _finite_stats(d)
    return ActivationStats(name, a if name in DEFAULT_ALPHA else None, derivative, int(y.size), lo, hi, mean,
                           glo, ghi, gmean, int(dead.sum()), int(saturated.sum()))


# ----------------------------------------------------------------------------- images and ranges

def parse_range(text: str, name: str) -> tuple[float, float]:
    """``"LO,HI"`` -> (LO, HI), both finite and LO < HI."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        lo, hi = (float(parts[0]), float(parts[1])) if len(parts) == 2 else (math.nan, math.nan)
    except ValueError:
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ParameterError(f"{name} must be LO,HI (two finite numbers), got {text!r}")
    if lo >= hi:
        raise ParameterError(f"{name} needs LO < HI, got {text!r}")
    return lo, hi


def pixels_to_inputs(pixels: np.ndarray, maxval: float, input_range: tuple[float, float]) -> np.ndarray:
    """Map 0..maxval linearly onto LO..HI (float32): x = LO + (HI − LO)·p / maxval."""
    lo, hi = input_range
    return (lo + (hi - lo) * (np.asarray(pixels, dtype=np.float64) / maxval)).astype(np.float32)


def display_range(fn: str, alpha: float | None, input_range: tuple[float, float],
                  derivative: bool) -> tuple[float, float]:
    """The values that become black and white when a result is written as an image.

    g: sigmoid 0..1 and tanh −1..1 (their whole range, so the squashing is visible); the others
    min..max of g over the input range (ReLU on [−1, 1]: 0..1). g': 0..max of g' over the input
    range (down to its minimum where that is negative, as for GELU and SiLU).
    """
    name, a = check_function(fn, alpha)
    if not derivative and name in BOUNDED_RANGE:
        return BOUNDED_RANGE[name]
    lo, hi = input_range
    xs = np.linspace(lo, hi, 4097)
    # the extremes of GELU/SiLU and their derivatives lie inside; the dense grid finds them closely enough
    y, d = evaluate(xs, name, alpha=a if name in DEFAULT_ALPHA else None)
    vals = (d if derivative else y).astype(np.float64)
    vlo, vhi = float(vals.min()), float(vals.max())
    if derivative:
        vlo = min(vlo, 0.0)
    return vlo, widen_range(vlo, vhi)


def to_pixels(values: np.ndarray, value_range: tuple[float, float], maxval: float) -> np.ndarray:
    """Map lo..hi linearly onto 0..maxval (float32; the writer rounds and clips)."""
    lo, hi = value_range
    hi = widen_range(lo, hi)
    return ((np.asarray(values, dtype=np.float64) - lo) * (maxval / (hi - lo))).astype(np.float32)


def curve(fn: str, alpha: float | None, plot_range: tuple[float, float], samples: int) -> tuple[np.ndarray, ...]:
    """x, g(x), g'(x) at ``samples`` evenly spaced points of ``plot_range`` (for plotting)."""
    name, a = check_function(fn, alpha)
    xs = np.linspace(plot_range[0], plot_range[1], samples).astype(np.float32)
    y, d = evaluate(xs, name, alpha=a if name in DEFAULT_ALPHA else None)
    return xs, y, d
