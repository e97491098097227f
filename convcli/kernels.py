"""Named filters and the parsing of kernel specs (``-k/--kernel``).

A spec is one of:

* a name, optionally with parameters after a colon: ``sobel-x``, ``box:5``, ``gaussian:7,1.5``;
* an inline matrix, rows separated by ``;`` and values by ``,`` or spaces: ``"1,0,-1;1,0,-1;1,0,-1"``;
* a file: ``.npy`` (2-D kernel, or 4-D PyTorch weight), ``.csv`` or ``.txt`` (2-D), read by
  :mod:`convcli.matrices` (NumPy only: kernels never need Pillow).

Kernels are ``float32``. Sign conventions follow OpenCV and scikit-image: ``sobel-x`` is
positive where the image gets brighter from left to right. The slides' ``vertical-edge``
(rows ``1 0 -1``) is the opposite sign: bright-to-dark from left to right gives a positive result.
"""
from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import InputError, ParameterError
from .matrices import NUMBER, load_matrix_file, parse_matrix_text

MAX_KERNEL_SIDE = 1025

IDENTITY = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32)
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32)
LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32)
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
SOBEL_Y = SOBEL_X.T.copy()
SCHARR_X = np.array([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]], dtype=np.float32)
SCHARR_Y = SCHARR_X.T.copy()
PREWITT_X = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=np.float32)
PREWITT_Y = PREWITT_X.T.copy()
EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float32)
VERTICAL_EDGE = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float32)
HORIZONTAL_EDGE = VERTICAL_EDGE.T.copy()


def _odd_size(value: float, name: str) -> int:
    if not float(value).is_integer() or value < 1:
        raise ParameterError(f"{name} size must be a positive whole number, got {value:g}")
    size = int(value)
    if size > MAX_KERNEL_SIDE:
        raise ParameterError(f"{name} size {size} is larger than the limit of {MAX_KERNEL_SIDE}")
    return size


