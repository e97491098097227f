"""Reading and writing: Pillow lives here alone.

Inputs become float32 arrays on the image's own scale (0..255 for 8-bit, 0..65535 for 16-bit),
shape (H, W) for one channel and (H, W, C) for several. Outputs are chosen by file extension.
"""
from __future__ import annotations

import io
import os
import stat
import sys
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError, LimitError, ParameterError
from .limits import check_pixels, max_pixels
from .matrices import (  # noqa: F401  (input_cap, sniff, PREFIX_BYTES: part of this module's API)
    PREFIX_BYTES, input_cap, matrix_from_bytes, matrix_kind, load_matrix_file, open_input, parse_matrix_text,
    read_stream, sniff)
from .safeio import read_bounded, warn

IMAGE_EXTS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
              ".bmp": "BMP", ".webp": "WEBP"}
READ_IMAGE_EXTS = set(IMAGE_EXTS) | {".gif"}
MATRIX_EXTS = {".npy", ".csv", ".txt"}
ALPHA_MODES = ("keep", "drop", "filter")


@dataclass
class Loaded:
    """What a loader found: the data plus what is needed to write a result back like it."""

    raw: np.ndarray                  # (H, W) or (H, W, C), the channels the op works on: float32, or
    #                                  uint8 for an 8-bit image (4× less memory; ``data`` has floats)
    kind: str                        # "image", "matrix", or "features" (made by an earlier chain stage)
    source: str                      # file name, "-" or "--matrix"
    maxval: float = 255.0            # full scale when written as an image: 255 (also matrices), 65535
    mode: str = ""                   # Pillow mode after our conversions (L, RGB, I;16, F ...)
    original_mode: str = ""          # Pillow mode as stored in the file
    alpha: np.ndarray | None = None  # float32 (H, W) alpha kept aside, on the same scale
    notes: list[str] = field(default_factory=list)

    @property
    def data(self) -> np.ndarray:
        """The values as float32 (an 8-bit image is converted on first use, once)."""
        if self.raw.dtype != np.float32:
            self.raw = self.raw.astype(np.float32)
        return self.raw

    @data.setter
    def data(self, values: np.ndarray) -> None:
        self.raw = values

    @property
    def channels(self) -> int:
        return 1 if self.raw.ndim == 2 else self.raw.shape[2]

    @property
    def sixteen_bit(self) -> bool:
        return self.maxval > 255


# ---------------------------------------------------------------------------------------- reading
#
# Every byte convcli reads itself goes through safeio.read_bounded with a cap known beforehand
# (convcli.matrices.read_stream): stdin, FIFOs and devices given as inputs, .npy/.csv/.txt
# matrices and kernel files. Regular image files are handed to Pillow by name: Pillow reads only
# what their header promises, and the pixel limit is checked on that header before anything is
# decoded. Matrices are parsed by convcli.matrices (NumPy only); this module adds Pillow's
# opinion on streams whose first bytes are of no common kind.

# Pillow's remarks about damaged files ("Tag data larger than file") are warnings: they are
# silenced, and its decompression-bomb warning made an error, inside warnings.catch_warnings().
# That swaps the process-wide filters, so two threads of a batch must never be inside it at
# once (the second would restore the first one's "ignore everything" for good), and convcli's own
# warnings are emitted under the same lock so that no other thread's "ignore" swallows them.
# Only Pillow's header parsing runs under the lock (it is where those warnings come from);
# decoding the pixels does not. The lock is this module's one piece of process-wide state, and it
# must be: the warnings filters it guards are process-wide too.
_WARNINGS_LOCK = threading.Lock()


def _pillow():
    from PIL import Image, ImageOps

    return Image, ImageOps


def _emit(messages: list[str]) -> None:
    for message in messages:
        with _WARNINGS_LOCK:
            warn(message)


class _Quiet:
    """Pillow's header parsing with its warnings silenced (see _WARNINGS_LOCK)."""

    def __enter__(self):
        Image, _ = _pillow()
        _WARNINGS_LOCK.acquire()
        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return self

    def __exit__(self, *exc):
        try:
            self._catch.__exit__(*exc)
        finally:
            _WARNINGS_LOCK.release()
        return False


