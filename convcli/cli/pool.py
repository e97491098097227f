"""``convcli pool``: max, min or average pooling of an image or matrix."""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from ..batch import Step
from ..imageio import resolve_range
from ..ops.pool import plan_pool, run_pool
from ..traces.pool import DEFAULT_MAX_STEPS, pool_trace
from .application import app
from .options import (DEFAULT_DELAY, GEOMETRY_PANEL, AlphaMode, AnimateOpt, ChannelOpt, ColormapOpt, ColorOpt,
                      DebugOpt, DelayOpt, FormatOpt, GeometricAlphaOpt, GeometricRangeOpt, GrayOpt, InputsArg, JobsOpt,
                      JsonOpt, MatrixOpt, MaxPixelsOpt, MaxStepsOpt, NameOpt, OutDirOpt, OutputOpt, QuietOpt, RangeMode,
                      RegionOpt, ShowOpt, ShowProtocolOpt, StepThroughOpt, TraceFormatOpt, TraceOpt, TraceOutOpt, pair)
from .runner import RunOptions, debug_of, run_op
from .steps import Tracing, op_step, tracing, tracing_of

EPILOG = (
    "Examples:  convcli pool sample_images/slide_pool_4x4.csv --mode max --trace  ·  "
    "convcli pool photo.jpg --mode avg --size 4 -o small.png  ·  "
    "convcli pool --matrix \"1,2,3;4,5,6;7,8,9\" --size 2 --stride 1 --padding 1 --ceil-mode"
)


class PoolMode(str, Enum):
    max = "max"
    min = "min"
    avg = "avg"


def pool_step(*, mode: PoolMode = PoolMode.max, size=(2, 2), stride=None, padding=(0, 0), ceil_mode: bool = False,
              count_include_pad: bool = True, alpha: AlphaMode = AlphaMode.keep,
              range_mode: RangeMode = RangeMode.auto, trace: Tracing = Tracing()) -> Step:
    """The per-input step for parsed options (also used by `convcli chain`)."""
    geometry = pool_geometry(mode=mode, size=size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                             count_include_pad=count_include_pad)
    rule = resolve_range(RangeMode(range_mode).value, None)
    return op_step(lambda shape: plan_pool(shape, **geometry), run_pool, pool_trace, carry=run_pool, rule=rule,
                   alpha=alpha, trace=trace)


def pool_geometry(*, mode=PoolMode.max, size=(2, 2), stride=None, padding=(0, 0), ceil_mode=False,
                  count_include_pad=True) -> dict:
    """``plan_pool``'s keyword arguments from the parsed options."""
    return dict(mode=PoolMode(mode).value, size=size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                count_include_pad=count_include_pad)


GEOMETRY = ("mode", "size", "stride", "padding", "ceil_mode", "count_include_pad")


def stage_step(params: dict, **_printing) -> Step:
    """A `convcli chain` stage: the step from this command's parsed parameters."""
    return pool_step(**{k: params[k] for k in GEOMETRY + ("alpha", "range_mode")}, trace=tracing_of(params))


@app.command(epilog=EPILOG)
def pool(
    ctx: typer.Context,
    inputs: InputsArg = None,
    mode: Annotated[PoolMode, typer.Option(
        "--mode", case_sensitive=False,
        help="max = largest value of each window (PyTorch max_pool2d); min = smallest (−max_pool2d(−x)); "
             "avg = mean (avg_pool2d).")] = PoolMode.max,
    size: Annotated[object, typer.Option("--size", rich_help_panel=GEOMETRY_PANEL, metavar="K|KH,KW",
                                         parser=pair("--size", key="size", minimum=1),
                                         help="Window size (PyTorch's kernel_size), ≥ 1.")] = "2",
    stride: Annotated[Optional[object], typer.Option(
        "--stride", "-s", rich_help_panel=GEOMETRY_PANEL, metavar="S|SY,SX", show_default=False,
        parser=pair("--stride", key="stride", minimum=1),
        help="Step of the window, ≥ 1 (default: the window size, so windows sit side by side).")] = None,
    padding: Annotated[object, typer.Option(
        "--padding", "-p", rich_help_panel=GEOMETRY_PANEL, metavar="P|PY,PX",
        parser=pair("--padding", key="padding", minimum=0),
        help="Cells added on each side, at most half the window. Padded cells never win a max (−inf) or a "
             "min (+inf); for avg they are zeros.")] = "0",
    ceil_mode: Annotated[bool, typer.Option(
        "--ceil-mode", rich_help_panel=GEOMETRY_PANEL,
        help="Round the output size up: keep a last partial window, as long as it starts inside the input "
             "or its left/top padding (PyTorch's rule).")] = False,
    count_include_pad: Annotated[bool, typer.Option(
        "--count-include-pad/--no-count-include-pad", rich_help_panel=GEOMETRY_PANEL,
        help="avg: divide by the whole window, padded zeros included (PyTorch's default), or only by the "
             "input cells in it. Parts of a --ceil-mode window beyond the padding never count.")] = True,
    matrix: MatrixOpt = None, output: OutputOpt = None, gray: GrayOpt = False,
    alpha: GeometricAlphaOpt = AlphaMode.keep, range_mode: GeometricRangeOpt = RangeMode.auto,
    max_pixels: MaxPixelsOpt = None,
    trace: TraceOpt = False, region: RegionOpt = None, max_steps: MaxStepsOpt = DEFAULT_MAX_STEPS,
    channel: ChannelOpt = 0,
    out_dir: OutDirOpt = None, fmt: FormatOpt = None, name: NameOpt = "{stem}", json_out: JsonOpt = False,
    quiet: QuietOpt = False, jobs: JobsOpt = None, show_pictures: ShowOpt = False, colormap: ColormapOpt = None,
    trace_format: TraceFormatOpt = None, trace_out: TraceOutOpt = None, animate: AnimateOpt = False,
    delay: DelayOpt = DEFAULT_DELAY, step_through: StepThroughOpt = False,
    debug: DebugOpt = False, color: ColorOpt = None, show_protocol: ShowProtocolOpt = None,
) -> None:
    """Pool INPUT: the max, min or average of each window (PyTorch's max_pool2d / avg_pool2d).

    Colour channels are pooled one by one; images keep their mode and bit depth.
    Output size: H_out = ⌊(H + 2·padding − (size − 1) − 1) / stride⌋ + 1 (⌈…⌉ with --ceil-mode).
    """
    io = RunOptions(inputs=inputs, matrix=matrix, output=output, out_dir=out_dir, fmt=fmt, name=name,
                    json_out=json_out, quiet=quiet, jobs=jobs, gray=gray, alpha=alpha, max_pixels=max_pixels,
                    show=show_pictures, colormap=colormap, trace_out=trace_out, debug=debug_of(ctx))
    traced = tracing(trace=trace, region=region, max_steps=max_steps, channel=channel, trace_format=trace_format,
                     trace_out=trace_out, animate=animate, delay=delay, step_through=step_through)
    run_op(io, lambda: pool_step(mode=mode, size=size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                                 count_include_pad=count_include_pad, alpha=alpha, range_mode=range_mode,
                                 trace=traced))
