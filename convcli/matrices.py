"""Matrices: ``.npy``, ``.csv`` and ``.txt`` files, streams and inline text, read with NumPy only.

The ops and the kernel-spec parser need matrices, not pictures, so this module stands below them
and knows nothing of Pillow: images are :mod:`convcli.imageio`'s. Every byte is read through
:mod:`convcli.safeio` with a cap known before the first byte (``input_cap``), a ``.npy`` header
is checked against the limits before its data is read, nothing is ever unpickled, and a text
grid's size is checked before a float is made of any value.
"""
from __future__ import annotations

import codecs
import io
import os
import re
import stat
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import InputError, LimitError
from .limits import check_pixels, max_pixels
from .safeio import open_for_read, read_bounded

BYTES_PER_PIXEL = 16          # four float32 channels: the most an input holds per pixel uncompressed
HEADER_ALLOWANCE = 1 << 20    # room for headers, metadata, comments
PREFIX_BYTES = 64 << 10       # what is read first to tell the kind of a stream

IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*",
               b"II+\x00", b"MM\x00+")
NPY_MAGIC = b"\x93NUMPY"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def input_cap() -> int:
    """The most bytes convcli reads from one stream or matrix file: 16 per pixel of the pixel limit
    (an (H, W, 4) float32 array at the limit) plus 1 MiB for headers. 1.4 GB at the default limit;
    ``--max-pixels`` scales it."""
    return BYTES_PER_PIXEL * max_pixels() + HEADER_ALLOWANCE


def sniff(prefix: bytes) -> str | None:
    """What a stream's first bytes say it is: "npy", "image" (a common image signature), "text",
    or None."""
    if prefix.startswith(NPY_MAGIC):
        return "npy"
    if prefix.startswith(IMAGE_MAGIC) or (prefix[:4] == b"RIFF" and prefix[8:12] == b"WEBP"):
        return "image"
    if prefix.startswith(UTF16_BOMS):
        return "text"
    body = prefix[len(UTF8_BOM):] if prefix.startswith(UTF8_BOM) else prefix
    if b"\x00" in body:
        return None
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
    except UnicodeDecodeError:
        return None
    # a grid starts with a number or a comment; other text (a PPM's "P5" header) is for Pillow to try
    start = text.lstrip()[:1]
    return "text" if not start or start in "0123456789+-.#nNiI" else None


def matrix_kind(path: str) -> str | None:
    """"npy" or "text" by ``path``'s extension, None when the extension says nothing."""
    ext = os.path.splitext(path)[1].lower()
    return "npy" if ext == ".npy" else "text" if ext in (".csv", ".txt") else None


# ---------------------------------------------------------------------------------------- streams

class _Replay:
    """A binary file object that returns ``prefix`` first, then the rest of ``fh``."""

    def __init__(self, prefix: bytes, fh):
        self._prefix, self._fh = prefix, fh

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            chunk = self._prefix if n < 0 else self._prefix[:n]
            self._prefix = self._prefix[len(chunk):]
            return chunk
        return self._fh.read(n)