def _display_name(path: str) -> str:
    return "stdin" if path == "-" else path


def _sniff_with_pillow(prefix: bytes) -> str | None:
    """The first bytes of a stream that are none of the common kinds: an image only if Pillow
    recognises its header in them (PPM, TGA, ICO ...)."""
    Image, _ = _pillow()
    try:
        with _Quiet(), Image.open(io.BytesIO(prefix)):
            return "image"
    except Exception:
        return None


def read_stdin(fileobj=None) -> bytes:
    """All of stdin (or ``fileobj``), read with the input cap; refused early when its first
    bytes are no kind of input convcli reads."""
    if fileobj is None:
        stream = getattr(sys, "stdin", None)
        fileobj = getattr(stream, "buffer", None)
        if fileobj is None:
            raise InputError("stdin: not available to read from")
    return read_stream(fileobj, "stdin", what="input", empty="no data on stdin", sniff_more=_sniff_with_pillow)[1]


def load_matrix_text(text: str) -> Loaded:
    """The inline ``--matrix "50,50,0;..."`` input."""
    arr = parse_matrix_text(text, "--matrix", allow_nonfinite=True)
    return Loaded(arr, "matrix", "--matrix", maxval=255.0, mode="matrix", original_mode="matrix")


def _check_matrix(arr: np.ndarray, source: str) -> np.ndarray:
    if arr.ndim not in (2, 3):
        raise InputError(f"{source}: a matrix input must be (H, W) or (H, W, C), got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{source}: matrix is empty (shape {arr.shape})")
    check_pixels(arr.shape[0], arr.shape[1], 1 if arr.ndim == 2 else arr.shape[2], what=f"{source}: input")
    return arr


def _matrix_loaded(arr: np.ndarray, source: str, gray: bool) -> Loaded:
    arr = _check_matrix(arr, _display_name(source))
    loaded = Loaded(arr, "matrix", source, maxval=255.0, mode="matrix", original_mode="matrix")
    if gray and loaded.channels > 1:
        loaded.data = loaded.data.mean(axis=2)
    return loaded


def load_input(path: str, *, gray: bool = False, alpha: str = "keep", data: bytes | None = None) -> Loaded:
    """Load an image or a matrix file. ``path == "-"`` reads stdin, or ``data`` when given (the
    bytes of stdin). Stdin, FIFOs and devices are told apart by their content: a .npy (its magic),
    an image, or a text grid."""
    if path == "-":
        if data is None:
            data = read_stdin()
        return _load_bytes(data, "-", gray=gray, alpha=alpha)
    if data is not None:
        return _load_bytes(data, path, gray=gray, alpha=alpha, kind=matrix_kind(path))
    fh, st = open_input(path, "input")
    with fh:
        if not stat.S_ISREG(st.st_mode):            # a FIFO, a device: read it once, with the cap
            found, raw = read_stream(fh, path, what="input", kind=matrix_kind(path), sniff_more=_sniff_with_pillow)
            return _load_bytes(raw, path, gray=gray, alpha=alpha, kind=found)
    if matrix_kind(path):
        return _matrix_loaded(load_matrix_file(path), path, gray)
    return load_image(path, gray=gray, alpha=alpha)


def _load_bytes(data: bytes, source: str, *, gray: bool, alpha: str, kind: str | None = None) -> Loaded:
    name = _display_name(source)
    if not data:
        raise InputError(f"{name}: no data")
    kind = kind or sniff(data[:PREFIX_BYTES]) or "image"      # "image": Pillow says what it is
    if kind in ("npy", "text"):
        return _matrix_loaded(matrix_from_bytes(data, kind, name), source, gray)
    return load_image(source, gray=gray, alpha=alpha, data=data)


