"""``convcli convolve``: slide a kernel over an image or matrix."""
from __future__ import annotations

from typing import Annotated, Optional

import numpy as np
import typer

from ..ops.conv import carry_alpha, plan_convolution, run_plan
from ..imageio import resolve_range
from ..render import make_console, print_trace
from ..traces.conv import DEFAULT_MAX_STEPS, conv_trace
from . import app
from ._common import (GEOMETRY_PANEL, AlphaMode, AlphaOpt, ChannelOpt, GrayOpt, InputArg, MatrixOpt,
                      MaxPixelsOpt, MaxStepsOpt, OutputOpt, PaddingMode, RangeMode, RangeOpt, RegionOpt,
                      TraceOpt, apply_limits, check_output, load, parse_floats, parse_padding, parse_pair,
                      show_or_summarise, write)

EPILOG = (
    "Examples:  convcli convolve photo.jpg -k sobel-x --padding same -o edges.png  ·  "
    "convcli convolve --matrix \"50,50,0,0,0;50,50,0,0,0;50,50,0,0,0;50,50,0,0,0;50,50,0,0,0\" "
    "-k vertical-edge --stride 2 --trace"
)


@app.command(epilog=EPILOG)
def convolve(
    input_path: InputArg = None,
    kernel: Annotated[str, typer.Option(
        "--kernel", "-k", show_default=False,
        help="A named filter (`convcli kernels` lists them; parameters after a colon: gaussian:7,1.5), "
             "an inline matrix \"1,0,-1;1,0,-1;1,0,-1\", or a file (.npy/.csv/.txt). A 4-D .npy of shape "
             "(C_out, C_in, kh, kw) is a PyTorch Conv2d weight and mixes channels.")] = ...,
    stride: Annotated[str, typer.Option("--stride", "-s", rich_help_panel=GEOMETRY_PANEL, metavar="S|SY,SX",
                                        help="Step of the window, ≥ 1.")] = "1",
    padding: Annotated[str, typer.Option(
        "--padding", "-p", rich_help_panel=GEOMETRY_PANEL, metavar="P|PY,PX|valid|same|full",
        help="Cells added on each side. valid = 0 (the default, as in PyTorch and the slides); same keeps "
             "the size (stride 1; an even kernel's extra cell goes bottom/right, as PyTorch); "
             "full = dilation·(k − 1).")] = "0",
    padding_mode: Annotated[PaddingMode, typer.Option(
        "--padding-mode", rich_help_panel=GEOMETRY_PANEL, case_sensitive=False,
        help="What the padding holds (PyTorch's names). zeros = OpenCV BORDER_CONSTANT, scipy 'constant', "
             "ImageMagick -virtual-pixel black; reflect = mirror without repeating the edge: OpenCV "
             "BORDER_REFLECT_101, numpy 'reflect', scipy 'mirror', ImageMagick mirror; replicate = repeat the "
             "edge: OpenCV BORDER_REPLICATE, scipy 'nearest', ImageMagick edge; circular = wrap around: "
             "OpenCV BORDER_WRAP, scipy 'wrap', ImageMagick tile.")] = PaddingMode.zeros,
    dilation: Annotated[str, typer.Option("--dilation", "-d", rich_help_panel=GEOMETRY_PANEL, metavar="D|DY,DX",
                                          help="Spacing between kernel taps, ≥ 1 (1 = no holes).")] = "1",
    flip: Annotated[bool, typer.Option("--flip", rich_help_panel=GEOMETRY_PANEL,
                                       help="Flip the kernel first: true convolution. The default is "
                                            "cross-correlation, what PyTorch and the slides compute.")] = False,
    bias: Annotated[str, typer.Option("--bias", rich_help_panel=GEOMETRY_PANEL, metavar="B|B1,B2,...",
                                      help="Added to every output value (one per output channel).")] = "0",
    matrix: MatrixOpt = None,
    output: OutputOpt = None,
    gray: GrayOpt = False,
    alpha: AlphaOpt = AlphaMode.keep,
    range_mode: RangeOpt = RangeMode.auto,
    max_pixels: MaxPixelsOpt = None,
    trace: TraceOpt = False,
    region: RegionOpt = None,
    max_steps: MaxStepsOpt = DEFAULT_MAX_STEPS,
    channel: ChannelOpt = 0,
) -> None:
    """Convolve INPUT with a kernel (cross-correlation with PyTorch's conv2d semantics).

    Colour images are filtered per channel; values stay on the image's scale (0..255, or 0..65535
    for 16-bit). Output size: H_out = ⌊(H + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1.
    """
    apply_limits(max_pixels)
    check_output(output, input_path)
    bias_values = parse_floats(bias, "--bias")
    geometry = dict(stride=parse_pair(stride, "--stride"), padding=parse_padding(padding),
                    padding_mode=padding_mode.value, dilation=parse_pair(dilation, "--dilation"), flip=flip,
                    bias=bias_values[0] if len(bias_values) == 1 else bias_values)
    loaded = load(input_path, matrix, gray=gray, alpha=alpha)
    plan = plan_convolution(loaded.data.shape, kernel, **geometry)
    result = run_plan(loaded.data, plan)
    if trace:
        print_trace(make_console(), conv_trace(loaded.data, plan, result, channel=channel, region=region,
                                               max_steps=max_steps))
    if output is not None:
        k = plan.kernel
        kernel_sums = k.sum(axis=(1, 2, 3)) if plan.dense else np.array([k.sum()])
        rule = resolve_range(range_mode.value, float(kernel_sums.min()))
        carried = carry_alpha(loaded.alpha, plan) if loaded.alpha is not None else None
        write(result, output, loaded, range_mode=rule, alpha=carried)
    elif not trace:
        show_or_summarise(result)
