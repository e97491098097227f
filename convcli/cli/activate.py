"""``convcli activate``: an activation function (or its derivative) on an image or matrix, with a report."""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import numpy as np
import typer

from ..batch import Outcome, Step
from ..errors import ParameterError
from ..imageio import Loaded
from ..ops.activations import (DEFAULT_ALPHA, FUNCTIONS, activation_stats, classify, curve, display_range, evaluate,
                               pixels_to_inputs)
from ..ops.sinks import RangeRule
from ..render import make_console
from ..render.activations import print_activation_trace, print_report
from ..render.plot import print_activation_plot
from ..traces.activation import DEFAULT_MAX_STEPS, activation_trace
from .application import app
from .options import (DEFAULT_DELAY, IO_PANEL, TRACE_PANEL, AnimateOpt, ColormapOpt, ColorOpt, DebugOpt, DelayOpt,
                      FormatOpt, GrayOpt, InputsArg, JobsOpt, MatrixOpt, MaxPixelsOpt, MaxStepsOpt, NameOpt, OutDirOpt,
                      OutputOpt, QuietOpt, ShowOpt, ShowProtocolOpt, StepThroughOpt, TraceFormatOpt, TraceOutOpt,
                      strict_float, value_range)
from .runner import RunOptions, debug_of, run_op
from .steps import Tracing, tracing, tracing_of

Function = Enum("Function", {name.replace("-", "_"): name for name in FUNCTIONS}, type=str)
DEFAULT_INPUT_RANGE = (-1.0, 1.0)
DEFAULT_PLOT_RANGE = (-6.0, 6.0)

ActivateJsonOpt = Annotated[bool, typer.Option(
        "--json", help="Print one JSON document on stdout: a record per input, its \"report\" holding the "
                       "statistics below (the tables go to stderr).")]
ActivateTraceOpt = Annotated[bool, typer.Option(
        "--trace", "-t", rich_help_panel=TRACE_PANEL,
        help="Print a table x → g(x) → g'(x) per cell (pixel value too for images), "
             "dead and saturated cells marked.")]

EPILOG = (
    "Examples:  convcli activate --matrix \"-2,-0.5,0,0.5,2\" --fn relu --derivative  ·  "
    "convcli activate photo.jpg --fn sigmoid --input-range -6,6 -o squashed.png  ·  "
    "convcli activate --fn tanh --plot"
)


def activate_step(*, fn, alpha: float | None = None, derivative: bool = False,
                  input_range: tuple[float, float] | None = None, plot: bool = False,
                  plot_range: tuple[float, float] | None = None, trace: Tracing = Tracing(max_steps=DEFAULT_MAX_STEPS),
                  report: bool = True, report_to_stderr: bool = False) -> Step:
    """Check the parsed options once and return the per-input step (also used by `convcli chain`).

    Only an input read from an image file is mapped from pixels to ``--input-range``; a matrix, or
    the feature map an earlier `chain` stage made, is taken as raw numbers. The step always makes
    values (its statistics read them), whatever the output.
    """
    name = fn.value if isinstance(fn, Enum) else str(fn)
    if alpha is not None and name not in DEFAULT_ALPHA:
        raise ParameterError(f"--alpha applies to leaky-relu (negative slope) and elu only, not {name}")
    exporting = trace.view is not None and trace.view.out is None and trace.view.format != "text"   # stdout holds it
    console = make_console(stderr=report_to_stderr or exporting)

    def step(loaded: Loaded, pixels: bool) -> Outcome:
        x, x_range, mapping = _inputs(loaded, input_range)
        y, d = evaluate(x, name, alpha=alpha)
        result = d if derivative else y
        stats = activation_stats(y, d, name, alpha, derivative)
        if plot:
            _plot(name, alpha, plot_range or x_range or _data_range(x), console=console)
        if trace.on:
            made = activation_trace(x, y, d, name, alpha, pixels=loaded.data if x_range else None, mapping=mapping,
                                    max_steps=trace.max_steps)
            if trace.view is None:
                print_activation_trace(console, made)
            else:
                trace.show(made)
        if report:
            print_report(console, stats, source=loaded.source, mapping=mapping)
        # an image shows g's display range on 0..max; .npy/.csv outputs get the raw values
        lo, hi = display_range(name, alpha, x_range or _data_range(x), derivative)
        return Outcome(result, rule=RangeRule("window", maxval=loaded.maxval, lo=lo, hi=hi), alpha=loaded.alpha,
                       title="g'(x)" if derivative else "g(x)", report=_clean(_report_doc(stats, loaded, x_range, (lo, hi))))

    def standalone(io: RunOptions) -> None:
        """No INPUT: only --plot makes sense, drawing the function alone."""
        if not plot:
            raise ParameterError("missing INPUT (a file, - for stdin, or --matrix \"...\"); "
                                 "or --plot to draw the function alone")
        if io.output or trace.on or io.json_out or input_range:
            raise ParameterError("-o, --trace, --json and --input-range need an INPUT")
        _plot(name, alpha, plot_range or DEFAULT_PLOT_RANGE)

    return Step(run=step, traces=trace.on, prints=trace.on, standalone=standalone)


def _inputs(loaded: Loaded, input_range: tuple[float, float] | None):
    """(x, the image's input range or None, how pixels became x): an image's pixels mapped onto
    --input-range; anything else as it is."""
    if loaded.kind != "image":
        if input_range is not None:
            raise ParameterError("--input-range applies to images only; matrices are raw numbers")
        return loaded.data, None, ""
    x_range = input_range or DEFAULT_INPUT_RANGE
    x = pixels_to_inputs(loaded.data, loaded.maxval, x_range)
    return x, x_range, f"pixels 0..{loaded.maxval:g} mapped to x in {x_range[0]:g}..{x_range[1]:g}"