def load_image(path: str, *, gray: bool = False, alpha: str = "keep", data: bytes | None = None) -> Loaded:
    """Decode an image file (or ``data``, its bytes) with Pillow; 16-bit colour PNGs with
    :mod:`convcli.png16`. Lossy reads (a 16-bit colour TIFF as 8-bit, CMYK, frames after the
    first) each give one ConvcliWarning."""
    if alpha not in ALPHA_MODES:
        raise ParameterError(f"alpha must be one of {', '.join(ALPHA_MODES)}, got {alpha!r}")
    Image, _ = _pillow()
    name = _display_name(path)
    data = _image_bytes(path, name, data)
    notes: list[str] = []
    try:
        loaded = _decode(path, name, data, gray=gray, alpha=alpha, notes=notes)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise LimitError(f"{name}: image is larger than the limit of {max_pixels():,} pixels "
                         f"(a possible decompression bomb); raise it with --max-pixels") from None
    except Image.UnidentifiedImageError:
        raise InputError(f"{name}: not an image format convcli can read (PNG, JPEG, TIFF, BMP, WebP, GIF), "
                         f"nor a .npy/.csv/.txt matrix") from None
    except (InputError, LimitError, ParameterError):
        raise
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError,
            struct_error(), ZeroDivisionError) as exc:
        reason = str(exc) or type(exc).__name__
        raise InputError(f"{name}: corrupt or truncated image ({reason})") from None
    except MemoryError:
        raise LimitError(f"{name}: not enough memory to decode this image") from None
    _emit(notes)
    return loaded


def _image_bytes(path: str, name: str, data: bytes | None) -> bytes | None:
    """What Pillow decodes: ``data`` when given, a stream's content (read once, with the cap), or
    None for a regular file (Pillow reads it by name, only as far as its header promises)."""
    if data is not None:
        if not data:
            raise InputError(f"{name}: no data")
        return data
    fh, st = open_input(path, "input")
    with fh:
        if not stat.S_ISREG(st.st_mode):
            return read_stream(fh, path, what="input", sniff_more=_sniff_with_pillow)[1]
    return None


def _open_image(src):
    """Image.open with Pillow's own bomb check at this run's pixel limit. Pillow keeps its limit in
    a module global: it is set from the run's limit under the lock that serialises header parsing,
    so the check in Image.open sees this run's value; convcli's own check (_check_size) follows."""
    Image, _ = _pillow()
    with _Quiet():
        Image.MAX_IMAGE_PIXELS = max_pixels()
        return Image.open(src)


def _decode(path: str, name: str, data: bytes | None, *, gray: bool, alpha: str, notes: list[str]) -> Loaded:
    """The pixels of an image (``data``, or the file ``path``), upright, with the lossy reads in ``notes``."""
    im = _open_image(io.BytesIO(data) if data is not None else path)
    with im:
        with _Quiet():
            _check_size(im, name)
            fmt = im.format or "?"
            frames = _frame_count(im)
            im.seek(0)
            orientation = im.getexif().get(0x0112, 1) if fmt != "PNG" or "exif" in im.info else 1
        if frames > 1:
            notes.append(f"{name}: {fmt} has {frames} frames; only the first is used")
        if fmt == "PNG" and im.mode in ("RGB", "RGBA", "LA"):
            loaded = _sixteen_bit_png(im, path, name, data, gray=gray, alpha=alpha, notes=notes)
            if loaded is not None:
                return loaded
        im.load()
        if fmt == "PNG" and orientation == 1 and "exif" in im.info:      # an eXIf chunk after the pixels
            with _Quiet():
                orientation = im.getexif().get(0x0112, 1)
        if _pillow_transpose(orientation) is not None:
            im = im.transpose(_pillow_transpose(orientation))
        if fmt == "TIFF" and im.mode in ("RGB", "RGBA") and _tiff_bits(im) > 8:
            notes.append(f"{name}: a {_tiff_bits(im)}-bit colour TIFF is read as 8-bit (Pillow keeps 16 bits "
                         f"for grayscale only)")
        loaded = _from_pillow(im, name, fmt, gray=gray, alpha=alpha, notes=notes)
        loaded.source = path
        return loaded


def _frame_count(im) -> int:
    if not getattr(im, "is_animated", False) and getattr(im, "format", "") not in ("TIFF", "MPO"):
        return 1
    try:
        return int(getattr(im, "n_frames", 1))
    except Exception:       # a damaged later frame: the first one is all convcli reads anyway
        return 2