def identity_kernel(size: float = 3) -> np.ndarray:
    n = _odd_size(size, "identity")
    if n % 2 == 0:
        raise ParameterError(f"identity size must be odd (it needs a centre), got {n}")
    k = np.zeros((n, n), dtype=np.float32)
    k[n // 2, n // 2] = 1.0
    return k


def box_kernel(size: float = 3) -> np.ndarray:
    n = _odd_size(size, "box")
    return np.full((n, n), 1.0 / (n * n), dtype=np.float32)


def gaussian_kernel(size: float = 5, sigma: float | None = None) -> np.ndarray:
    """Normalised Gaussian; without sigma, OpenCV's rule sigma = 0.3·((size − 1)/2 − 1) + 0.8."""
    n = _odd_size(size, "gaussian")
    if sigma is None:
        sigma = 0.3 * ((n - 1) * 0.5 - 1) + 0.8
    if not (sigma > 0 and math.isfinite(sigma)):
        raise ParameterError(f"gaussian sigma must be a positive number, got {sigma:g}")
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    g /= g.sum()
    return np.outer(g, g).astype(np.float32)


@dataclass(frozen=True)
class NamedKernel:
    name: str
    summary: str
    make: Callable[..., np.ndarray]
    params: str = ""           # how to pass parameters, e.g. "SIZE[,SIGMA]"
    max_params: int = 0


def _const(array: np.ndarray) -> Callable[[], np.ndarray]:
    return lambda: array.copy()


NAMED_KERNELS: dict[str, NamedKernel] = {k.name: k for k in [
    NamedKernel("identity", "leaves the image as it is (a 1 in the centre)", identity_kernel, "SIZE (odd, default 3)", 1),
    NamedKernel("box", "mean of the window: a blur", box_kernel, "SIZE (default 3)", 1),
    NamedKernel("gaussian", "Gaussian blur, weights summing to 1", gaussian_kernel,
                "SIZE[,SIGMA] (default 5; sigma by OpenCV's rule from the size)", 2),
    NamedKernel("sharpen", "centre minus its four neighbours, plus itself", _const(SHARPEN)),
    NamedKernel("laplacian", "second derivative: edges in every direction", _const(LAPLACIAN)),
    NamedKernel("sobel-x", "horizontal gradient (vertical edges), positive dark→bright", _const(SOBEL_X)),
    NamedKernel("sobel-y", "vertical gradient (horizontal edges), positive dark→bright downward", _const(SOBEL_Y)),
    NamedKernel("scharr-x", "horizontal gradient, more rotation-invariant than Sobel", _const(SCHARR_X)),
    NamedKernel("scharr-y", "vertical gradient, more rotation-invariant than Sobel", _const(SCHARR_Y)),
    NamedKernel("prewitt-x", "horizontal gradient with flat weights", _const(PREWITT_X)),
    NamedKernel("prewitt-y", "vertical gradient with flat weights", _const(PREWITT_Y)),
    NamedKernel("emboss", "relief effect (weights sum to 1)", _const(EMBOSS)),
    NamedKernel("vertical-edge", "the slides' filter: rows 1 0 -1, bright-to-dark edges give > 0", _const(VERTICAL_EDGE)),
    NamedKernel("horizontal-edge", "the slides' filter turned: columns 1 0 -1", _const(HORIZONTAL_EDGE)),
]}

def _parse_named(spec: str) -> np.ndarray | None:
    name, _, args = spec.partition(":")
    entry = NAMED_KERNELS.get(name.strip().lower())
    if entry is None:
        return None
    values: list[float] = []
    if args.strip():
        for tok in args.split(","):
            tok = tok.strip()
            if not NUMBER.match(tok):
                raise ParameterError(f"kernel {entry.name}: parameter {tok!r} is not a number")
            values.append(float(tok))
    if len(values) > entry.max_params:
        if entry.max_params == 0:
            raise ParameterError(f"kernel {entry.name} takes no parameters")
        raise ParameterError(f"kernel {entry.name} takes at most {entry.max_params} parameter(s): {entry.params}")
    return entry.make(*values)


def load_kernel_file(path: str) -> np.ndarray:
    """A kernel from a .npy/.csv/.txt file (NumPy only, read with the input cap); a bad file is a
    bad parameter."""
    try:
        arr = load_matrix_file(path, what="kernel file", max_side=MAX_KERNEL_SIDE)
    except InputError as exc:
        raise ParameterError(str(exc)) from None
    return arr


def parse_kernel(spec: str | np.ndarray) -> np.ndarray:
    """Turn a kernel spec (name, inline matrix, file path) or an array into a checked float32 array.

    Returns a 2-D array (kh, kw) or a 4-D array (the PyTorch weight layout as given).
    """
    if isinstance(spec, np.ndarray) or not isinstance(spec, str):
        arr = np.asarray(spec)
        source = "kernel"
    else:
        text = spec.strip()
        if not text:
            raise ParameterError("kernel spec is empty")
        named = _parse_named(text)
        if named is not None:
            arr, source = named, f"kernel {text}"
        elif os.path.splitext(text)[1].lower() in (".npy", ".csv", ".txt") or os.path.exists(text):
            if not os.path.exists(text):
                raise ParameterError(f"kernel file not found: {text}")
            arr, source = load_kernel_file(text), f"kernel file {text}"
        elif re.search(r"\d", text) and not _NAME_LIKE.match(text):
            try:
                arr = parse_matrix_text(text, "kernel")
            except InputError as exc:
                raise ParameterError(str(exc)) from None
            source = "kernel"
        else:
            raise unknown_kernel(text)
    return check_kernel(arr, source)


# a word first (gausian:5, sobel): meant as a name, never an inline matrix (those start with a number)
_NAME_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(:.*)?$")


def did_you_mean(word: str, choices: list[str]) -> list[str]:
    """The choices ``word`` most likely meant: those it is a dash-separated part of (``sobel`` ->
    ``sobel-x``, ``sobel-y``), else the close spellings (``gausian`` -> ``gaussian``)."""
    word = word.strip().lower()
    if len(word) >= 3:
        parts = [c for c in choices if word in c.split("-")]
        if parts:
            return parts
    return difflib.get_close_matches(word, choices, n=3, cutoff=0.6)


def unknown_kernel(spec: str) -> ParameterError:
    """``unknown kernel 'gausian'; did you mean gaussian?``, with the names when nothing is close."""
    name = spec.partition(":")[0].strip()
    hints = did_you_mean(name, list(NAMED_KERNELS))
    if hints:
        return ParameterError(f"unknown kernel {name!r}; did you mean {' / '.join(hints)}? "
                              f"(`convcli kernels` lists the names)")
    return ParameterError(f"unknown kernel {name!r}; `convcli kernels` lists the names "
                          f"({', '.join(NAMED_KERNELS)})")


def check_kernel(arr: np.ndarray, source: str = "kernel") -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise ParameterError(f"{source} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim not in (2, 4):
        raise ParameterError(
            f"{source} must be 2-D (kh, kw) or a 4-D PyTorch weight, got {arr.ndim}-D shape {arr.shape}")
    if arr.size == 0:
        raise ParameterError(f"{source} is empty (shape {arr.shape})")
    if max(arr.shape[-2:]) > MAX_KERNEL_SIDE:
        raise ParameterError(f"{source} is {arr.shape[-2]}×{arr.shape[-1]}; the limit is {MAX_KERNEL_SIDE} per side")
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{source} contains NaN or infinity")
    return np.ascontiguousarray(arr)