def _read_prefix(fh, n: int, name: str, what: str) -> bytes:
    chunks, total = [], 0
    try:
        while total < n:
            chunk = fh.read(n - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise InputError(f"{name}: cannot read {what} ({exc.strerror or exc})") from None
    return b"".join(chunks)


def read_stream(fh, name: str, *, what: str, kind: str | None = None, size: int | None = None,
                empty: str = "file is empty",
                sniff_more: Callable[[bytes], str | None] | None = None) -> tuple[str, bytes]:
    """Read a whole stream (stdin, a FIFO, a device, a regular file of ``size`` bytes) with the
    input cap and say what it holds. ``kind`` (from the file's extension) skips the sniffing;
    ``sniff_more`` is asked about first bytes :func:`sniff` does not know (imageio asks Pillow).

    The kind is decided from the first 64 KiB: a stream that starts like nothing convcli reads
    (/dev/zero, random bytes) is refused at once; a .npy header is checked against the limits
    before its data is read.
    """
    cap = input_cap()
    if size is not None and size > cap:
        raise LimitError(f"{name}: {what} is {size:,} bytes, over the limit of {cap:,} bytes "
                         f"(16 per pixel of --max-pixels, plus 1 MiB)")
    prefix = _read_prefix(fh, min(PREFIX_BYTES, cap + 1), name, what)
    if not prefix:
        raise InputError(f"{name}: {empty}")
    found = kind or sniff(prefix) or (sniff_more(prefix) if sniff_more is not None else None)
    if found is None:
        # nothing can decode it, however long it is: read on without keeping it, only to say which
        # it is, over the cap (/dev/zero: exit 6) or a short file of no known kind (exit 3)
        _drain(fh, cap - len(prefix), cap, name, what)
        raise InputError(f"{name}: not an image (PNG, JPEG, TIFF, BMP, WebP, GIF), a .npy array or a text "
                         f"matrix: its first bytes are none of these")
    if found == "npy":
        head = npy_header(prefix, name, what)
        cap = max(cap, head.end)
    try:
        data = read_bounded(name, cap, what=what, fileobj=_Replay(prefix, fh))
    except LimitError as exc:
        raise LimitError(f"{exc} (16 bytes per pixel of --max-pixels, plus 1 MiB)") from None
    return found, data


def _drain(fh, left: int, cap: int, name: str, what: str) -> None:
    """Read ``fh`` to its end and throw the bytes away; LimitError once more than ``left`` came."""
    total = 0
    try:
        while total <= left:
            chunk = fh.read(min(1 << 20, left + 1 - total))
            if not chunk:
                return
            total += len(chunk)
    except OSError as exc:
        raise InputError(f"{name}: cannot read {what} ({exc.strerror or exc})") from None
    raise LimitError(f"{name}: {what} is more than {cap:,} bytes, over the limit; refusing to read on "
                     f"(16 bytes per pixel of --max-pixels, plus 1 MiB)")


def open_input(path: str, what: str):
    """Open ``path`` for reading (any kind of file but a directory, not an empty regular file):
    (file object, stat)."""
    return open_for_read(path, what, allow_empty=False)


def read_path(path: str, *, what: str, kind: str | None = None,
              sniff_more: Callable[[bytes], str | None] | None = None) -> tuple[str, bytes]:
    """Open and read ``path`` whole with the input cap (see :func:`read_stream`)."""
    fh, st = open_input(path, what)
    with fh:
        return read_stream(fh, path, what=what, kind=kind, sniff_more=sniff_more,
                           size=st.st_size if stat.S_ISREG(st.st_mode) else None)


# ---------------------------------------------------------------------------------------- matrices

def load_matrix_file(path: str, what: str = "input", *, max_side: int | None = None,
                     sniff_more: Callable[[bytes], str | None] | None = None) -> np.ndarray:
    """Load a ``.npy`` (never with pickles), ``.csv`` or ``.txt`` file as a float32 array.

    Any kind of file: a FIFO or a device is read the same way as a regular file, with the input
    cap. A file whose extension says nothing is told by its content (.npy magic, else text). A text
    grid is checked against the pixel limit, or against ``max_side`` per side when given (a kernel).
    """
    found, data = read_path(path, what=what, kind=matrix_kind(path), sniff_more=sniff_more)
    if found == "image":
        raise InputError(f"{path}: {what} is an image, not a matrix (.npy, .csv or .txt)")
    return matrix_from_bytes(data, found, path, what, max_side=max_side)


def matrix_from_bytes(data: bytes, kind: str, name: str, what: str = "input", *,
                      max_side: int | None = None) -> np.ndarray:
    """A .npy (``kind`` "npy") or text grid ("text") held in ``data``, as a float32 array."""
    if kind == "npy":
        return _npy_from_bytes(data, name, what)
    return _text_matrix(data, name, what, max_side)


def _text_matrix(data: bytes, name: str, what: str, max_side: int | None) -> np.ndarray:
    """A text grid: UTF-8 (a spreadsheet's byte-order mark is skipped) or UTF-16 with its BOM."""
    try:
        if data.startswith(UTF16_BOMS):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name}: {what} is not a text file of numbers") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]

    def check_size(rows: int, cols: int) -> None:
        # before a float is made of any value: a 1 GB grid costs 30 s and GBs of Python floats
        if max_side is None:
            check_pixels(rows, cols, 1, what=f"{name}: input")
        elif max(rows, cols) > max_side:
            raise InputError(f"{name}: {what} is {rows}×{cols}; the limit is {max_side} per side")

    return parse_matrix_text("\n".join(lines), f"{name}", allow_nonfinite=True, check_size=check_size)