def _tiff_bits(im) -> int:
    try:
        bits = im.tag_v2.get(258, (8,))
        return int(max(bits if isinstance(bits, tuple) else (bits,)))
    except Exception:
        return 8


def _pillow_transpose(orientation):
    """EXIF orientation -> the transposition that shows the picture upright (as
    ImageOps.exif_transpose does), or None."""
    Image, _ = _pillow()
    T = Image.Transpose
    return {2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM, 5: T.TRANSPOSE,
            6: T.ROTATE_270, 7: T.TRANSVERSE, 8: T.ROTATE_90}.get(orientation)


# the same transpositions on a NumPy array (H, W[, C]), for pixels decoded without Pillow
_NP_TRANSPOSE = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def _sixteen_bit_png(im, path: str, name: str, data: bytes | None, *, gray: bool, alpha: str,
                     notes: list[str]) -> Loaded | None:
    """A 16-bit colour PNG (Pillow would give 8-bit RGB(A)) decoded at full depth; None when the
    PNG is not one (or is interlaced: then Pillow reads it as 8-bit, with a warning)."""
    from . import png16

    head_bytes = data[:33] if data is not None else _file_head(path, 33)
    head = png16.header(head_bytes)
    if head is None or head[2] != 16:
        return None
    if not png16.wants_own_decoder(head_bytes):
        notes.append(f"{name}: a 16-bit interlaced colour PNG is read as 8-bit")
        return None
    if data is None:
        data = read_bounded(path, input_cap(), what="input")
    pixels, exif = png16.decode(data, name)
    if exif:
        Image, _ = _pillow()
        info = Image.Exif()
        with _Quiet():
            info.load(exif)
            orientation = info.get(0x0112, 1)
        if orientation in _NP_TRANSPOSE:
            pixels = _NP_TRANSPOSE[orientation](pixels)
    mode = {2: "LA", 3: "RGB", 4: "RGBA"}[pixels.shape[2]]
    arr = pixels.astype(np.float32)
    loaded = _finish(arr, name, mode=mode, original="RGB;16" if mode != "LA" else "LA;16", maxval=65535.0,
                     gray=gray, alpha=alpha, palette=False)
    loaded.source = path
    return loaded


