"""Bounded reads, and the text rules for what convcli prints about files.

Everything convcli reads from a file it did not decode with Pillow (stdin, matrices, kernels,
stats and pipeline files) goes through :func:`read_bounded`: the cap is known before the first
byte is read, FIFOs and devices are read the same way as regular files (up to the cap, never to
the end of /dev/zero), and directories are refused. No Pillow, Rich or Typer here.
"""
from __future__ import annotations

import os
import stat
import warnings

from .errors import ConvcliWarning, InputError, LimitError

_CONTROL = {i: f"\\x{i:02x}" for i in range(32)} | {0x7F: "\\x7f", ord("\n"): "\\n", ord("\r"): "\\r",
                                                   ord("\t"): "\\t"}
_CONTROL.update({c: f"\\u{c:04x}" for c in range(0x80, 0xA0)})
_CONTROL.update({c: f"\\u{c:04x}" for c in (0x2028, 0x2029)})


def printable(text: object) -> str:
    """``text`` with control characters shown as escapes, so a message stays one line and a file
    name cannot move the cursor, clear the screen or forge a second ``convcli: error:`` line."""
    return str(text).translate(_CONTROL)


def warn(message: str) -> None:
    """A lossy read or write: the CLI prints ``convcli: warning: <message>``, one line on stderr;
    a Python caller sees an ordinary :class:`ConvcliWarning`."""
    warnings.warn(printable(message), ConvcliWarning, stacklevel=2)


def read_bounded(path: str, cap: int, *, what: str = "file", fileobj=None) -> bytes:
    """Read at most ``cap`` bytes of ``path`` (or of the binary ``fileobj``, e.g. stdin).

    Regular files are checked by size before reading; FIFOs, character devices and sockets are
    read in chunks and refused as soon as they pass the cap. Errors are :class:`InputError`
    (unreadable) or :class:`LimitError` (over the cap), naming ``path``.
    """
    name = printable(path)
    if fileobj is None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise InputError(f"{name}: no such file") from None
        except OSError as exc:
            raise InputError(f"{name}: cannot read {what} ({exc.strerror or exc})") from None
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{name}: is a directory, not a file")
        if stat.S_ISREG(st.st_mode) and st.st_size > cap:
            raise LimitError(f"{name}: {what} is {st.st_size:,} bytes, over the limit of {cap:,} bytes")
        try:
            fh = open(path, "rb", buffering=0)
        except OSError as exc:
            raise InputError(f"{name}: cannot read {what} ({exc.strerror or exc})") from None
        with fh:
            return _read_capped(fh, cap, name, what)
    return _read_capped(fileobj, cap, name, what)


def _read_capped(fh, cap: int, name: str, what: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            chunk = fh.read(min(1 << 20, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise LimitError(f"{name}: {what} is more than {cap:,} bytes, over the limit; refusing to read on")
    except OSError as exc:
        raise InputError(f"{name}: cannot read {what} ({exc.strerror or exc})") from None
    return b"".join(chunks)
