"""Shared checks and layout helpers for the ops."""
from __future__ import annotations

import numpy as np

from ..errors import InputError, ParameterError

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
# numpy.pad's names for PyTorch's padding modes
_NP_PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def check_real(arr: np.ndarray, name: str) -> None:
    """InputError unless ``arr`` holds real numbers (bool, integers or floats)."""
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise InputError(f"{name} must hold real numbers, got dtype {arr.dtype}")


def parse_word(value, words: tuple[str, ...], aliases: dict[str, str] | None = None) -> str | None:
    """``value`` stripped and lower-cased, an alias replaced by its word: one of ``words``, or None
    (the caller raises its own message)."""
    word = str(value).strip().lower()
    word = (aliases or {}).get(word, word)
    return word if word in words else None


def as_float_image(image, name: str = "image") -> np.ndarray:
    """Check an (H, W) or (H, W, C) real array and return it as float32 (H, W, C) plus whether it was 2-D."""
    arr = np.asarray(image)
    check_real(arr, name)
    if arr.ndim not in (2, 3):
        raise InputError(f"{name} must be 2-dimensional (H, W) or 3-dimensional (H, W, C), got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape})")
    return arr.astype(np.float32, copy=False)


def to_planes(arr: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) -> contiguous (C, H, W) float32."""
    if arr.ndim == 2:
        return np.ascontiguousarray(arr[None, :, :], dtype=np.float32)
    return np.ascontiguousarray(np.moveaxis(arr, 2, 0), dtype=np.float32)


def from_planes(planes: np.ndarray, two_d: bool) -> np.ndarray:
    """(C, H, W) -> (H, W) when the input was 2-D and C == 1, else (H, W, C)."""
    if two_d and planes.shape[0] == 1:
        return np.ascontiguousarray(planes[0])
    return np.ascontiguousarray(np.moveaxis(planes, 0, 2))


def check_padding_mode(mode: str) -> str:
    m = parse_word(mode, PADDING_MODES, {"zero": "zeros", "constant": "zeros"})
    if m is None:
        raise ParameterError(f"padding mode must be one of {', '.join(PADDING_MODES)}, got {mode!r}")
    return m


def pad_planes(planes: np.ndarray, pad: tuple[int, int, int, int], mode: str) -> np.ndarray:
    """Pad (C, H, W) planes by (top, bottom, left, right) with PyTorch's meaning of ``mode``."""
    check_padding_fits(planes.shape[1], planes.shape[2], pad, mode)
    if not any(pad):
        return planes
    top, bottom, left, right = pad
    return np.pad(planes, ((0, 0), (top, bottom), (left, right)), mode=_NP_PAD[mode])


def check_padding_fits(h: int, w: int, pad: tuple[int, int, int, int], mode: str) -> None:
    """PyTorch's limits: reflect padding smaller than the input, circular wrapping at most once."""
    top, bottom, left, right = pad
    if mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
        raise ParameterError(
            f"reflect padding must be smaller than the input: padding ({top},{bottom},{left},{right}) "
            f"on a {h}×{w} input (PyTorch's rule)")
    if mode == "circular" and (max(top, bottom) > h or max(left, right) > w):
        raise ParameterError(
            f"circular padding can wrap around at most once: padding ({top},{bottom},{left},{right}) "
            f"on a {h}×{w} input")


def widen_range(lo: float, hi: float) -> float:
    """``hi``, or a value above ``lo`` when lo..hi is empty: a constant result (0, or 1e20, where
    lo + 1 == lo) must not divide by zero when lo..hi is stretched onto the pixel range."""
    if hi - lo < 1e-12 * max(1.0, abs(lo)) or not hi > lo:
        hi = lo + max(1.0, abs(lo) * 1e-6)
    return hi


def as_rows(arr: np.ndarray) -> np.ndarray:
    """A C-contiguous array of any shape as 2-D rows (its first axis; a 0-D, 1-D or empty array is one row)."""
    if arr.size == 0:
        return arr.reshape(1, 0)
    return arr.reshape(arr.shape[0], -1) if arr.ndim >= 2 else arr.reshape(1, -1)


def interleaved_rows(arr: np.ndarray, *, keep_uint8: bool = False) -> tuple[np.ndarray, int]:
    """(rows, C): an (H, W) or (H, W, C) array as contiguous channel-interleaved rows (H, W·C),
    float32 (uint8 kept as it is with ``keep_uint8``). C comes from the array, not a plan: one
    plan may serve the colour and the alpha."""
    nc = arr.shape[2] if arr.ndim == 3 else 1
    if not (keep_uint8 and arr.dtype == np.uint8):
        arr = arr.astype(np.float32, copy=False)
    return np.ascontiguousarray(arr).reshape(arr.shape[0], arr.shape[1] * nc), nc


def from_rows(out: np.ndarray, two_d: bool, nc: int) -> np.ndarray:
    """Interleaved result rows (H', W'·C) (values or pixels) back to (H', W') or (H', W', C)."""
    return out if two_d else out.reshape(out.shape[0], out.shape[1] // nc, nc)