def _file_head(path: str, n: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def struct_error():
    import struct

    return struct.error


def _check_size(im, path: str) -> None:
    w, h = im.size
    if w <= 0 or h <= 0:
        raise InputError(f"{path}: image has no pixels ({w}×{h})")
    check_pixels(h, w, len(im.getbands()), what=f"{path}: image")


def _raw_encoder_checked() -> bool:
    """Whether this Pillow is one the quick path of :func:`_eight_bit_pixels` was checked for."""
    import PIL

    from ._private_api import PILLOW_CHECKED, checked

    return checked(PIL.__version__, PILLOW_CHECKED) and hasattr(_pillow()[0], "_getencoder")


def _eight_bit_pixels(im) -> np.ndarray:
    """An 8-bit image's pixels as a (read-only) uint8 array, (H, W) or (H, W, bands).

    np.asarray(im) goes through tobytes(), which runs Pillow's raw encoder in 64 KiB pieces and
    joins them; one run over the whole image skips the join's copy: 42 ms instead of 66 ms for
    12 MP RGB here. ``Image._getencoder`` is Pillow's private API for its plugins: it is used only
    on the Pillow versions it was checked for (``convcli._private_api.PILLOW_CHECKED``), and any
    surprise from it falls back to np.asarray.
    """
    if _raw_encoder_checked():
        try:
            return _raw_encode(im)
        except Exception:
            pass
    return np.asarray(im, dtype=np.uint8)


def _raw_encode(im) -> np.ndarray:
    """The quick path of :func:`_eight_bit_pixels`: Pillow's raw encoder run once over the whole
    image (private API: only on a checked Pillow). Raises on anything but the whole image."""
    Image, _ = _pillow()
    w, h = im.size
    bands = len(im.getbands())
    encoder = Image._getencoder(im.mode, "raw", im.mode)
    try:
        encoder.setimage(im.im, (0, 0, w, h))
        _, status, data = encoder.encode(w * h * bands)
    finally:
        encoder.cleanup()
    if status != 1 or len(data) != w * h * bands:
        raise ValueError("partial encode")
    return np.frombuffer(data, dtype=np.uint8).reshape((h, w) if bands == 1 else (h, w, bands))


def _from_pillow(im, path: str, fmt: str, *, gray: bool, alpha: str, notes: list[str] | None = None) -> Loaded:
    original = im.mode
    notes = [] if notes is None else notes
    maxval = 255.0
    if im.mode == "1":
        im = im.convert("L")
    elif im.mode == "P" or im.mode == "PA":
        with _Quiet():          # Pillow may remark on odd palette transparency
            im = im.convert("RGBA" if ("transparency" in im.info or im.mode == "PA") else "RGB")
    elif im.mode in ("CMYK", "LAB", "HSV"):
        im = im.convert("RGB")
        notes.append(f"{path}: {original} colours converted to RGB (without a colour profile: the colours may shift)")
    elif im.mode == "YCbCr":
        im = im.convert("RGB")
    elif im.mode == "La":
        im = im.convert("LA")
    elif im.mode == "RGBa":
        im = im.convert("RGBA")
    elif im.mode == "RGBX":
        im = im.convert("RGB")
    mode = im.mode
    if mode.startswith("I;16"):
        arr = np.asarray(im, dtype=np.uint16).astype(np.float32)
        maxval, mode = 65535.0, "I;16"
    elif mode == "I":
        arr = np.asarray(im, dtype=np.int32).astype(np.float32)
        maxval = 65535.0
    elif mode == "F":
        arr = np.asarray(im, dtype=np.float32).copy()
        maxval = 255.0
    elif mode in ("L", "LA", "RGB", "RGBA"):
        arr = _eight_bit_pixels(im)                # stays 8-bit unless something below computes
    else:
        raise InputError(f"{path}: unsupported image mode {original!r}")
    return _finish(arr, path, mode=mode, original=original, maxval=maxval, gray=gray, alpha=alpha,
                   palette=original in ("P", "PA"), notes=notes)


def _finish(arr: np.ndarray, path: str, *, mode: str, original: str, maxval: float, gray: bool, alpha: str,
            palette: bool, notes: list[str] | None = None) -> Loaded:
    """Split off the alpha channel, apply --gray and --alpha, and make the Loaded."""
    alpha_plane = None
    if mode in ("LA", "RGBA"):
        arr, alpha_plane = arr[..., :-1], arr[..., -1].astype(np.float32)
        mode = mode[:-1]
    if palette and arr.ndim == 3 and not gray and \
            np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]):
        arr, mode = arr[..., 0], "L"      # a gray palette (e.g. a grayscale GIF) stays one channel
    if gray and arr.ndim == 3:
        # ITU-R 601-2 luma, the weights of Pillow's convert("L"), kept as floats (no rounding)
        arr = arr.astype(np.float32, copy=False)
        arr = arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114 if arr.shape[2] >= 3 else arr[..., 0]
        mode = "L"
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if mode == "L" and maxval > 255:
        mode = "I;16"
    if alpha_plane is not None and alpha == "filter":
        arr = np.dstack([arr, alpha_plane])
        mode, alpha_plane = ("LA" if mode in ("L", "I;16") else mode + "A"), None
    elif alpha == "drop":
        alpha_plane = None
    arr = np.ascontiguousarray(arr, dtype=np.uint8 if arr.dtype == np.uint8 else np.float32)
    return Loaded(arr, "image", path, maxval=maxval, mode=mode,
                  original_mode=original, alpha=alpha_plane, notes=list(notes or []))


# ---------------------------------------------------------------------------------------- writing

def output_kind(path: str) -> str:
    """'image', 'npy', 'text', or raise for an unknown extension."""
    ext = os.path.splitext(path)[1].lower()
    if ext in IMAGE_EXTS:
        return "image"
    if ext == ".npy":
        return "npy"
    if ext in (".csv", ".txt"):
        return "text"
    known = ", ".join(sorted(set(IMAGE_EXTS) | MATRIX_EXTS))
    raise ParameterError(f"{path}: unknown output extension {ext or '(none)'!r}; use one of {known}")


