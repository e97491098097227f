"""``convcli convolve``: slide a kernel over images or matrices."""
from __future__ import annotations

from typing import Annotated

import numpy as np
import typer

from ..imageio import resolve_range
from ..ops.conv import carry_alpha, conv_settings, run_plan, run_plan_pixels
from ..traces.conv import DEFAULT_MAX_STEPS, conv_trace
from ._common import (GEOMETRY_PANEL, AlphaMode, PaddingMode, RangeMode, op_command, op_step, parse_floats,
                      parse_padding, parse_pair, trace_output)

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
StrideOpt = Annotated[str, typer.Option("--stride", "-s", rich_help_panel=GEOMETRY_PANEL, metavar="S|SY,SX",
                                        help="Step of the window, ≥ 1.")]
PaddingOpt = Annotated[str, typer.Option(
    "--padding", "-p", rich_help_panel=GEOMETRY_PANEL, metavar="P|PY,PX|valid|same|full",
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
DilationOpt = Annotated[str, typer.Option("--dilation", "-d", rich_help_panel=GEOMETRY_PANEL, metavar="D|DY,DX",
                                          help="Spacing between kernel taps, ≥ 1 (1 = no holes).")]
FlipOpt = Annotated[bool, typer.Option("--flip", rich_help_panel=GEOMETRY_PANEL,
                                       help="Flip the kernel first: true convolution. The default is "
                                            "cross-correlation, what PyTorch and the slides compute.")]
BiasOpt = Annotated[str, typer.Option("--bias", rich_help_panel=GEOMETRY_PANEL, metavar="B|B1,B2,...",
                                      help="Added to every output value (one per output channel).")]


def convolve_step(*, kernel: str, stride: str = "1", padding: str = "0",
                  padding_mode: PaddingMode = PaddingMode.zeros, dilation: str = "1", flip: bool = False,
                  bias: str = "0", range_mode: RangeMode = RangeMode.auto, alpha: AlphaMode = AlphaMode.keep,
                  trace: bool = False, region: str | None = None, max_steps: int = DEFAULT_MAX_STEPS,
                  channel: int = 0, **more):
    """Check the options once and return the per-input step (also used by `convcli chain`)."""
    view = trace_output(**more)
    trace = trace or view is not None
    bias_values = parse_floats(bias, "--bias")
    settings = conv_settings(kernel, stride=parse_pair(stride, "--stride"), padding=parse_padding(padding),
                             padding_mode=PaddingMode(padding_mode).value,
                             dilation=parse_pair(dilation, "--dilation"), flip=flip, bias=bias_values)
    k = settings.kernel
    kernel_sums = k.sum(axis=(1, 2, 3)) if k.ndim == 4 else np.array([k.sum()])
    rule = resolve_range(RangeMode(range_mode).value, float(kernel_sums.min()))

    return op_step(settings.plan, run_plan, conv_trace, carry=carry_alpha, rule=rule, alpha=alpha, trace=trace,
                   view=view, region=region, max_steps=max_steps, channel=channel, reads_uint8=True,
                   run_pixels=run_plan_pixels)


@op_command(convolve_step, epilog=EPILOG)
def convolve(
    kernel: KernelOpt = ...,
    stride: StrideOpt = "1",
    padding: PaddingOpt = "0",
    padding_mode: PaddingModeOpt = PaddingMode.zeros,
    dilation: DilationOpt = "1",
    flip: FlipOpt = False,
    bias: BiasOpt = "0",
) -> None:
    """Convolve each INPUT with a kernel (cross-correlation with PyTorch's conv2d semantics).

    Colour images are filtered per channel; values stay on the image's scale (0..255, or 0..65535
    for 16-bit). Output size: H_out = ⌊(H + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1.
    """
