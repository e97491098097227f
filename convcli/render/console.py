"""Consoles: how convcli's output meets a terminal, a pager or a file.

One policy for every command (README: Pictures and the terminal):

* colour: ``--color always|never`` wins; in ``auto`` mode NO_COLOR (set, not empty) turns colour off,
  then FORCE_COLOR (set, not empty) turns it on even into a pipe (``| less -R``), and otherwise
  colour follows whether the stream is a terminal;
* width: COLUMNS when it is set to a positive number; else the terminal's width; else, piped,
  200 columns (long sums of a trace are not wrapped at 80 into a file);
* no line ends in spaces: Rich pads table cells and pictures to their column widths; the stream
  a console writes to drops those pads (see :class:`TrimmedStream`).

The CLI sets the :class:`TerminalSettings` of a run from its options (:func:`set_terminal`); they are
held in a context variable, so they last as long as the run's context (a run inside a run, such as
the tour's lessons, inherits the outer run's and hands them back).
"""
from __future__ import annotations

import os
import re
import sys
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace

from rich.console import Console

COLOR_MODES = ("auto", "always", "never")
SHOW_PROTOCOLS = ("auto", "kitty", "iterm", "blocks", "ascii")
PIPED_WIDTH = 200


@dataclass(frozen=True)
class TerminalSettings:
    """What the user asked for on the command line (``--color``, ``--show-protocol``)."""

    color: str = "auto"
    show_protocol: str = "auto"


_SETTINGS: ContextVar[TerminalSettings] = ContextVar("convcli_terminal_settings", default=TerminalSettings())


def terminal_settings() -> TerminalSettings:
    """The terminal settings of the current run (the defaults outside any)."""
    return _SETTINGS.get()


def set_terminal(**changes: str) -> Token:
    """Change some of the current run's terminal settings (``color=``, ``show_protocol=``); returns
    the token that :func:`reset_terminal` takes to undo it."""
    return _SETTINGS.set(replace(_SETTINGS.get(), **changes))


def reset_terminal(token: Token) -> None:
    _SETTINGS.reset(token)


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def use_color(stream=None, *, mode: str | None = None, environ=None) -> bool:
    """Whether output to ``stream`` (stdout by default) is coloured.

    Precedence: ``--color always|never`` > NO_COLOR > FORCE_COLOR > is ``stream`` a terminal."""
    mode = terminal_settings().color if mode is None else mode
    if mode == "always":
        return True
    if mode == "never":
        return False
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return _is_tty(sys.stdout if stream is None else stream)


