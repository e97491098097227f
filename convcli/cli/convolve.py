"""``convcli convolve``: slide a kernel over images or matrices."""
from __future__ import annotations

from typing import Annotated

import numpy as np
import typer

from ..batch import Step
from ..imageio import resolve_range
from ..ops.conv import carry_alpha, conv_settings, run_plan
from ..traces.conv import DEFAULT_MAX_STEPS, conv_trace
from .application import app
from .options import (GEOMETRY_PANEL, AlphaMode, AlphaOpt, AnimateOpt, ChannelOpt, ColormapOpt, ColorOpt, DebugOpt,
                      DelayOpt, FormatOpt, GrayOpt, InputsArg, JobsOpt, JsonOpt, MatrixOpt, MaxPixelsOpt, MaxStepsOpt,
                      NameOpt, OutDirOpt, OutputOpt, PaddingMode, QuietOpt, RangeMode, RangeOpt, RegionOpt, ShowOpt,
                      ShowProtocolOpt, StepThroughOpt, TraceFormatOpt, TraceOpt, TraceOutOpt, DEFAULT_DELAY, floats,
                      pair, parser, parse_padding)
from .runner import RunOptions, debug_of, run_op
from .steps import Tracing, op_step, tracing, tracing_of

EPILOG = (
    "Examples:  convcli convolve photo.jpg -k sobel-x --padding same -o edges.png  ·  "
    "convcli convolve --matrix \"50,50,0,0,0;50,50,0,0,0;50,50,0,0,0;50,50,0,0,0;50,50,0,0,0\" "
    "-k vertical-edge --stride 2 --trace  ·  convcli convolve photos/ -k gaussian:5 --padding same --out-dir blurred"
)

KernelOpt = Annotated[str, typer.Option(
    "--kernel", "-k", show_default=False,
    help="A named filter (`convcli kernels` lists them; parameters after a colon: gaussian:7,1.5), "
         "an inline matrix \"1,0,-1;1,0,-1;1,0,-1\", or a file (.npy/.csv/.txt). A 4-D .npy of shape "
         "(C_out, C_in, kh, kw) is a PyTorch Conv2d weight and mixes channels.")]
StrideOpt = Annotated[object, typer.Option("--stride", "-s", rich_help_panel=GEOMETRY_PANEL, metavar="S|SY,SX",
                                           parser=pair("--stride"), help="Step of the window, ≥ 1.")]
PaddingOpt = Annotated[object, typer.Option(
    "--padding", "-p", rich_help_panel=GEOMETRY_PANEL, metavar="P|PY,PX|valid|same|full", parser=parser(parse_padding),
    help="Cells added on each side. valid = 0 (the default, as in PyTorch and the slides); same keeps "
         "the size (stride 1; an even kernel's extra cell goes bottom/right, as PyTorch); "
         "full = dilation·(k − 1).")]
PaddingModeOpt = Annotated[PaddingMode, typer.Option(
    "--padding-mode", rich_help_panel=GEOMETRY_PANEL, case_sensitive=False,
    help="What the padding holds (PyTorch's names). zeros = OpenCV BORDER_CONSTANT, scipy 'constant', "
         "ImageMagick -virtual-pixel black; reflect = mirror without repeating the edge: OpenCV "
         "BORDER_REFLECT_101, numpy 'reflect', scipy 'mirror', ImageMagick mirror; replicate = repeat the "
         "edge: OpenCV BORDER_REPLICATE, scipy 'nearest', ImageMagick edge; circular = wrap around: "
         "OpenCV BORDER_WRAP, scipy 'wrap', ImageMagick tile.")]
DilationOpt = Annotated[object, typer.Option("--dilation", "-d", rich_help_panel=GEOMETRY_PANEL, metavar="D|DY,DX",
                                             parser=pair("--dilation"),
                                             help="Spacing between kernel taps, ≥ 1 (1 = no holes).")]
FlipOpt = Annotated[bool, typer.Option("--flip", rich_help_panel=GEOMETRY_PANEL,
                                       help="Flip the kernel first: true convolution. The default is "
                                            "cross-correlation, what PyTorch and the slides compute.")]
BiasOpt = Annotated[object, typer.Option("--bias", rich_help_panel=GEOMETRY_PANEL, metavar="B|B1,B2,...",
                                         parser=floats("--bias"),
                                         help="Added to every output value (one per output channel).")]