def to_display(result: np.ndarray, maxval: float, range_mode: str, *, scale: float = 1.0) -> np.ndarray:
    """Map a float result (times ``scale``) onto 0..maxval with a range rule (``auto`` resolved before):
    integers, uint8 for maxval ≤ 255, else uint16 (see ``convcli.ops.display.to_pixels``)."""
    from .ops.display import to_pixels

    return to_pixels(result, maxval, range_mode, scale=scale)


def resolve_range(range_mode: str, kernel_sum: float | None) -> str:
    """``auto``: clip when the kernel keeps brightness (weights sum > 0), abs for edge-like kernels."""
    if range_mode != "auto":
        return range_mode
    if kernel_sum is None or kernel_sum > 1e-6:
        return "clip"
    return "abs"


ALPHA_LAYOUTS = {"LA": 2, "RGBA": 4}       # an input's colour layout whose last channel is alpha
NO_ALPHA_FORMATS = ("JPEG", "BMP")          # Pillow writes these without alpha (BMP reads back RGB)


def _layout(channels: int, color_mode: str | None) -> bool:
    """Whether the result's last channel is alpha: only when the input's own layout put alpha
    there (``--alpha filter`` on an LA/RGBA image). 2 or 4 channels of anything else are feature
    maps (a 4-D weight's output channels, a 4-channel matrix): never transparency."""
    if channels in (1, 3):
        return False
    if channels in (2, 4):
        if ALPHA_LAYOUTS.get(color_mode or "") == channels:
            return True
        raise ParameterError(
            f"the result has {channels} channels (feature maps, not {'gray + alpha' if channels == 2 else 'RGBA'}): "
            f"an image would show the last one as transparency; write .npy to keep all {channels}, or make one "
            f"channel (--gray, or a weight with 1 or 3 output channels)")
    raise ParameterError(f"the result has {channels} channels; an image holds 1 or 3 (plus alpha) — write .npy instead")


def encode_image(result: np.ndarray, fmt: str, *, maxval: float, range_mode: str,
                 alpha: np.ndarray | None = None, color_mode: str | None = None) -> bytes:
    """Encode a float result as image bytes in ``fmt`` (PNG, JPEG, TIFF, BMP, WEBP).

    The range rule maps the colour channels; a carried ``alpha`` (same scale) is appended as it is.
    ``color_mode`` is the input's colour layout (``Loaded.mode``): a result's last channel is
    written as alpha only when that layout is LA or RGBA (``--alpha filter``), otherwise 2 or 4
    channels are refused. 16-bit inputs stay 16-bit in PNG (also colour, with alpha) and in
    one-channel TIFF; a float (``F``) image's one-channel result is a float32 TIFF, the values as
    they are. Anything written with less than it holds gives one ConvcliWarning.
    """
    Image, _ = _pillow()
    data = result if result.ndim == 3 else result[:, :, None]
    channels = data.shape[2]
    has_alpha = _layout(channels, color_mode)
    add_alpha = alpha is not None and not has_alpha
    if color_mode == "F" and fmt == "TIFF" and channels == 1 and not add_alpha:
        return _save_bytes(Image.fromarray(np.ascontiguousarray(data[:, :, 0], dtype=np.float32), "F"), fmt)
    if maxval > 255:
        total = channels + add_alpha
        if fmt in ("PNG", "TIFF") and total == 1:
            return _save_bytes(Image.fromarray(to_display(data[:, :, 0], 65535.0, range_mode)), fmt)
        if fmt == "PNG":
            from . import png16

            pixels = to_display(data, 65535.0, range_mode)
            if add_alpha:
                a = np.clip(np.rint(np.asarray(alpha, dtype=np.float32)), 0, 65535).astype(np.uint16)
                pixels = np.dstack([pixels, a])
            return png16.encode(pixels if pixels.ndim == 3 else pixels[:, :, None])
        keep = ".png, .tif or .npy" if total == 1 else ".png or .npy"
        warn(f"a 16-bit{' colour' if channels > 1 else ''} result is written as 8-bit {fmt} (scaled to 0..255); "
             f"{keep} keeps 16 bits")
    scale = 255.0 / maxval if maxval > 255 else 1.0
    return encode_pixels(to_display(data, 255.0, range_mode, scale=scale), fmt, alpha=alpha, scale=scale,
                         color_mode=color_mode)


