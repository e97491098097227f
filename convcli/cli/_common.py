"""Options and steps every subcommand shares: parse -> load -> (op) -> write / print."""
from __future__ import annotations

import os
import sys
from enum import Enum
from typing import Annotated, Optional

import numpy as np
import typer

from .. import imageio, limits
from ..errors import InputError, OutputError, ParameterError
from ..render import make_console, print_matrix

IO_PANEL = "Input and output"
GEOMETRY_PANEL = "Geometry"
TRACE_PANEL = "Trace"


class RangeMode(str, Enum):
    auto = "auto"
    clip = "clip"
    abs = "abs"
    rescale = "rescale"
    offset = "offset"


class AlphaMode(str, Enum):
    keep = "keep"
    drop = "drop"
    filter = "filter"


class PaddingMode(str, Enum):
    zeros = "zeros"
    reflect = "reflect"
    replicate = "replicate"
    circular = "circular"


InputArg = Annotated[Optional[str], typer.Argument(
    metavar="INPUT", show_default=False,
    help="Image (PNG, JPEG, TIFF, BMP, WebP, GIF: first frame), matrix (.npy, .csv, .txt), or - for stdin.")]
MatrixOpt = Annotated[Optional[str], typer.Option(
    "--matrix", "-m", rich_help_panel=IO_PANEL, show_default=False,
    help='Inline input matrix instead of a file: rows split by ";", values by "," or spaces, '
         'e.g. "50,50,0,0,0;50,50,0,0,0".')]
OutputOpt = Annotated[Optional[str], typer.Option(
    "--output", "-o", rich_help_panel=IO_PANEL, show_default=False,
    help="Write the result here; the extension picks the format: .png .jpg .tif .bmp .webp (image), "
         ".npy (exact float32, same layout as the input), .csv/.txt (2-D grid). Without -o a small "
         "result prints as a table.")]
GrayOpt = Annotated[bool, typer.Option(
    "--gray", rich_help_panel=IO_PANEL,
    help="Convert a colour image to one gray channel first (luma 0.299 R + 0.587 G + 0.114 B). "
         "By default each colour channel is filtered on its own.")]
AlphaOpt = Annotated[AlphaMode, typer.Option(
    "--alpha", rich_help_panel=IO_PANEL, case_sensitive=False,
    help="Alpha channel: keep = not filtered, carried to the output (each output pixel takes the alpha "
         "under its window's centre); drop = remove it; filter = treat it as one more channel.")]
RangeOpt = Annotated[RangeMode, typer.Option(
    "--range", rich_help_panel=IO_PANEL, case_sensitive=False,
    help="How results become pixels when writing an image: clip to 0..max; abs = absolute value "
         "(then clip); rescale = min..max stretched to the full range; offset = add half the range "
         "(ImageMagick's -bias 50%), so 0 is mid-gray. auto = clip for kernels whose weights sum to more "
         "than 0 (blur, sharpen), abs for edge kernels (sum 0), so sobel-x gives a visible edge image.")]
GeometricAlphaOpt = Annotated[AlphaMode, typer.Option(
    "--alpha", rich_help_panel=IO_PANEL, case_sensitive=False,
    help="Alpha channel: keep = resized with the same op as the colours (pooled / interpolated like any "
         "channel, so transparency moves with the pixels) and written back as alpha; drop = remove it; "
         "filter = the same as keep, but the alpha is also part of the result (.npy gets C+1 channels).")]
GeometricRangeOpt = Annotated[RangeMode, typer.Option(
    "--range", rich_help_panel=IO_PANEL, case_sensitive=False,
    help="How results become pixels when writing an image. auto = clip: pooling and interpolation stay "
         "in the input's range, except bicubic, whose overshoot at edges is clipped to 0..max. abs, "
         "rescale (min..max stretched to the full range) and offset (add half the range) as in convolve.")]
MaxPixelsOpt = Annotated[Optional[int], typer.Option(
    "--max-pixels", rich_help_panel=IO_PANEL, show_default=False,
    help=f"Refuse inputs and results with more pixels than this (default {limits.DEFAULT_MAX_PIXELS:,}, "
         "Pillow's decompression-bomb limit; env CONVCLI_MAX_PIXELS).")]
TraceOpt = Annotated[bool, typer.Option(
    "--trace", "-t", rich_help_panel=TRACE_PANEL,
    help="Print step by step how each output number is computed, the way the slides draw it.")]
RegionOpt = Annotated[Optional[str], typer.Option(
    "--region", rich_help_panel=TRACE_PANEL, show_default=False, metavar="Y,X,H,W",
    help="Trace only the output values whose window is centred in this part of the input "
         "(default: all of a small input, else its top-left 8×8).")]
