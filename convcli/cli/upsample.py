"""``convcli upsample``: resize an image or matrix by interpolation (torch.nn.functional.interpolate)."""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from ..errors import ParameterError
from ..batch import Step
from ..imageio import resolve_range
from ..ops.upsample import plan_upsample, run_upsample
from ..traces.upsample import DEFAULT_MAX_STEPS, upsample_trace
from .application import app
from .options import (DEFAULT_DELAY, GEOMETRY_PANEL, AlphaMode, AnimateOpt, ChannelOpt, ColormapOpt, ColorOpt,
                      DebugOpt, DelayOpt, FormatOpt, GeometricAlphaOpt, GeometricRangeOpt, GrayOpt, InputsArg, JobsOpt,
                      JsonOpt, MatrixOpt, MaxPixelsOpt, MaxStepsOpt, NameOpt, OutDirOpt, OutputOpt, QuietOpt, RangeMode,
                      RegionOpt, ShowOpt, ShowProtocolOpt, StepThroughOpt, TraceFormatOpt, TraceOpt, TraceOutOpt,
                      floats, pair)
from .runner import RunOptions, debug_of, run_op
from .steps import Tracing, op_step, tracing, tracing_of

EPILOG = (
    "Examples:  convcli upsample sample_images/slide_upsample_2x2.csv --scale 2 --trace  ·  "
    "convcli upsample photo.jpg --mode bicubic --scale 2 -o big.png  ·  "
    "convcli upsample --matrix \"0,10,20\" --mode linear --size 1,5 --align-corners"
)


class UpsampleMode(str, Enum):
    nearest = "nearest"
    nearest_exact = "nearest-exact"
    bilinear = "bilinear"
    linear = "linear"
    bicubic = "bicubic"


def upsample_step(*, mode: UpsampleMode = UpsampleMode.nearest, scale=None, size=None, align_corners: bool = False,
                  alpha: AlphaMode = AlphaMode.keep, range_mode: RangeMode = RangeMode.auto,
                  trace: Tracing = Tracing()) -> Step:
    """The per-input step for parsed options (also used by `convcli chain`)."""
    geometry = upsample_geometry(mode=mode, scale=scale, size=size, align_corners=align_corners)
    rule = resolve_range(RangeMode(range_mode).value, None)
    return op_step(lambda shape: plan_upsample(shape, **geometry), run_upsample, upsample_trace, carry=run_upsample,
                   rule=rule, alpha=alpha, trace=trace)


def upsample_geometry(*, mode=UpsampleMode.nearest, scale=None, size=None, align_corners=False) -> dict:
    """``plan_upsample``'s keyword arguments from the parsed options (exactly one of scale and size)."""
    if (scale is None) == (size is None):
        raise ParameterError("give exactly one of --scale F (a factor) or --size H,W")
    return dict(mode=UpsampleMode(mode).value, scale=scale, size=size, align_corners=align_corners)


GEOMETRY = ("mode", "scale", "size", "align_corners")


def stage_step(params: dict, **_printing) -> Step:
    """A `convcli chain` stage: the step from this command's parsed parameters."""
    return upsample_step(**{k: params[k] for k in GEOMETRY + ("alpha", "range_mode")}, trace=tracing_of(params))


@app.command(epilog=EPILOG)
def upsample(
    ctx: typer.Context,
    inputs: InputsArg = None,
    mode: Annotated[UpsampleMode, typer.Option(
        "--mode", case_sensitive=False,
        help="nearest = copy the input cell each output cell falls in (src = ⌊dst / scale⌋; PyTorch's "
             "default, OpenCV INTER_NEAREST); nearest-exact = the cell nearest to the output cell's centre "
             "(src = ⌊(dst + 0.5) / scale⌋, like Pillow and scikit-image); bilinear (or linear) = linear "
             "interpolation along x between the two nearest columns, then along y between the two nearest "
             "rows; bicubic = Keys' cubic over 4×4 neighbours (a = −0.75, borders repeated, as PyTorch and "
             "OpenCV INTER_CUBIC).")] = UpsampleMode.nearest,
    scale: Annotated[Optional[object], typer.Option(
        "--scale", rich_help_panel=GEOMETRY_PANEL, metavar="F|FY,FX", show_default=False,
        parser=floats("--scale", counts=(1, 2)),
        help="Scale factor(s) > 0 (below 1 shrinks): output ⌊H·F⌋ × ⌊W·F⌋; the coordinate map uses 1/F "
             "(PyTorch's scale_factor with recompute_scale_factor unset).")] = None,
    size: Annotated[Optional[object], typer.Option(
        "--size", rich_help_panel=GEOMETRY_PANEL, metavar="H,W", show_default=False, parser=pair("--size"),
        help="Output size instead of --scale; the coordinate map then uses in/out.")] = None,
    align_corners: Annotated[bool, typer.Option(
        "--align-corners", rich_help_panel=GEOMETRY_PANEL,
        help="bilinear/bicubic only: the corner cells' centres map onto each other, src = dst·(in − 1)/(out − 1). "
             "Default: half-pixel centres, src = (dst + 0.5)·ratio − 0.5.")] = False,
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
    """Resize INPUT by interpolation, as torch.nn.functional.interpolate (give --scale or --size).

    Colour channels are resized one by one; images keep their mode and bit depth, and a result larger
    than the pixel limit is refused before any memory is allocated.
    """
    io = RunOptions(inputs=inputs, matrix=matrix, output=output, out_dir=out_dir, fmt=fmt, name=name,
                    json_out=json_out, quiet=quiet, jobs=jobs, gray=gray, alpha=alpha, max_pixels=max_pixels,
                    show=show_pictures, colormap=colormap, trace_out=trace_out, debug=debug_of(ctx))
    traced = tracing(trace=trace, region=region, max_steps=max_steps, channel=channel, trace_format=trace_format,
                     trace_out=trace_out, animate=animate, delay=delay, step_through=step_through)
    run_op(io, lambda: upsample_step(mode=mode, scale=scale, size=size, align_corners=align_corners, alpha=alpha,
                                     range_mode=range_mode, trace=traced))