def encode_pixels(img8: np.ndarray, fmt: str, *, alpha: np.ndarray | None = None, scale: float = 1.0,
                  color_mode: str | None = None) -> bytes:
    """Encode 8-bit pixels ((H, W) or (H, W, C)) as ``fmt``, with a carried ``alpha`` (×scale) appended.

    ``color_mode`` as for :func:`encode_image`. JPEG and BMP have no alpha: it is dropped, with a warning.
    """
    Image, _ = _pillow()
    if img8.ndim == 2:
        img8 = img8[:, :, None]
    channels = img8.shape[2]
    has_alpha = _layout(channels, color_mode)
    if color_mode == "F":
        keep = ".tif (float32) or .npy" if channels == 1 and alpha is None else ".npy"
        warn(f"a float image's values are written as 8-bit {fmt} (rounded, 0..255 by --range); {keep} keeps them")
    if fmt in NO_ALPHA_FORMATS and (has_alpha or alpha is not None):
        warn(f"{fmt} has no alpha channel: the transparency is dropped (.png, .tif or .webp keep it)")
        if has_alpha:
            img8, channels = img8[:, :, :-1], channels - 1
        alpha = None
    elif alpha is not None and not has_alpha:
        a = np.clip(np.rint(np.asarray(alpha, dtype=np.float32) * scale), 0, 255).astype(np.uint8)
        img8 = np.dstack([img8, a])
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[img8.shape[2]]
    pil = Image.fromarray(np.ascontiguousarray(img8[:, :, 0]) if mode == "L" else np.ascontiguousarray(img8), mode)
    return _save_bytes(pil, fmt)


def _save_bytes(pil, fmt: str) -> bytes:
    buf = io.BytesIO()
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    pil.save(buf, format=fmt, **options)
    return buf.getvalue()


def format_text(result: np.ndarray, sep: str) -> str:
    if result.ndim == 3:
        if result.shape[2] != 1:
            raise ParameterError(f"a {result.shape[2]}-channel result cannot be written as a 2-D text grid; "
                                 f"use .npy, an image, or --gray")
        result = result[:, :, 0]
    rows = [sep.join(format_number(v) for v in row) for row in result]
    return "\n".join(rows) + "\n"


def format_number(v: float) -> str:
    """Shortest text that reads back as the same float32 (integers without a decimal point)."""
    v = float(v)
    if np.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(np.float32(v))) if np.isfinite(v) else str(v)


def encode_result(result: np.ndarray, path: str, *, maxval: float = 255.0, range_mode: str = "clip",
                  alpha: np.ndarray | None = None, color_mode: str | None = None) -> bytes:
    """The bytes to write for ``path``'s extension (``color_mode``: see :func:`encode_image`)."""
    kind = output_kind(path)
    if kind == "npy":
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(result, dtype=np.float32), allow_pickle=False)
        return buf.getvalue()
    if kind == "text":
        sep = "," if path.lower().endswith(".csv") else " "
        return format_text(result, sep).encode()
    return encode_image(result, image_format(path), maxval=maxval, range_mode=range_mode, alpha=alpha,
                        color_mode=color_mode)


def image_format(path: str) -> str:
    """Pillow's format name for an image output path (PNG, JPEG, ...)."""
    return IMAGE_EXTS[os.path.splitext(path)[1].lower()]


def write_atomic(path: str, payload: bytes, *, inputs: tuple[str, ...] = ()) -> None:
    """Write ``payload`` to ``path`` through convcli's one write guard (:func:`convcli.safeio.write_file`):
    atomically for regular files, streamed into FIFOs and character devices, never over ``inputs``
    or any other file this run has read."""
    from . import safeio

    for src in inputs:
        safeio.note_read(src)
    safeio.write_file(path, payload)
