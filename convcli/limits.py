"""Size limits for inputs and results, in the spirit of Pillow's decompression-bomb guard.

The default pixel limit is Pillow's (89,478,485 pixels, about 9459×9459). Raise it with
``--max-pixels`` on the command line, the ``CONVCLI_MAX_PIXELS`` environment variable, or
``convcli.limits.set_max_pixels`` from Python.
"""
from __future__ import annotations

import os

from .errors import LimitError

DEFAULT_MAX_PIXELS = 89_478_485


def _from_env() -> int:
    raw = os.environ.get("CONVCLI_MAX_PIXELS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return DEFAULT_MAX_PIXELS


_max_pixels = _from_env()


def max_pixels() -> int:
    return _max_pixels


def set_max_pixels(value: int) -> None:
    global _max_pixels
    if int(value) < 1:
        raise ValueError("the pixel limit must be at least 1")
    _max_pixels = int(value)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def check_pixels(height: int, width: int, channels: int = 1, *, what: str = "result") -> None:
    """Refuse (before allocating) a ``what`` of height×width pixels over the limit."""
    pixels = int(height) * int(width)
    if pixels > _max_pixels:
        need = human_bytes(pixels * max(1, channels) * 4)
        raise LimitError(
            f"{what} would be {height}×{width} = {pixels:,} pixels ({need} as float32), over the limit of "
            f"{_max_pixels:,} pixels; raise it with --max-pixels if you mean it")
