"""Options and steps every subcommand shares: parse -> load -> (op) -> write / print."""
from __future__ import annotations

import contextlib
import os
import sys
from enum import Enum
from typing import Annotated, Optional

import numpy as np
import typer

from .. import imageio, limits, numbers
from ..errors import OutputError, ParameterError
from ..safeio import printable
from ..render import make_console, print_matrix
from ..render.present import DEFAULT_DELAY

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


parse_ints = numbers.parse_ints
parse_pair = numbers.parse_pair
parse_floats = numbers.parse_floats


PADDING_WORDS = ("valid", "same", "full")


def parse_padding(text: str) -> str | tuple[int, int]:
    """``valid``, ``same``, ``full``, or numbers (``P`` or ``PY,PX``, parsed by :func:`parse_pair`).

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
    return parse_pair(text, "--padding")


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


BATCH_PANEL = "Batches and scripting"

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
MAX_JOBS = 64
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

PICTURE_PANEL = "Pictures"


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
TERMINAL_PANEL = "Terminal"


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


def _set_color(value: Optional[ColorChoice]) -> None:
    if value is not None:
        from ..render import console
        console.settings.color = ColorChoice(value).value


def _set_show_protocol(value: Optional[ShowProtocol]) -> None:
    if value is not None:
        from ..render import console
        console.settings.show_protocol = ShowProtocol(value).value


# The terminal options set convcli.render.console.settings as they are parsed (expose_value=False:
# no command receives them). Every subcommand gets them (cli/__init__.py adds them), so they work
# before and after the subcommand's name; the last one given wins.
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


def apply_limits(max_pixels: int | None) -> None:
    if max_pixels is not None:
        if max_pixels < 1:
            raise ParameterError(f"--max-pixels must be at least 1, got {max_pixels}")
        limits.set_max_pixels(max_pixels)


def check_output(output: str | None, input_path: str | None) -> None:
    """Fail before any work when the output cannot be right: a directory (say --out-dir), an
    unknown extension, a missing or read-only directory, a device that cannot be written, or an
    input of this run."""
    if output is None:
        return
    from ..safeio import check_target, is_stream, note_read, printable

    if output.endswith(("/", os.sep)) or os.path.isdir(output):
        raise OutputError(f"{printable(output)}: is a directory; -o names one file — use --out-dir "
                          f"{printable(output)} to write one file per input into it")
    if not is_stream(output):
        imageio.output_kind(output)
    if input_path:
        note_read(input_path)
    check_target(output)


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


def trace_output(*, trace_format=None, trace_out: str | None = None, animate: bool = False,
                 delay: float | None = None, step_through: bool = False, **_ignored):
    """The parsed trace-showing options (None when none was given); they all imply --trace."""
    from ..render.present import DEFAULT_DELAY, TraceOutput, format_for
    if trace_format is None and trace_out is None and not animate and not step_through:
        return None
    return TraceOutput(format=format_for(trace_format, trace_out), out=trace_out, animate=animate,
                       delay=DEFAULT_DELAY if delay is None else delay, step=step_through)


def op_step(plan_for, run, build_trace, *, carry, rule: str, alpha, trace: bool, view, region, max_steps: int,
            channel: int, reads_uint8: bool = False, run_pixels=None):
    """The per-input step of an op that plans, runs and may trace (convolve, pool, upsample).

    ``plan_for(shape)`` checks the options against the input; ``run(data, plan)`` computes;
    ``build_trace(data, plan, result, ...)`` makes the trace; ``carry(alpha, plan)`` moves a kept
    alpha channel through the same geometry (pool and upsample run the op itself on it).
    ``reads_uint8``: ``run`` takes an 8-bit image as it is (no float32 copy of the input).
    ``run_pixels(data, plan, take_abs, scale, shift, maxval)``: the result straight as 8-bit pixels
    (or None), used when the input's only destination is an 8-bit image and the range rule maps
    each value on its own (no float32 result is held).
    """
    from ..batch import Outcome
    from ..ops.display import pointwise_rule

    keep_alpha = AlphaMode(alpha) == AlphaMode.keep
    mapping = pointwise_rule(rule, 255.0) if run_pixels is not None and not trace else None

    def step(loaded) -> Outcome:
        plan = plan_for(loaded.raw.shape)
        moved = carry(loaded.alpha, plan) if loaded.alpha is not None and keep_alpha else None
        formulas = plan.geometry.formulas() if hasattr(plan, "geometry") else plan.formulas()
        if mapping is not None and loaded.pixel_target and loaded.maxval == 255.0:
            pixels = run_pixels(loaded.raw if reads_uint8 else loaded.data, plan, *mapping, 255.0)
            if pixels is not None:
                return Outcome(None, range_mode=rule, alpha=moved, formulas=formulas, pixels=pixels)
        result = run(loaded.raw if reads_uint8 else loaded.data, plan)
        if trace:
            show_trace(build_trace(loaded.data, plan, result, channel=channel, region=region,
                                   max_steps=max_steps), view)
        return Outcome(result, range_mode=rule, alpha=moved, formulas=formulas)

    return step


def show_trace(made, view) -> None:
    """Print (or export, play, step through) a built trace."""
    from ..render.present import present_trace
    present_trace(made, view)


def run_command(step, *, inputs: list[str] | None, matrix: str | None, output: str | None,
                out_dir: str | None, fmt: str | None, name: str, json_out: bool, quiet: bool,
                jobs: int | None, gray: bool = False, alpha: AlphaMode | str = AlphaMode.keep,
                show_result: bool = True, show: bool = False, colormap: Colormap | str | None = None,
                side_outputs: tuple[str | None, ...] = ()) -> None:
    """Every op subcommand ends here: inputs -> ``step`` -> outputs, with the batch rules.

    One input with -o (or none: a small result prints as a table); several inputs with --out-dir;
    ``-`` reads stdin, ``-o -`` writes stdout. Failures are reported one line each on stderr, the
    rest is still written, and the exit code says what happened (README: exit codes).
    """
    import json as _json
    import time as _time

    from .. import batch
    from ..render.progress import batch_progress

    inputs = list(inputs or [])
    colormap = getattr(colormap, "value", colormap)
    if colormap is not None:
        from .. import colormaps
        colormap = colormaps.check(colormap)
    alpha = alpha.value if isinstance(alpha, AlphaMode) else alpha
    fmt = batch.check_format(fmt)
    if output is not None and out_dir is not None:
        raise ParameterError("give either -o FILE or --out-dir DIR, not both")
    if output == "-":
        if sys.stdout is not None and sys.stdout.isatty():
            raise ParameterError("refusing to write image data to a terminal; redirect stdout (-o - > out.png)")
    elif output is not None:
        check_output(output, inputs[0] if len(inputs) == 1 else None)
    expanded = batch.expand_inputs(inputs) if inputs and matrix is None else None
    expanded_count = len(expanded) if expanded is not None else (1 if matrix is not None else 0)
    check_side_outputs(side_outputs, [p for p, err in expanded or [] if err is None])
    if expanded_count > 1 and output is None and out_dir is None and not json_out:
        raise ParameterError(f"{expanded_count} inputs: give --out-dir DIR for their outputs (or --json for statistics only)")
    # a result is printed (table or summary) only when it goes nowhere else
    print_result = expanded_count <= 1 and output is None and out_dir is None and show_result and not json_out
    started = _time.perf_counter()
    with stdout_for_data(output == "-") as data_stdout:
        picture_console = make_console(stderr=json_out) if show else None

        def on_result(loaded: imageio.Loaded, outcome: batch.Outcome) -> None:
            if colormap is not None:
                outcome.colormap = colormap
            if picture_console is not None:
                show_pictures(picture_console, loaded, outcome, colormap=colormap, named=expanded_count > 1)
            if print_result:
                show_or_summarise(outcome.result, title=outcome.title)

        written = failed = 0
        with batch_progress(expanded_count, enabled=not quiet and not json_out) as advance:
            def on_record(rec: batch.Record) -> None:
                nonlocal written, failed
                if rec.status == "ok":
                    written += 1
                else:
                    failed += 1
                    sys.stderr.write(f"convcli: error: {printable(rec.error)}\n")
                    sys.stderr.flush()
                advance(os.path.basename(rec.input))

            records = batch.run_batch(
                inputs, step, out_dir=out_dir, output=output, fmt=fmt, name=name, jobs=jobs, gray=gray, alpha=alpha,
                matrix=matrix, stdin_bytes=imageio.read_stdin, stdout_write=batch.stdout_binary_writer(data_stdout),
                on_record=on_record, on_result=on_result, expanded=expanded, statistics=json_out,
                pixel_outputs=colormap is None and picture_console is None and not print_result)
        if json_out:
            doc = {"records": [r.as_dict() for r in records], "written": written, "failed": failed,
                   "seconds": round(_time.perf_counter() - started, 6)}
            sys.stdout.write(_json.dumps(doc, indent=2) + "\n")
            sys.stdout.flush()
        elif (len(records) > 1 or out_dir is not None) and not quiet:
            where = f" to {printable(out_dir)}" if out_dir else ""
            sys.stderr.write(f"convcli: {written} written{where}, {failed} failed, "
                             f"in {_time.perf_counter() - started:.2f} s\n")
    code = batch.exit_code(records)
    if code:
        raise typer.Exit(code)


def check_side_outputs(paths, inputs: list[str]) -> None:
    """A trace or stats export must be writable, and never an input (or the result): checked before
    any work, like -o."""
    from ..safeio import check_target, note_read

    for src in inputs:
        note_read(src)
    for path in paths:
        if path and path != "-":
            check_target(path)


@contextlib.contextmanager
def stdout_for_data(reserved: bool):
    """The rule for stdout: when ``-o -`` puts the result there, stdout carries that data alone.
    Everything else a run prints (traces, reports, tables, pictures, JSON) goes to stderr: for the
    run, ``sys.stdout`` *is* stderr, and the data is written to the real stdout yielded here."""
    if not reserved:
        yield None
        return
    real = sys.stdout
    data = getattr(real, "buffer", None) if real is not None else None
    if data is None:
        raise OutputError("stdout: is closed; cannot write the result there")
    sys.stdout = sys.stderr
    try:
        yield data
    finally:
        sys.stdout = real


def show_pictures(console, loaded: imageio.Loaded, outcome, *, colormap: str | None = None,
                  named: bool = False) -> None:
    """--show: the input and the result side by side. An image's pixels are drawn on its full scale
    (0..255, 0..65535); matrices, feature maps and results outside that scale on their own range."""
    from ..render.preview import print_previews
    image = loaded.kind == "image"
    in_max = loaded.maxval if image else None
    if outcome.maxval is not None:
        out_max = outcome.maxval
    else:
        out_max = loaded.maxval if image and outcome.for_image is None else None
    prefix = f"{loaded.source}: " if named else ""
    print_previews(console, [(f"{prefix}input", loaded.data, in_max), ("result", outcome.result, out_max)],
                   colormap=colormap)


# ------------------------------------------------------------------------- shared command shape

def _common_options() -> list[tuple[str, object, object]]:
    """(name, annotated type, default) of the options every op subcommand shares, in --help order."""
    from ..traces.conv import DEFAULT_MAX_STEPS

    return [
        ("matrix", MatrixOpt, None), ("output", OutputOpt, None), ("gray", GrayOpt, False),
        ("alpha", AlphaOpt, AlphaMode.keep), ("range_mode", RangeOpt, RangeMode.auto),
        ("max_pixels", MaxPixelsOpt, None),
        ("trace", TraceOpt, False), ("region", RegionOpt, None), ("max_steps", MaxStepsOpt, DEFAULT_MAX_STEPS),
        ("channel", ChannelOpt, 0),
        ("out_dir", OutDirOpt, None), ("fmt", FormatOpt, None), ("name", NameOpt, "{stem}"),
        ("json_out", JsonOpt, False), ("quiet", QuietOpt, False), ("jobs", JobsOpt, None),
        ("show_pictures", ShowOpt, False), ("colormap", ColormapOpt, None),
        ("trace_format", TraceFormatOpt, None), ("trace_out", TraceOutOpt, None), ("animate", AnimateOpt, False),
        ("delay", DelayOpt, DEFAULT_DELAY), ("step_through", StepThroughOpt, False),
    ]


def op_command(builder, *, epilog: str = "", drop: tuple[str, ...] = (), replace: dict | None = None,
               defaults: dict | None = None):
    """Register an op subcommand whose function declares only the op's own options.

    The command gets INPUT... first, then the op's options, then the options every op shares
    (input/output, range and alpha rules, trace, batch, pictures) — minus ``drop``, with the
    annotated types in ``replace`` and the defaults in ``defaults``. When it runs, ``builder``
    (the op's ``*_step`` function, also used by `convcli chain`) turns the options into the per-input
    step, and :func:`run_op` runs it. The decorated function's docstring is the command's help.
    """
    import functools
    import inspect

    replace, defaults = replace or {}, defaults or {}

    def register(func):
        import typing

        hints = typing.get_type_hints(func, include_extras=True)   # the op module's annotations, resolved
        own = [p.replace(annotation=hints[p.name]) for p in inspect.signature(func).parameters.values()]
        shared = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=defaults.get(n, d),
                                    annotation=replace.get(n, t))
                  for n, t, d in _common_options() if n not in drop]
        inputs = inspect.Parameter("inputs", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=InputsArg)
        params = [inputs] + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared
        own_names = [p.name for p in own]

        @functools.wraps(func)
        def command(**kwargs):
            options = {n: kwargs.pop(n) for n in own_names}
            run_op(builder, options, kwargs)

        command.__signature__ = inspect.Signature(params, return_annotation=None)
        command.__annotations__ = {p.name: p.annotation for p in params}
        del command.__wrapped__      # Typer must read the full signature, not func's
        app.command(name=func.__name__, epilog=epilog)(command)
        return func

    from . import app
    return register


DISPLAY_KEYS = ("trace_format", "trace_out", "animate", "delay", "step_through")


def run_op(builder, options: dict, shared: dict) -> None:
    """Build an op's step from its own and the shared options, then run it over the inputs."""
    apply_limits(shared.get("max_pixels"))
    from ..safeio import defer

    defer(shared.get("trace_out"))      # written only when the whole run succeeds
    display = {k: shared[k] for k in DISPLAY_KEYS if k in shared}
    trace = bool(shared.get("trace")) or trace_output(**display) is not None
    json_out, output, out_dir = shared["json_out"], shared["output"], shared["out_dir"]
    passed = {k: shared[k] for k in ("region", "max_steps", "channel", "alpha", "range_mode")
              if k in shared and k not in options}
    step = builder(**options, **display, **passed, trace=trace, report_to_stderr=json_out or output == "-",
                   show=output is None and out_dir is None and not json_out)
    trace = getattr(step, "traces", trace)
    if trace and json_out and shared.get("trace_out") is None:
        raise ParameterError("--trace prints to stdout, which --json keeps for JSON; use one of them")
    if not shared["inputs"] and shared["matrix"] is None and hasattr(step, "standalone"):
        step.standalone(**shared)       # e.g. activate --plot without an input
        return
    run_command(step, inputs=shared["inputs"], matrix=shared["matrix"], output=output, out_dir=out_dir,
                fmt=shared["fmt"], name=shared["name"], json_out=json_out, quiet=shared["quiet"],
                jobs=shared["jobs"], gray=shared["gray"], alpha=shared.get("alpha", AlphaMode.keep),
                show_result=not getattr(step, "prints", trace), show=shared["show_pictures"],
                colormap=shared["colormap"], side_outputs=(shared.get("trace_out"),))
