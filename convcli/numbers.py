"""One strict parser for every number a user types: options, chain stages, `shape` layers.

* ASCII digits only (no superscripts, no other scripts' digits, no ``1_000``), one optional sign;
* whole numbers beyond what the kernels can index (|n| > 2**31 − 1) are refused, naming the option,
  before they reach any size arithmetic;
* real numbers must be finite in float32 (``--bias 1e39`` would become inf), and never NaN;
* a number is at most 64 characters long.

Errors are :class:`ParameterError` (exit 2) naming the option. NumPy only; no Typer here.
"""
from __future__ import annotations

import re

from .errors import ParameterError

INT_LIMIT = 2**31 - 1
FLOAT32_MAX = 3.4028234663852886e38
MAX_CHARS = 64

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _shown(text: object) -> str:
    from .safeio import printable

    text = str(text)
    return repr(printable(text if len(text) <= 80 else text[:77] + "..."))


def parse_int(text: object, name: str, *, lo: int = -INT_LIMIT, hi: int = INT_LIMIT) -> int:
    """A whole number from ``lo`` to ``hi`` written in ASCII digits."""
    raw = str(text).strip()
    if len(raw) > MAX_CHARS or not _INT.fullmatch(raw):
        raise ParameterError(f"{name} must be a whole number (ASCII digits), got {_shown(text)}")
    value = int(raw)
    if value < lo or value > hi:
        raise ParameterError(f"{name} must be from {lo} to {hi}, got {_shown(raw)}")
    return value


def parse_float(text: object, name: str, *, lo: float | None = None, hi: float | None = None) -> float:
    """A real number that is finite in float32 (and within ``lo``..``hi`` when given)."""
    raw = str(text).strip()
    if len(raw) > MAX_CHARS or not _FLOAT.fullmatch(raw):
        raise ParameterError(f"{name} must be a number such as 2, -0.5 or 1e-3, got {_shown(text)}")
    value = float(raw)
    if not abs(value) <= FLOAT32_MAX:
        raise ParameterError(f"{name} is too large: {_shown(raw)} is beyond float32's range (±3.4e38)")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"from {lo:g} to {hi:g}" if lo is not None and hi is not None else \
            f"at least {lo:g}" if lo is not None else f"at most {hi:g}"
        raise ParameterError(f"{name} must be {bounds}, got {_shown(raw)}")
    return value


def _split(text: object, name: str, counts: tuple[int, ...], what: str) -> list[str]:
    raw = str(text)
    if len(raw) > MAX_CHARS * 16:
        raise ParameterError(f"{name} is too long ({len(raw):,} characters)")
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) not in counts:
        shape = " or ".join({1: "N", 2: "Y,X", 4: "Y,X,H,W"}.get(c, f"{c} numbers") for c in counts)
        raise ParameterError(f"{name} must be {shape} ({what}), got {_shown(text)}")
    return parts


def parse_ints(text: object, name: str, *, count: tuple[int, ...] = (1, 2), lo: int = -INT_LIMIT,
               hi: int = INT_LIMIT) -> tuple[int, ...]:
    """``N`` or ``Y,X`` (or another count of comma-separated whole numbers)."""
    parts = _split(text, name, count, "whole numbers")
    return tuple(parse_int(p, name, lo=lo, hi=hi) for p in parts)


def parse_pair(text: object, name: str, *, lo: int = -INT_LIMIT, hi: int = INT_LIMIT) -> tuple[int, int]:
    """``N`` (both axes) or ``Y,X``."""
    vals = parse_ints(text, name, lo=lo, hi=hi)
    return (vals[0], vals[0]) if len(vals) == 1 else (vals[0], vals[1])


def parse_floats(text: object, name: str, *, lo: float | None = None, hi: float | None = None,
                 most: int = 4096) -> list[float]:
    """One or more comma-separated real numbers (e.g. one per channel)."""
    raw = str(text)
    parts = raw.split(",")
    if len(parts) > most:
        raise ParameterError(f"{name} takes at most {most} numbers, got {len(parts):,}")
    return [parse_float(p, name, lo=lo, hi=hi) for p in parts]