MaxStepsOpt = Annotated[int, typer.Option(
    "--max-steps", rich_help_panel=TRACE_PANEL, help="Show at most this many steps of the trace.")]
ChannelOpt = Annotated[int, typer.Option(
    "--channel", rich_help_panel=TRACE_PANEL, help="Which channel to trace (0 = first; R of RGB).")]


def parse_ints(text: str, name: str, *, count: tuple[int, ...] = (1, 2)) -> tuple[int, ...]:
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) not in count or not all(p.lstrip("+-").isdigit() for p in parts):
        shape = " or ".join({1: "N", 2: "Y,X", 4: "Y,X,H,W"}.get(c, f"{c} numbers") for c in count)
        raise ParameterError(f"{name} must be {shape} (whole numbers), got {text!r}")
    return tuple(int(p) for p in parts)


def parse_pair(text: str, name: str) -> tuple[int, int]:
    vals = parse_ints(text, name)
    return (vals[0], vals[0]) if len(vals) == 1 else (vals[0], vals[1])


def parse_padding(text: str) -> str | tuple[int, int]:
    word = str(text).strip().lower()
    if word in ("valid", "same", "full"):
        return word
    return parse_pair(text, "--padding")


def parse_floats(text: str, name: str) -> list[float]:
    try:
        vals = [float(p) for p in str(text).split(",")]
    except ValueError:
        raise ParameterError(f"{name} must be a number or comma-separated numbers, got {text!r}") from None
    if not all(np.isfinite(vals)):
        raise ParameterError(f"{name} must be finite, got {text!r}")
    return vals


def apply_limits(max_pixels: int | None) -> None:
    if max_pixels is not None:
        if max_pixels < 1:
            raise ParameterError(f"--max-pixels must be at least 1, got {max_pixels}")
        limits.set_max_pixels(max_pixels)


def load(input_path: str | None, matrix: str | None, *, gray: bool = False,
         alpha: AlphaMode | str = AlphaMode.keep) -> imageio.Loaded:
    """The one input of a subcommand: a file, stdin (-), or --matrix."""
    alpha = alpha.value if isinstance(alpha, AlphaMode) else alpha
    if matrix is not None and input_path is not None:
        raise ParameterError("give either INPUT or --matrix, not both")
    if matrix is not None:
        loaded = imageio.load_matrix_text(matrix)
        if gray and loaded.channels > 1:
            loaded.data = loaded.data.mean(axis=2)
        return loaded
    if input_path is None:
        raise ParameterError("missing INPUT (a file, - for stdin, or --matrix \"...\")")
    if input_path == "-":
        data = sys.stdin.buffer.read()
        return imageio.load_input("-", gray=gray, alpha=alpha, data=data)
    return imageio.load_input(input_path, gray=gray, alpha=alpha)


def check_output(output: str | None, input_path: str | None) -> None:
    """Fail before any work when the output cannot be right: unknown extension, missing
    directory, a directory, or the input itself."""
    if output is None:
        return
    imageio.output_kind(output)
    directory = os.path.dirname(os.path.abspath(output)) or "."
    if not os.path.isdir(directory):
        raise OutputError(f"{output}: output directory {directory} does not exist")
    if os.path.isdir(output):
        raise OutputError(f"{output}: is a directory; give a file name")
    if not os.access(directory, os.W_OK):
        raise OutputError(f"{output}: directory {directory} is not writable")
    if os.path.exists(output) and not os.access(output, os.W_OK):
        raise OutputError(f"{output}: file is not writable")
    if input_path and input_path != "-" and os.path.exists(output) and imageio.same_file(input_path, output):
        raise OutputError(f"{output}: output is the input file; choose another name")


def write(result: np.ndarray, output: str, loaded: imageio.Loaded, *, range_mode: str,
          alpha: np.ndarray | None = None) -> None:
    payload = imageio.encode_result(result, output, maxval=loaded.maxval, range_mode=range_mode, alpha=alpha)
    imageio.write_atomic(output, payload, inputs=(loaded.source,))


SMALL_RESULT = 32


def show_or_summarise(result: np.ndarray, *, title: str = "result") -> None:
    """No -o: print a small result as a table; a big one as a one-line summary with a hint."""
    console = make_console()
    if result.shape[0] <= SMALL_RESULT and result.shape[1] <= SMALL_RESULT and (result.ndim == 2 or result.shape[2] <= 4):
        print_matrix(console, result, title)
        return
    shape = "×".join(str(s) for s in result.shape)
    console.print(f"{title} {shape}: min {result.min():.6g}, max {result.max():.6g}, mean {result.mean():.6g} "
                  f"(too big to print; -o FILE saves it)")


def require_input_ok(loaded: imageio.Loaded) -> None:
    if loaded.data.size == 0:
        raise InputError(f"{loaded.source}: no data")