def parse_matrix_text(text: str, what: str = "matrix", *, allow_nonfinite: bool = False,
                      check_size: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Parse ``"1,0,-1;1,0,-1"`` (or newline-separated rows, commas or spaces between values).

    A leading byte-order mark (a spreadsheet's UTF-8 CSV) is skipped. ``check_size(rows, columns)``
    runs once the rows are split and before any value is parsed (a file's size limit).
    """
    rows = [r for r in re.split(r"[;\n]", text.lstrip("\ufeff").strip()) if r.strip()]
    if not rows:
        raise InputError(f"{what} is empty")
    if check_size is not None:
        check_size(len(rows), len([t for t in re.split(r"[,\s]+", rows[0].strip()) if t]))
    parsed = [_parse_row(row, i, what, allow_nonfinite) for i, row in enumerate(rows, start=1)]
    width = len(parsed[0])
    for i, values in enumerate(parsed, start=1):
        if len(values) != width:
            raise InputError(f"{what} is ragged: row 1 has {width} values but row {i} has {len(values)}")
    return np.array(parsed, dtype=np.float32)


def _parse_row(row: str, i: int, what: str, allow_nonfinite: bool) -> list[float]:
    tokens = [t for t in re.split(r"[,\s]+", row.strip()) if t]
    if not tokens:
        raise InputError(f"{what}: row {i} is empty")
    values = []
    for t in tokens:
        low = t.lower()
        if NUMBER.match(t):
            values.append(float(t))
        elif allow_nonfinite and low.lstrip("+-") in ("nan", "inf", "infinity"):
            values.append(float(low))
        else:
            raise InputError(f"{what}: row {i} has a value that is not a number: {t!r}")
    return values


# ---------------------------------------------------------------------------------------- .npy

@dataclass
class NpyHeader:
    shape: tuple
    fortran: bool
    dtype: np.dtype
    start: int                 # offset of the data
    need: int                  # bytes of data the header declares

    @property
    def end(self) -> int:
        return self.start + self.need


def npy_header(data: bytes, name: str, what: str) -> NpyHeader:
    """Read a .npy header only (from the file's first bytes) and refuse, before NumPy allocates
    anything, an array that holds objects, is over the pixel limit, or is not real numbers."""
    fmt = np.lib.format
    fh = io.BytesIO(data)
    try:
        version = fmt.read_magic(fh)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"unsupported .npy version {version[0]}.{version[1]}")
        # version 3.0 differs from 2.0 only in allowing UTF-8 in field names (refused below anyway)
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = reader(fh)
        start = fh.tell()
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise InputError(f"{name}: not a valid .npy {what} ({reason})") from None
    if dtype.hasobject:
        raise InputError(f"{name}: {what} holds Python objects (a pickled array); refusing to load it")
    if dtype.kind not in "biuf" or dtype.fields is not None:
        raise InputError(f"{name}: {what} must hold real numbers, got dtype {dtype}")
    if len(shape) in (2, 3):
        check_pixels(shape[0], shape[1], shape[2] if len(shape) == 3 else 1, what=f"{name}: {what}")
    values = int(np.prod(shape, dtype=object)) if shape else 1
    if values > 4 * max_pixels():
        raise LimitError(f"{name}: {what} declares shape {tuple(shape)} = {values:,} values, over the limit of "
                         f"{4 * max_pixels():,}; raise it with --max-pixels if you mean it")
    return NpyHeader(tuple(shape), bool(fortran), dtype, start, values * dtype.itemsize)


def _npy_from_bytes(data: bytes, name: str, what: str) -> np.ndarray:
    """The array of a .npy held in ``data``, without np.load: nothing is ever unpickled, and the
    header is checked (limits, dtype) before the float32 copy is allocated."""
    head = npy_header(data, name, what)
    have = len(data) - head.start
    if have < head.need:
        raise InputError(f"{name}: truncated .npy {what}: its header declares shape {head.shape} "
                         f"({head.need:,} bytes of data) but the file holds {max(have, 0):,}")
    count = head.need // head.dtype.itemsize if head.dtype.itemsize else 0
    flat = np.frombuffer(data, dtype=head.dtype, count=count, offset=head.start)
    arr = flat.reshape(head.shape[::-1]).T if head.fortran else flat.reshape(head.shape)
    return arr.astype(np.float32)
