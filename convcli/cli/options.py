"""Every option the commands share, in one place: the enums, the Annotated option types, and the
Typer ``parser=`` functions, so a command receives its values already parsed and checked.

A parser raises :class:`OptionError` for a bad value: one line ``convcli: error: ...`` with the
message the value's own check gives (exit 2), the same whether the option is typed on the command
line or inside a `convcli chain` stage.
"""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Callable, Optional

import typer

from .. import limits, numbers
from ..errors import ConvcliError, ExitCode, ParameterError
from ..render.console import set_terminal
from ..render.present import DEFAULT_DELAY  # noqa: F401  (the default of --delay, for the commands)

IO_PANEL = "Input and output"
GEOMETRY_PANEL = "Geometry"
TRACE_PANEL = "Trace"
BATCH_PANEL = "Batches and scripting"
PICTURE_PANEL = "Pictures"
TERMINAL_PANEL = "Terminal"
MAX_JOBS = 64


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


class TraceFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"
    svg = "svg"
    html = "html"
    html_static = "html-static"


class Colormap(str, Enum):
    gray = "gray"
    viridis = "viridis"
    magma = "magma"
    diverging = "diverging"


class ColorChoice(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


class ShowProtocol(str, Enum):
    auto = "auto"
    kitty = "kitty"
    iterm = "iterm"
    blocks = "blocks"
    ascii = "ascii"


# ------------------------------------------------------------------------------------ parsers

class OptionError(ConvcliError):
    """A bad option value, found by the option's parser: a usage error (exit 2). Not a ValueError,
    so Click passes it on unchanged instead of rewording it."""

    exit_code = ExitCode.USAGE


def parser(parse: Callable[[str], object]) -> Callable[[object], object]:
    """A Typer ``parser=`` from ``parse(text)``: a string (typed, or a default written as text) is
    parsed; a value that is not a string is already parsed and passes as it is."""
    def convert(value):
        if not isinstance(value, str):
            return value
        try:
            return parse(value)
        except ParameterError as exc:
            raise OptionError(str(exc)) from None
    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


PADDING_WORDS = ("valid", "same", "full")


def parse_padding(text: str) -> str | tuple[int, int]:
    """``valid``, ``same``, ``full``, or numbers (``P`` or ``PY,PX``, parsed by ``numbers.parse_pair``).

    A word that is none of them is refused with the forms and the likely word: ``sam`` -> ``same``.
    """
    from ..kernels import did_you_mean

    word = str(text).strip().lower()
    if word in PADDING_WORDS:
        return word
    if any(c.isalpha() for c in word):
        hints = did_you_mean(word, list(PADDING_WORDS))
        hint = f" (did you mean {' / '.join(hints)}?)" if hints else ""
        raise ParameterError(f"--padding must be valid, same, full, P or PY,PX, got {text!r}{hint}")
    return numbers.parse_pair(text, "--padding")


def pair(flag: str, *, key: str | None = None, minimum: int | None = None):
    """``N`` or ``Y,X`` -> (Y, X); with ``key``, also at least ``minimum`` (the op's own check, named
    as the op names it), so a bad value stops the run before any input is read."""
    def parse(text: str) -> tuple[int, int]:
        value = numbers.parse_pair(text, flag)
        if key is None:
            return value
        from ..shapes import as_pair
        return as_pair(value, key, minimum=minimum)
    return parser(parse)


def floats(flag: str, *, counts: tuple[int, ...] | None = None):
    """Comma-separated real numbers -> list (``counts``: how many are allowed)."""
    def parse(text: str) -> list[float]:
        values = numbers.parse_floats(text, flag)
        if counts is not None and len(values) not in counts:
            forms = " or ".join(",".join("F" + "YX"[i] for i in range(n)) if n > 1 else "F" for n in counts)
            raise ParameterError(f"{flag} must be {forms}, got {text!r}")
        return values
    return parser(parse)


def value_range(flag: str):
    """``LO,HI`` -> (LO, HI), finite, LO < HI."""
    def parse(text: str) -> tuple[float, float]:
        from ..ops.activations import parse_range
        return parse_range(text, flag)
    return parser(parse)


def cell(flag: str):
    """``Y,X``, both ≥ 0 (0-based row and column)."""
    def parse(text: str) -> tuple[int, int]:
        y, x = numbers.parse_ints(text, flag, count=(2,))
        if y < 0 or x < 0:
            raise ParameterError(f"{flag} must be Y,X with Y, X ≥ 0 (0-based row and column), got {text!r}")
        return y, x
    return parser(parse)


def strict_int(name: str, *, lo: int = -numbers.INT_LIMIT, hi: int = numbers.INT_LIMIT):
    """A Typer ``parser=`` for a whole-number option: convcli's strict rules, a usage error naming it."""
    def parse(text):
        if isinstance(text, int):
            return text
        try:
            return numbers.parse_int(text, name, lo=lo, hi=hi)
        except ParameterError as exc:
            raise typer.BadParameter(str(exc).removeprefix(f"{name} ")) from None
    return parse


def strict_float(name: str, *, lo: float | None = None, hi: float | None = None):
    """A Typer ``parser=`` for a real-number option (finite in float32)."""
    def parse(text):
        if isinstance(text, float):
            return text
        try:
            return numbers.parse_float(text, name, lo=lo, hi=hi)
        except ParameterError as exc:
            raise typer.BadParameter(str(exc).removeprefix(f"{name} ")) from None
    return parse


# ----------------------------------------------------------------------------- shared options

InputsArg = Annotated[Optional[list[str]], typer.Argument(
    metavar="INPUT...", show_default=False,
    help="Images (PNG, JPEG, TIFF, BMP, WebP, GIF: first frame), matrices (.npy, .csv, .txt), directories "
         "(their image and matrix files, sorted), glob patterns (quoted), or - for stdin (an image, a .npy "
         "or a CSV/TXT grid, told apart by content; at most 16 bytes per pixel of the limit + 1 MiB).")]
OutDirOpt = Annotated[Optional[str], typer.Option(
    "--out-dir", "-O", rich_help_panel=BATCH_PANEL, show_default=False,
    help="Write one output per input into this directory, under the input's file name (required with "
         "several inputs). Created (with its parents) when the first output is written. Existing outputs "
         "are replaced; an input is never overwritten.")]
FormatOpt = Annotated[Optional[str], typer.Option(
    "--format", "-f", rich_help_panel=BATCH_PANEL, show_default=False,
    help="Output format for --out-dir and -o -: png, jpg, tif, webp, bmp, npy, csv, txt (default: the "
         "input's own; PNG for stdout and for inputs convcli cannot write, such as GIF).")]
NameOpt = Annotated[str, typer.Option(
    "--name", rich_help_panel=BATCH_PANEL,
    help="Output file name template for --out-dir: {stem} = input name without extension, {ext} = its "
         "extension, {index} = 1, 2, ... in input order, {{ }} = literal braces; nothing else. "
         "E.g. \"{stem}_edges\". The result must be a plain file name (≤ 255 bytes).")]
JsonOpt = Annotated[bool, typer.Option(
    "--json", rich_help_panel=BATCH_PANEL,
    help="Print one JSON document on stdout: a record per input (input, output, status, error, shapes, "
         "min/max/mean, seconds). Messages go to stderr.")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", rich_help_panel=BATCH_PANEL, help="No progress bar and no summary (errors still print).")]
JobsOpt = Annotated[Optional[int], typer.Option(
    "--jobs", "-j", rich_help_panel=BATCH_PANEL, show_default=False, metavar="N",
    parser=strict_int("--jobs", lo=1, hi=2**62),
    help=f"Files decoded and encoded at once (default: the number of cores; never more threads than "
         f"inputs, at most {MAX_JOBS}). The op itself always uses every core.")]
MatrixOpt = Annotated[Optional[str], typer.Option(
    "--matrix", "-m", rich_help_panel=IO_PANEL, show_default=False,
    help='Inline input matrix instead of a file: rows split by ";", values by "," or spaces, '
         'e.g. "50,50,0,0,0;50,50,0,0,0".')]
OutputOpt = Annotated[Optional[str], typer.Option(
    "--output", "-o", rich_help_panel=IO_PANEL, show_default=False,
    help="Write the result here; the extension picks the format: .png .jpg .tif .bmp .webp (image), "
         ".npy (exact float32, same layout as the input), .csv/.txt (2-D grid). - = stdout (then stdout "
         "carries the data alone: traces, reports and --json go to stderr); FIFOs and devices such as "
         "/dev/stdout are written into (format from --format). Never an input. Without -o a small "
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
    "--max-pixels", rich_help_panel=IO_PANEL, show_default=False, metavar="N",
    parser=strict_int("--max-pixels", lo=1, hi=2**62),
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
    "--max-steps", rich_help_panel=TRACE_PANEL, metavar="N", parser=strict_int("--max-steps", lo=1, hi=100_000),
    help="Show at most this many steps of the trace.")]
ChannelOpt = Annotated[int, typer.Option(
    "--channel", rich_help_panel=TRACE_PANEL, metavar="C", parser=strict_int("--channel", lo=0),
    help="Which channel to trace (0 = first; R of RGB).")]


ShowOpt = Annotated[bool, typer.Option(
    "--show", rich_help_panel=PICTURE_PANEL,
    help="Draw the input and the result side by side in the terminal as pictures (one ▄ per two pixels, "
         "true colour where the terminal has it, an ASCII ramp without colour), each with its shape; "
         "full-resolution images in terminals that show them (see --show-protocol). "
         "Negative values use a diverging map centred on 0, with a legend of the scale.")]
ColormapOpt = Annotated[Optional[Colormap], typer.Option(
    "--colormap", rich_help_panel=PICTURE_PANEL, case_sensitive=False, show_default=False,
    help="Write an image output as colours of a one-channel result: gray, viridis, magma (the values "
         "mapped to 0..max by --range first), or diverging (blue < 0 < red, centred on 0, spanning ± the "
         "99.5th percentile of |value|, larger values at full colour: sign and size both show). 8-bit RGB. "
         "Also the map --show uses, with the same colours.")]


def _set_color(value: Optional[ColorChoice]) -> None:
    if value is not None:
        set_terminal(color=ColorChoice(value).value)


def _set_show_protocol(value: Optional[ShowProtocol]) -> None:
    if value is not None:
        set_terminal(show_protocol=ShowProtocol(value).value)


# The terminal options set the run's terminal settings as they are parsed (expose_value=False:
# no command receives them). Every subcommand lists them, so they work before and after the
# subcommand's name; the last one given wins.
ColorOpt = Annotated[Optional[ColorChoice], typer.Option(
    "--color", rich_help_panel=TERMINAL_PANEL, case_sensitive=False, show_default=False, expose_value=False,
    callback=_set_color, metavar="WHEN",
    help="Colour in the output: always (also into a pipe, e.g. | less -R), never, or auto (default): "
         "colour on a terminal, none when NO_COLOR is set, forced by FORCE_COLOR.")]
DebugOpt = Annotated[bool, typer.Option(
    "--debug", rich_help_panel=TERMINAL_PANEL, expose_value=False,
    help="Show full tracebacks instead of one-line errors.")]
ShowProtocolOpt = Annotated[Optional[ShowProtocol], typer.Option(
    "--show-protocol", rich_help_panel=PICTURE_PANEL, case_sensitive=False, show_default=False,
    expose_value=False, callback=_set_show_protocol, metavar="PROTOCOL",
    help="How --show draws: kitty or iterm = full-resolution images (kitty graphics protocol, iTerm2 "
         "inline images; sent even when stdout is not a terminal), blocks = one ▄ per two pixels, "
         "ascii = a shading ramp. auto (default): kitty or iterm when the terminal says it is one "
         "(TERM, TERM_PROGRAM, LC_TERMINAL, KITTY_WINDOW_ID; never a query; not inside tmux/screen) "
         "and the output is a terminal with colour, else blocks (ascii without colour).")]
TraceFormatOpt = Annotated[Optional[TraceFormat], typer.Option(
    "--trace-format", rich_help_panel=TRACE_PANEL, case_sensitive=False, show_default=False,
    help="Export the trace (implies --trace): text or markdown for notes, json for scripts (every step: "
         "output cell, window cells and values, terms, products, sum; the output cells the steps show, "
         "not the whole result), html for an interactive page that opens offline (hover an output cell "
         "to light up the input cells it is made from; previous/next/play/slider replay the steps), "
         "svg or html-static for slides (the coloured terminal rendering). Sizes follow --max-steps and "
         "--region, not the image. Default: text, or guessed from --trace-out's extension.")]
TraceOutOpt = Annotated[Optional[str], typer.Option(
    "--trace-out", rich_help_panel=TRACE_PANEL, show_default=False, metavar="FILE",
    help="Write the trace to FILE instead of stdout (implies --trace; .json .md .svg .txt pick the "
         "format, .html/.htm the interactive page).")]
AnimateOpt = Annotated[bool, typer.Option(
    "--animate", rich_help_panel=TRACE_PANEL,
    help="Play the trace in place: the window slides over the input, the output fills in (implies "
         "--trace). Not on a terminal: the plain trace.")]
DelayOpt = Annotated[float, typer.Option(
    "--delay", rich_help_panel=TRACE_PANEL, metavar="SECONDS",
    parser=strict_float("--delay", lo=0.0, hi=3600.0), help="Seconds per step of --animate.")]
StepThroughOpt = Annotated[bool, typer.Option(
    "--step", rich_help_panel=TRACE_PANEL,
    help="Show one step at a time: Enter for the next, q to quit (implies --trace). Not on a terminal: "
         "the plain trace.")]