def convolve_settings(*, kernel: str, stride=(1, 1), padding=(0, 0), padding_mode=PaddingMode.zeros,
                      dilation=(1, 1), flip: bool = False, bias=(0.0,)):
    """The checked convolution settings (kernel parsed, geometry checked) for parsed options."""
    return conv_settings(kernel, stride=stride, padding=padding, padding_mode=PaddingMode(padding_mode).value,
                         dilation=dilation, flip=flip, bias=list(bias))


def convolve_step(*, kernel: str, stride=(1, 1), padding=(0, 0), padding_mode=PaddingMode.zeros, dilation=(1, 1),
                  flip: bool = False, bias=(0.0,), range_mode: RangeMode = RangeMode.auto,
                  alpha: AlphaMode = AlphaMode.keep, trace: Tracing = Tracing()) -> Step:
    """Check the parsed options once and return the per-input step (also used by `convcli chain`)."""
    settings = convolve_settings(kernel=kernel, stride=stride, padding=padding, padding_mode=padding_mode,
                                 dilation=dilation, flip=flip, bias=bias)
    k = settings.kernel
    kernel_sums = k.sum(axis=(1, 2, 3)) if k.ndim == 4 else np.array([k.sum()])
    rule = resolve_range(RangeMode(range_mode).value, float(kernel_sums.min()))
    return op_step(settings.plan, run_plan, conv_trace, carry=carry_alpha, rule=rule, alpha=alpha, trace=trace,
                   reads_uint8=True, maps=k.ndim == 4)


GEOMETRY = ("kernel", "stride", "padding", "padding_mode", "dilation", "flip", "bias")


def stage_step(params: dict, **_printing) -> Step:
    """A `convcli chain` stage: the step from this command's parsed parameters."""
    return convolve_step(**{k: params[k] for k in GEOMETRY + ("range_mode", "alpha")}, trace=tracing_of(params))


@app.command(epilog=EPILOG)
def convolve(
    ctx: typer.Context,
    inputs: InputsArg = None,
    kernel: KernelOpt = ...,
    stride: StrideOpt = "1",
    padding: PaddingOpt = "0",
    padding_mode: PaddingModeOpt = PaddingMode.zeros,
    dilation: DilationOpt = "1",
    flip: FlipOpt = False,
    bias: BiasOpt = "0",
    matrix: MatrixOpt = None, output: OutputOpt = None, gray: GrayOpt = False, alpha: AlphaOpt = AlphaMode.keep,
    range_mode: RangeOpt = RangeMode.auto, max_pixels: MaxPixelsOpt = None,
    trace: TraceOpt = False, region: RegionOpt = None, max_steps: MaxStepsOpt = DEFAULT_MAX_STEPS,
    channel: ChannelOpt = 0,
    out_dir: OutDirOpt = None, fmt: FormatOpt = None, name: NameOpt = "{stem}", json_out: JsonOpt = False,
    quiet: QuietOpt = False, jobs: JobsOpt = None, show_pictures: ShowOpt = False, colormap: ColormapOpt = None,
    trace_format: TraceFormatOpt = None, trace_out: TraceOutOpt = None, animate: AnimateOpt = False,
    delay: DelayOpt = DEFAULT_DELAY, step_through: StepThroughOpt = False,
    debug: DebugOpt = False, color: ColorOpt = None, show_protocol: ShowProtocolOpt = None,
) -> None:
    """Convolve each INPUT with a kernel (cross-correlation with PyTorch's conv2d semantics).

    Colour images are filtered per channel; values stay on the image's scale (0..255, or 0..65535
    for 16-bit). Output size: H_out = ⌊(H + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1.
    """
    io = RunOptions(inputs=inputs, matrix=matrix, output=output, out_dir=out_dir, fmt=fmt, name=name,
                    json_out=json_out, quiet=quiet, jobs=jobs, gray=gray, alpha=alpha, max_pixels=max_pixels,
                    show=show_pictures, colormap=colormap, trace_out=trace_out, debug=debug_of(ctx))
    traced = tracing(trace=trace, region=region, max_steps=max_steps, channel=channel, trace_format=trace_format,
                     trace_out=trace_out, animate=animate, delay=delay, step_through=step_through)
    run_op(io, lambda: convolve_step(kernel=kernel, stride=stride, padding=padding, padding_mode=padding_mode,
                                     dilation=dilation, flip=flip, bias=bias, range_mode=range_mode, alpha=alpha,
                                     trace=traced))
