"""16-bit colour PNG: the case Pillow cannot keep (it reads 48/64-bit PNGs as 8-bit RGB(A) and
cannot write them). NumPy, zlib and one small Numba kernel; no Pillow.

Only what the PNG specification (ISO/IEC 15948) requires for these files: the IHDR header, the
IDAT stream inflated with a known size, the five row filters undone, big-endian samples. Colour
types 2 (RGB), 4 (gray + alpha) and 6 (RGBA) at bit depth 16, not interlaced; anything else is
left to Pillow.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

from . import _numba_env  # noqa: F401  (the Numba cache directory, before Numba loads)
from numba import njit

from .errors import InputError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
SAMPLES = {2: 3, 4: 2, 6: 4}          # colour type -> samples per pixel
COLOR_TYPE = {3: 2, 2: 4, 4: 6}       # channels -> colour type when writing


def header(prefix: bytes) -> tuple[int, int, int, int, int] | None:
    """(width, height, bit depth, colour type, interlace) from a PNG's first 33 bytes, or None."""
    if len(prefix) < 33 or not prefix.startswith(SIGNATURE) or prefix[12:16] != b"IHDR":
        return None
    width, height, depth, ctype, _comp, _filt, interlace = struct.unpack(">IIBBBBB", prefix[16:29])
    return width, height, depth, ctype, interlace


def wants_own_decoder(prefix: bytes) -> bool:
    """True for a 16-bit colour PNG that :func:`decode` reads at full depth."""
    head = header(prefix)
    return head is not None and head[2] == 16 and head[3] in SAMPLES and head[4] == 0


def decode(data: bytes, name: str) -> tuple[np.ndarray, bytes | None]:
    """The pixels of a 16-bit colour PNG as uint16 (H, W, samples), and its eXIf chunk (or None).

    Every chunk's CRC is checked; the IDAT stream is inflated to exactly the size the header
    implies (a stream that inflates to more is refused, not followed), then unfiltered.
    """
    head = header(data)
    if head is None or not wants_own_decoder(data):
        raise InputError(f"{name}: not a 16-bit colour PNG")
    width, height, _depth, ctype, _interlace = head
    if width == 0 or height == 0:
        raise InputError(f"{name}: image has no pixels ({width}×{height})")
    samples = SAMPLES[ctype]
    bpp = 2 * samples
    stride = width * bpp
    expected = height * (stride + 1)
    inflate = zlib.decompressobj()
    parts: list[bytes] = []
    have = 0
    exif = None
    pos, end = 8, len(data)
    while pos + 12 <= end:
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body_end = pos + 8 + length
        if body_end + 4 > end:
            raise InputError(f"{name}: corrupt or truncated image (chunk {kind!r} runs past the end of the file)")
        body = data[pos + 8:body_end]
        (crc,) = struct.unpack(">I", data[body_end:body_end + 4])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise InputError(f"{name}: corrupt or truncated image (bad CRC in chunk {kind!r})")
        if kind == b"IDAT":
            try:
                piece = inflate.decompress(body, expected + 1 - have)
            except zlib.error as exc:
                raise InputError(f"{name}: corrupt or truncated image ({exc})") from None
            have += len(piece)
            if have > expected or inflate.unconsumed_tail:
                raise InputError(f"{name}: corrupt image (its pixel data is longer than {width}×{height} pixels)")
            parts.append(piece)
        elif kind == b"eXIf":
            exif = body
        elif kind == b"IEND":
            break
        pos = body_end + 4
    if have < expected:
        raise InputError(f"{name}: corrupt or truncated image (pixel data holds {have:,} of {expected:,} bytes)")
    raw = np.frombuffer(b"".join(parts), dtype=np.uint8).reshape(height, stride + 1)
    if raw[:, 0].max(initial=0) > 4:
        row = int(np.argmax(raw[:, 0] > 4))
        raise InputError(f"{name}: corrupt image (row {row} has filter type {int(raw[row, 0])}; PNG has 0..4)")
    out = np.empty((height, stride), dtype=np.uint8)
    _unfilter(raw, bpp, out)
    return out.view(">u2").reshape(height, width, samples).astype(np.uint16), exif


def encode(pixels: np.ndarray) -> bytes:
    """A 16-bit PNG of uint16 pixels (H, W, C) with C = 2 (gray + alpha), 3 (RGB) or 4 (RGBA).

    Every row uses filter 2 ("Up": the difference to the row above), computed in one NumPy pass.
    """
    height, width, channels = pixels.shape
    rows = np.ascontiguousarray(pixels, dtype=">u2").view(np.uint8).reshape(height, width * channels * 2)
    filtered = np.empty((height, rows.shape[1] + 1), dtype=np.uint8)
    filtered[:, 0] = 2
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])        # uint8 arithmetic wraps mod 256
    ihdr = struct.pack(">IIBBBBB", width, height, 16, COLOR_TYPE[channels], 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(filtered.tobytes(), 6)) + \
        _chunk(b"IEND", b"")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


@njit(cache=True)
def _unfilter(raw, bpp, out):  # pragma: no cover - compiled
    """Undo the row filters: ``raw`` rows are (filter type, filtered bytes); ``out`` gets the bytes."""
    height, width = out.shape
    for y in range(height):
        kind = raw[y, 0]
        for x in range(width):
            v = np.int32(raw[y, x + 1])
            a = np.int32(out[y, x - bpp]) if x >= bpp else np.int32(0)
            b = np.int32(out[y - 1, x]) if y > 0 else np.int32(0)
            if kind == 1:                       # Sub
                v += a
            elif kind == 2:                     # Up
                v += b
            elif kind == 3:                     # Average
                v += (a + b) >> 1
            elif kind == 4:                     # Paeth: the neighbour closest to a + b − c (ties: a, then b)
                c = np.int32(out[y - 1, x - bpp]) if (y > 0 and x >= bpp) else np.int32(0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                if pa <= pb and pa <= pc:
                    v += a
                elif pb <= pc:
                    v += b
                else:
                    v += c
            out[y, x] = np.uint8(v & 0xFF)
