"""``convcli activate``: an activation function (or its derivative) on an image or matrix, with a report."""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import numpy as np
import typer

from ..errors import ParameterError
from ..ops.activations import (DEFAULT_ALPHA, FUNCTIONS, activation_stats, classify, curve, display_range, evaluate,
                               parse_range, pixels_to_inputs, to_pixels)
from ..render import make_console
from ..render.activations import print_activation_trace, print_report
from ..render.plot import print_activation_plot
from ..traces.activation import DEFAULT_MAX_STEPS, activation_trace
from ..batch import Outcome
from ._common import IO_PANEL, TRACE_PANEL, op_command, show_trace, strict_float, trace_output

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


def activate_step(*, fn, alpha: float | None = None, derivative: bool = False, input_range: str | None = None,
                  plot: bool = False, plot_range: str | None = None, trace: bool = False,
                  max_steps: int = DEFAULT_MAX_STEPS, report: bool = True, report_to_stderr: bool = False,
                  **more):
    """Check the options once and return the per-input step (also used by `convcli chain`).

    Only an input read from an image file is mapped from pixels to ``--input-range``; a matrix, or
    the feature map an earlier `chain` stage made, is taken as raw numbers.
    """
    view = trace_output(**more)
    trace = trace or view is not None
    name = fn.value if isinstance(fn, Enum) else str(fn)
    if alpha is not None and name not in DEFAULT_ALPHA:
        raise ParameterError(f"--alpha applies to leaky-relu (negative slope) and elu only, not {name}")
    if max_steps < 1:
        raise ParameterError(f"--max-steps must be at least 1, got {max_steps}")
    in_range = parse_range(input_range, "--input-range") if input_range is not None else None
    p_range = parse_range(plot_range, "--plot-range") if plot_range is not None else None
    exporting = view is not None and view.out is None and view.format != "text"   # stdout holds the export
    report_console = make_console(stderr=report_to_stderr or exporting)

    def step(loaded) -> Outcome:
        image = loaded.kind == "image"
        if in_range is not None and not image:
            raise ParameterError("--input-range applies to images only; matrices are raw numbers")
        x_range = (in_range or DEFAULT_INPUT_RANGE) if image else None
        if image:
            x = pixels_to_inputs(loaded.data, loaded.maxval, x_range)
            mapping = f"pixels 0..{loaded.maxval:g} mapped to x in {x_range[0]:g}..{x_range[1]:g}"
        else:
            x, mapping = loaded.data, ""
        y, d = evaluate(x, name, alpha=alpha)
        result = d if derivative else y
        stats = activation_stats(y, d, name, alpha, derivative)
        if plot:
            _plot(name, alpha, p_range or x_range or _data_range(x), console=report_console)
        if trace:
            made = activation_trace(x, y, d, name, alpha, pixels=loaded.data if image else None, mapping=mapping,
                                    max_steps=max_steps)
            if view is None:
                print_activation_trace(report_console, made)
            else:
                show_trace(made, view)
        if report:
            print_report(report_console, stats, source=loaded.source, mapping=mapping)
        # an image shows g's display range on 0..max; .npy/.csv outputs get the raw values
        shown = display_range(name, alpha, x_range or _data_range(x), derivative)
        doc = stats.as_dict()
        doc["input"] = {"source": loaded.source, "kind": loaded.kind, "shape": list(loaded.data.shape)}
        if image:
            doc["input"]["input_range"] = list(x_range)
            doc["input"]["maxval"] = loaded.maxval
        doc["output"]["display_range"] = list(shown) if shown is not None else None
        return Outcome(result, range_mode="clip", alpha=loaded.alpha, title="g'(x)" if derivative else "g(x)",
                       for_image=to_pixels(result, shown, loaded.maxval), report=_clean(doc))

    def standalone(*, output=None, json_out=False, **_shared) -> None:
        """No INPUT: only --plot makes sense, drawing the function alone."""
        if not plot:
            raise ParameterError("missing INPUT (a file, - for stdin, or --matrix \"...\"); "
                                 "or --plot to draw the function alone")
        if output or trace or json_out or in_range:
            raise ParameterError("-o, --trace, --json and --input-range need an INPUT")
        _plot(name, alpha, p_range or DEFAULT_PLOT_RANGE)

    step.standalone = standalone  # type: ignore[attr-defined]
    return step


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


@op_command(activate_step, epilog=EPILOG, drop=("alpha", "range_mode", "region", "channel"),
            replace={"json_out": ActivateJsonOpt, "trace": ActivateTraceOpt}, defaults={"max_steps": DEFAULT_MAX_STEPS})
def activate(
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
    input_range: Annotated[Optional[str], typer.Option(
        "--input-range", rich_help_panel=IO_PANEL, metavar="LO,HI", show_default=False,
        help="Images only: pixels 0..max are mapped linearly onto LO..HI before g (default -1,1). "
             "Matrices (.npy, .csv, --matrix) are raw numbers.")] = None,
    plot: Annotated[bool, typer.Option(
        "--plot", rich_help_panel=TRACE_PANEL,
        help="Draw g and g' in the terminal with the dead (x) and saturated (~) inputs marked. "
             "Works without INPUT.")] = False,
    plot_range: Annotated[Optional[str], typer.Option(
        "--plot-range", rich_help_panel=TRACE_PANEL, metavar="LO,HI", show_default=False,
        help="x range of --plot (default: the image's --input-range, a matrix's min..max, else -6,6).")] = None,
) -> None:
    """Apply an activation function g (or its derivative g') to every value of INPUT, as PyTorch does.

    After every run a report gives the output and gradient ranges and the fraction of dead units
    (g = 0 and g' = 0: dying ReLU) and saturated units (|g'| < 0.01: vanishing gradients).
    Images: pixels are mapped to --input-range first; written images map g's range back to pixels
    (sigmoid 0..1, tanh −1..1, the others min..max of g over the input range; g' 0..its max).
    """