def columns_from_env(environ=None) -> int | None:
    """COLUMNS as a positive whole number, or None when unset or not one."""
    text = (os.environ if environ is None else environ).get("COLUMNS", "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    return None


def make_console(*, stderr: bool = False, color: bool | None = None, width: int | None = None) -> Console:
    """A Console for stdout (or stderr). ``color=None`` follows :func:`use_color`; ``width=None``
    follows COLUMNS, the terminal, or 200 columns when piped."""
    stream = sys.stderr if stderr else sys.stdout
    is_tty = _is_tty(stream)
    if color is None:
        color = use_color(stream)
    if width is None:
        width = columns_from_env() or (None if is_tty else PIPED_WIDTH)
    if not isinstance(stream, TrimmedStream):
        stream = TrimmedStream(stream)
    return Console(file=stream, highlight=False, soft_wrap=False, width=width,
                   color_system=_color_system() if color else None, force_terminal=True if color else is_tty,
                   no_color=not color, emoji=False, legacy_windows=False)


def _color_system() -> str:
    """Rich's colour system for a coloured console, decided the way Rich decides on a terminal
    (COLORTERM, then TERM's suffix), so that a pipe into ``less -R`` gets the same colours; where
    Rich would give up (TERM=dumb) colour was asked for, so the 16 standard colours."""
    if os.environ.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return "truecolor"
    suffix = os.environ.get("TERM", "").strip().lower().rpartition("-")[2]
    return {"kitty": "256", "256color": "256"}.get(suffix, "standard")


# ----------------------------------------------------------------------------- no trailing spaces

_SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def _tail_start(line: str) -> int:
    """Where the run of spaces and SGR codes that ends ``line`` begins (scanned from the end: a
    regular expression searching forwards would be quadratic in a long coloured line)."""
    i = len(line)
    while i > 0:
        if line[i - 1] == " ":
            i -= 1
        elif line[i - 1] == "m":
            j = line.rfind("\x1b[", 0, i)
            if j < 0 or not _SGR.fullmatch(line, j, i):
                break
            i = j
        else:
            break
    return i


_VISIBLE_ON = {7: "reverse", 4: "underline", 21: "underline", 9: "strike", 53: "overline"}
_VISIBLE_OFF = {27: "reverse", 24: "underline", 29: "strike", 55: "overline", 49: "background"}


def _paint(params: str, active: frozenset) -> frozenset:
    """The attributes that make a space visible (background, reverse, underline, strike, overline)
    still on after the SGR parameters ``params``, starting from ``active``."""
    on = set(active)
    codes = re.split(r"[;:]", params) if params else ["0"]
    i = 0
    while i < len(codes):
        code = int(codes[i]) if codes[i].isdigit() else 0
        if code == 0:
            on.clear()
        elif 40 <= code <= 47 or 100 <= code <= 107:
            on.add("background")
        elif code in _VISIBLE_ON:
            on.add(_VISIBLE_ON[code])
        elif code in _VISIBLE_OFF:
            on.discard(_VISIBLE_OFF[code])
        elif code in (38, 48, 58):          # extended colour: skip its arguments
            if code == 48:
                on.add("background")
            kind = codes[i + 1] if i + 1 < len(codes) else ""
            i += 2 if kind == "5" else 4 if kind == "2" else 1
        i += 1
    return frozenset(on)


def strip_line(line: str) -> str:
    """``line`` (one line, no newline) without its trailing spaces: plain spaces, and spaces between
    colour codes that paint nothing there (no background, reverse or underline: invisible); escape codes are kept."""
    if not line.endswith((" ", "m")):
        return line
    start = _tail_start(line)
    if start == len(line):
        return line
    head, rest = line[:start], line[start:]
    if " " not in rest:
        return line
    on = frozenset()
    reset = max(head.rfind("\x1b[0m"), head.rfind("\x1b[m"))    # codes before a reset don't matter
    for m in _SGR.finditer(head, max(reset, 0)):
        on = _paint(m.group(1), on)
    kept = []
    pos = 0
    for m in _SGR.finditer(rest):
        spaces = rest[pos:m.start()]
        if on:
            kept.append(spaces)
        kept.append(m.group())
        on = _paint(m.group(1), on)
        pos = m.end()
    if on:
        kept.append(rest[pos:])
    return head + "".join(kept)


def strip_trailing_spaces(text: str) -> str:
    """Every line of ``text`` through :func:`strip_line`."""
    return "\n".join(strip_line(line) for line in text.split("\n"))


class TrimmedStream:
    """A text stream that drops the spaces ending each line before passing text on.

    Text is passed on line by line as it arrives; what follows the last newline of a write is held
    back until the line ends, or until :meth:`flush` (a prompt without a newline still shows)."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        data = self._pending + text
        cut = data.rfind("\n")
        if cut < 0:
            self._pending = data
            return len(text)
        self._pending = data[cut + 1:]
        self._stream.write(strip_trailing_spaces(data[:cut + 1]))
        return len(text)

    def flush(self) -> None:
        """Pass on the unfinished line, except its trailing spaces: they wait for what follows
        (dropped if that is a newline)."""
        text = self._pending.rstrip(" ")
        if text:
            self._stream.write(text)
        self._pending = self._pending[len(text):]
        self._stream.flush()

    def isatty(self) -> bool:
        return _is_tty(self._stream)

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def raw_stream(self):
        """The stream underneath (pictures write their escape sequences here)."""
        return self._stream

    def __getattr__(self, name):
        return getattr(self._stream, name)
