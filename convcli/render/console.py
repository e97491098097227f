"""Consoles: colour only on a terminal; plain text (no escape codes) when piped."""
from __future__ import annotations

import os
import sys

from rich.console import Console


def make_console(*, stderr: bool = False, color: bool | None = None, width: int | None = None) -> Console:
    """A Console for stdout (or stderr). ``color=None`` decides from the stream (and NO_COLOR)."""
    stream = sys.stderr if stderr else sys.stdout
    is_tty = hasattr(stream, "isatty") and stream.isatty()
    if color is None:
        color = is_tty and not os.environ.get("NO_COLOR")
    if width is None and not is_tty:
        width = 200   # piped: don't wrap long sums at 80 columns
    return Console(file=stream, highlight=False, soft_wrap=False, width=width,
                   color_system="auto" if color else None, force_terminal=bool(color) and not is_tty or None,
                   no_color=not color, emoji=False)