def _report_doc(stats, loaded: Loaded, x_range, shown: tuple[float, float]) -> dict:
    """The --json record's report: the statistics, the input, and the display range."""
    doc = stats.as_dict()
    doc["input"] = {"source": loaded.source, "kind": loaded.kind, "shape": list(loaded.data.shape)}
    if x_range is not None:
        doc["input"]["input_range"] = list(x_range)
        doc["input"]["maxval"] = loaded.maxval
    doc["output"]["display_range"] = list(shown)
    return doc


OWN = ("fn", "alpha", "derivative", "input_range", "plot", "plot_range")


def stage_step(params: dict, *, report: bool = True, report_to_stderr: bool = False, **_printing) -> Step:
    """A `convcli chain` stage: the step from this command's parsed parameters."""
    return activate_step(**{k: params[k] for k in OWN}, trace=tracing_of(params), report=report,
                         report_to_stderr=report_to_stderr)


def _data_range(x: np.ndarray) -> tuple[float, float]:
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return DEFAULT_PLOT_RANGE
    lo, hi = float(finite.min()), float(finite.max())
    return (lo - 1.0, hi + 1.0) if hi - lo < 1e-9 else (lo, hi)


def _plot(name: str, alpha, plot_range: tuple[float, float], console=None) -> None:
    console = console or make_console()
    width = 60
    xs, y, d = curve(name, alpha, plot_range, 2 * width)
    dead, saturated = classify(y, d)
    print_activation_plot(console, xs, y, d, dead, saturated, name, width=width)


def _clean(obj):
    """NaN/inf (from NaN inputs) become null: JSON has no NaN."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


@app.command(epilog=EPILOG)
def activate(
    ctx: typer.Context,
    inputs: InputsArg = None,
    fn: Annotated[Function, typer.Option(
        "--fn", case_sensitive=False, show_default=False,
        help="The activation g, PyTorch's definition: relu, leaky-relu, sigmoid, tanh, elu, gelu "
             "(exact erf form), silu (x·σ(x)), softplus (β = 1, threshold 20).")] = ...,
    alpha: Annotated[Optional[float], typer.Option(
        "--alpha", "-a", show_default=False, metavar="A", parser=strict_float("--alpha"),
        help="Leaky ReLU's negative slope (default 0.01) or ELU's α (default 1); "
             "an error for the other functions.")] = None,
    derivative: Annotated[bool, typer.Option(
        "--derivative", "-d",
        help="Output g'(x) instead of g(x): what autograd passes back, with PyTorch's conventions at the "
             "kinks (ReLU'(0) = 0, LeakyReLU'(0) = α, ELU'(0) = α).")] = False,
    input_range: Annotated[Optional[object], typer.Option(
        "--input-range", rich_help_panel=IO_PANEL, metavar="LO,HI", show_default=False,
        parser=value_range("--input-range"),
        help="Images only: pixels 0..max are mapped linearly onto LO..HI before g (default -1,1). "
             "Matrices (.npy, .csv, --matrix) are raw numbers.")] = None,
    plot: Annotated[bool, typer.Option(
        "--plot", rich_help_panel=TRACE_PANEL,
        help="Draw g and g' in the terminal with the dead (x) and saturated (~) inputs marked. "
             "Works without INPUT.")] = False,
    plot_range: Annotated[Optional[object], typer.Option(
        "--plot-range", rich_help_panel=TRACE_PANEL, metavar="LO,HI", show_default=False,
        parser=value_range("--plot-range"),
        help="x range of --plot (default: the image's --input-range, a matrix's min..max, else -6,6).")] = None,
    matrix: MatrixOpt = None, output: OutputOpt = None, gray: GrayOpt = False, max_pixels: MaxPixelsOpt = None,
    trace: ActivateTraceOpt = False, max_steps: MaxStepsOpt = DEFAULT_MAX_STEPS,
    out_dir: OutDirOpt = None, fmt: FormatOpt = None, name: NameOpt = "{stem}", json_out: ActivateJsonOpt = False,
    quiet: QuietOpt = False, jobs: JobsOpt = None, show_pictures: ShowOpt = False, colormap: ColormapOpt = None,
    trace_format: TraceFormatOpt = None, trace_out: TraceOutOpt = None, animate: AnimateOpt = False,
    delay: DelayOpt = DEFAULT_DELAY, step_through: StepThroughOpt = False,
    debug: DebugOpt = False, color: ColorOpt = None, show_protocol: ShowProtocolOpt = None,
) -> None:
    """Apply an activation function g (or its derivative g') to every value of INPUT, as PyTorch does.

    After every run a report gives the output and gradient ranges and the fraction of dead units
    (g = 0 and g' = 0: dying ReLU) and saturated units (|g'| < 0.01: vanishing gradients).
    Images: pixels are mapped to --input-range first; written images map g's range back to pixels
    (sigmoid 0..1, tanh −1..1, the others min..max of g over the input range; g' 0..its max).
    """
    io = RunOptions(inputs=inputs, matrix=matrix, output=output, out_dir=out_dir, fmt=fmt, name=name,
                    json_out=json_out, quiet=quiet, jobs=jobs, gray=gray, max_pixels=max_pixels,
                    show=show_pictures, colormap=colormap, trace_out=trace_out, debug=debug_of(ctx))
    traced = tracing(trace=trace, max_steps=max_steps, trace_format=trace_format, trace_out=trace_out,
                     animate=animate, delay=delay, step_through=step_through)
    run_op(io, lambda: activate_step(fn=fn, alpha=alpha, derivative=derivative, input_range=input_range, plot=plot,
                                     plot_range=plot_range, trace=traced, report_to_stderr=io.report_to_stderr))
