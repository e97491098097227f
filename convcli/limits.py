"""Size limits for inputs and results, in the spirit of Pillow's decompression-bomb guard.

The default pixel limit is Pillow's (89,478,485 pixels, about 9459×9459). Raise it with
``--max-pixels`` on the command line, the ``CONVCLI_MAX_PIXELS`` environment variable, or
``convcli.limits.set_max_pixels`` from Python.
"""
from __future__ import annotations

import os
from contextvars import ContextVar

from .errors import LimitError, ParameterError

DEFAULT_MAX_PIXELS = 89_478_485
# every result and intermediate buffer may hold at most this many values per pixel of the limit:
# an RGBA image at the pixel limit fits, a 300000-channel feature map of 100×100 does not
VALUES_PER_PIXEL = 4
ENV = "CONVCLI_MAX_PIXELS"
_LARGEST = 2**62


def from_env() -> int | None:
    """The limit ``CONVCLI_MAX_PIXELS`` sets, None when unset or empty. A value that is not a whole
    number from 1 to 2**62 in ASCII digits is refused: a limit must never fail open."""
    raw = os.environ.get(ENV)
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= _LARGEST:
        from .safeio import printable

        raise ParameterError(f"{ENV} must be a whole number of pixels from 1 to {_LARGEST}, got {printable(raw)!r}")
    return int(text)


# The limit set by --max-pixels / set_max_pixels (None: the environment's or the default). A context
# variable, not a module global: each CLI run works in its own context (and the batch's I/O threads
# in copies of it), so a run's limit goes with the run, and two runs in one process never see each
# other's. A thread started without a copy of the context sees None: the environment's or the default.
_MAX_PIXELS: ContextVar[int | None] = ContextVar("convcli_max_pixels", default=None)


def override() -> int | None:
    """The limit set by --max-pixels / set_max_pixels (None: the environment's or the default)."""
    return _MAX_PIXELS.get()


def max_pixels() -> int:
    value = _MAX_PIXELS.get()
    if value is not None:
        return value
    return from_env() or DEFAULT_MAX_PIXELS


def set_max_pixels(value: int | None) -> None:
    """Set the limit for this context (None: back to CONVCLI_MAX_PIXELS or the default)."""
    if value is not None and not 1 <= int(value) <= _LARGEST:
        raise ParameterError(f"the pixel limit must be from 1 to {_LARGEST}, got {value}")
    _MAX_PIXELS.set(None if value is None else int(value))


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def check_pixels(height: int, width: int, channels: int = 1, *, what: str = "result") -> None:
    """Refuse (before allocating) a ``what`` of height×width pixels over the limit, or of
    channels×height×width values over ``VALUES_PER_PIXEL`` times the limit."""
    limit = max_pixels()
    pixels = int(height) * int(width)
    values = pixels * max(1, int(channels))
    if pixels <= limit and values <= VALUES_PER_PIXEL * limit:
        return                     # the common case, on every plan: no message to build
    need = human_bytes(values * 4)
    if pixels > limit:
        raise LimitError(
            f"{what} would be {height}×{width} = {pixels:,} pixels ({need} as float32), over the limit of "
            f"{limit:,} pixels; raise it with --max-pixels if you mean it")
    if values > VALUES_PER_PIXEL * limit:
        raise LimitError(
            f"{what} would be {int(channels):,} channels × {height}×{width} = {values:,} values ({need} as "
            f"float32), over the limit of {VALUES_PER_PIXEL * limit:,} values ({VALUES_PER_PIXEL} per pixel of "
            f"the {limit:,}-pixel limit); raise it with --max-pixels if you mean it")
