"""``convcli tconv``: transposed convolution, its checkerboard, and the resize-then-convolve remedy."""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import numpy as np
import typer

from ..errors import ParameterError
from ..imageio import resolve_range
from ..ops.tconv import carry_alpha, overlap_counts, overlap_map, plan_tconv, run_remedy, run_tconv
from ..render import make_console, print_matrix
from ..traces.tconv import DEFAULT_MAX_STEPS, scatter_trace, zeros_trace
from ..batch import Outcome
from ..kernels import parse_kernel
from ..shapes import as_pair
from ._common import (GEOMETRY_PANEL, TRACE_PANEL, AlphaMode, RangeMode, op_command, parse_floats, parse_pair,
                      show_trace, trace_output)

CHECKERBOARD_PANEL = "Checkerboard"
EPILOG = (
    "Examples:  convcli tconv --matrix \"1,2;3,4\" -k \"1,1,1;1,1,1;1,1,1\" --stride 2 --trace  ·  "
    "convcli tconv --matrix \"100,100;100,100\" -k box --stride 2 --overlap  ·  "
    "convcli tconv gray.png -k box -s 2 -p 1 --output-padding 1 -o checker.png  ·  "
    "(same with --remedy -o even.png)"
)


TconvRegionOpt = Annotated[Optional[str], typer.Option(
        "--region", rich_help_panel=TRACE_PANEL, show_default=False, metavar="Y,X,H,W",
        help="Trace only the input values in this part of the input (default: all of a small input, "
             "else its top-left 8×8).")]


class TraceView(str, Enum):
    scatter = "scatter"
    zeros = "zeros"


def _pattern(counts: np.ndarray, limit: int = 24) -> str:
    text = " ".join(str(int(v)) for v in counts[:limit])
    return text + (" …" if counts.size > limit else "")


def _print_overlap(plan, counts_map: np.ndarray) -> None:
    console = make_console()
    rows = overlap_counts(plan.in_h, plan.k_h, plan.stride[0], plan.padding[0], plan.output_padding[0],
                          plan.dilation[0])
    cols = overlap_counts(plan.in_w, plan.k_w, plan.stride[1], plan.padding[1], plan.output_padding[1],
                          plan.dilation[1])
    console.print(f"kernel taps reaching each output row:    {_pattern(rows)}")
    console.print(f"kernel taps reaching each output column: {_pattern(cols)}")
    if counts_map.shape[0] <= 32 and counts_map.shape[1] <= 32:
        print_matrix(console, counts_map, "taps per output pixel")
    else:
        console.print(f"taps per output pixel: {counts_map.shape[0]}×{counts_map.shape[1]} map, "
                      f"from {counts_map.min()} to {counts_map.max()} (too big to print; -o FILE saves it)")
    for axis, k, s, d in (("height", plan.k_h, plan.stride[0], plan.dilation[0]),
                          ("width", plan.k_w, plan.stride[1], plan.dilation[1])):
        span = d * (k - 1) + 1
        if span % s:
            console.print(f"{axis}: kernel span {span} is not a multiple of stride {s}: the stamps overlap "
                          f"unevenly, a checkerboard (try --remedy)")
        else:
            console.print(f"{axis}: kernel span {span} is a multiple of stride {s}: even overlap away from the "
                          f"borders (though a trained kernel can still produce a checkerboard)")


def tconv_step(*, kernel: str, stride: str = "1", padding: str = "0", output_padding: str = "0",
               dilation: str = "1", bias: str = "0", overlap: bool = False, remedy: bool = False,
               range_mode: RangeMode = RangeMode.auto, alpha: AlphaMode = AlphaMode.keep, trace: bool = False,
               trace_view: TraceView | None = None, region: str | None = None,
               max_steps: int = DEFAULT_MAX_STEPS, channel: int = 0, show: bool = True, **more):
    """Check the options once and return the per-input step (also used by `convcli chain`)."""
    view = trace_output(**more)
    trace = trace or view is not None
    trace = trace or trace_view is not None
    if remedy and (overlap or trace):
        raise ParameterError("--remedy runs an ordinary convolution: trace it with `convcli convolve`, and "
                             "its overlap is even (kh·kw taps everywhere); drop --overlap/--trace")
    if overlap and trace:
        raise ParameterError("give either --overlap or --trace, not both")
    bias_values = parse_floats(bias, "--bias")
    k = parse_kernel(kernel)
    geometry = dict(stride=as_pair(parse_pair(stride, "--stride"), "stride", minimum=1),
                    padding=as_pair(parse_pair(padding, "--padding"), "padding", minimum=0),
                    output_padding=as_pair(parse_pair(output_padding, "--output-padding"), "output_padding", minimum=0),
                    dilation=as_pair(parse_pair(dilation, "--dilation"), "dilation", minimum=1),
                    bias=bias_values[0] if len(bias_values) == 1 else bias_values)
    kernel_sums = k.sum(axis=(0, 2, 3)) if k.ndim == 4 else np.array([k.sum()])
    rule = resolve_range(RangeMode(range_mode).value, float(kernel_sums.min()))

    def step(loaded) -> Outcome:
        plan = plan_tconv(loaded.data.shape, k, **geometry)
        if overlap:
            counts = overlap_map(plan)
            if show:
                _print_overlap(plan, counts)
            return Outcome(counts.astype(np.float32), range_mode="rescale")
        result = run_remedy(loaded.data, plan) if remedy else run_tconv(loaded.data, plan)
        if trace:
            build = zeros_trace if trace_view is TraceView.zeros else scatter_trace
            kwargs = dict(channel=channel, region=region, max_steps=max_steps)
            made = build(loaded.data, plan, **kwargs) if build is zeros_trace else build(loaded.data, plan, result, **kwargs)
            show_trace(made, view)
        carried = None
        if loaded.alpha is not None and AlphaMode(alpha) == AlphaMode.keep:
            carried = carry_alpha(loaded.alpha, plan)
        return Outcome(result, range_mode=rule, alpha=carried, formulas=plan.formulas(),
                       title="remedy (resize, then convolve)" if remedy else "result")

    step.traces = trace              # --trace-view implies --trace
    step.prints = trace or overlap   # no result table after a trace or an overlap map
    return step


@op_command(tconv_step, epilog=EPILOG, replace={"region": TconvRegionOpt})
def tconv(
    kernel: Annotated[str, typer.Option(
        "--kernel", "-k", show_default=False,
        help="As for convolve: a named filter (`convcli kernels`), an inline matrix \"1,1;1,1\", or a file. "
             "A 2-D kernel works on each channel alone; a 4-D .npy of shape (C_in, C_out, kh, kw) is a "
             "PyTorch ConvTranspose2d weight (C_in first, unlike Conv2d) and mixes channels.")] = ...,
    stride: Annotated[str, typer.Option("--stride", "-s", rich_help_panel=GEOMETRY_PANEL, metavar="S|SY,SX",
                                        help="Output cells between the stamps of neighbouring inputs, ≥ 1 "
                                             "(the upsampling factor).")] = "1",
    padding: Annotated[str, typer.Option(
        "--padding", "-p", rich_help_panel=GEOMETRY_PANEL, metavar="P|PY,PX",
        help="Cells cropped from each side of the full result, ≥ 0 (PyTorch's meaning: the zero-insertion "
             "view pads dilation·(k − 1) − padding).")] = "0",
    output_padding: Annotated[str, typer.Option(
        "--output-padding", "-a", rich_help_panel=GEOMETRY_PANEL, metavar="A|AY,AX",
        help="Extra cells added at the bottom/right (to reach an exact size, e.g. 2×: -k 3 -s 2 -p 1 -a 1); "
             "must be smaller than the stride or the dilation.")] = "0",
    dilation: Annotated[str, typer.Option("--dilation", "-d", rich_help_panel=GEOMETRY_PANEL, metavar="D|DY,DX",
                                          help="Spacing between kernel taps, ≥ 1.")] = "1",
    bias: Annotated[str, typer.Option("--bias", rich_help_panel=GEOMETRY_PANEL, metavar="B|B1,B2,...",
                                      help="Added to every output value (one per output channel).")] = "0",
    overlap: Annotated[bool, typer.Option(
        "--overlap", rich_help_panel=CHECKERBOARD_PANEL,
        help="Instead of the result, show how many kernel taps reach each output pixel (kernel values "
             "ignored): uneven when the kernel size is not a multiple of the stride (k 3, s 2: 1 2 1 2 …). "
             "With -o: exact counts in .npy/.csv, or an image rescaled to the full range.")] = False,
    remedy: Annotated[bool, typer.Option(
        "--remedy", rich_help_panel=CHECKERBOARD_PANEL,
        help="Run the checkerboard remedy (Odena et al., Distill 2016) instead: nearest upsampling by the "
             "stride, then an ordinary convolution (zero padding) with the same kernel, flipped as in the "
             "zero-insertion view. The upsampled image is padded (top/left: dilation·(k − 1) − padding − "
             "⌊(stride − 1)/2⌋) or cropped so the result is exactly as large as the transposed "
             "convolution's, to compare pixel by pixel; at stride 1 both are equal. Each output sums "
             "kh·kw taps, more than the transposed convolution's, so values are larger.")] = False,
    trace_view: Annotated[Optional[TraceView], typer.Option(
        "--trace-view", rich_help_panel=TRACE_PANEL, case_sensitive=False, show_default=False,
        help="Which definition --trace draws (implies --trace): scatter (default) = each input value × the "
             "kernel added into the output, overlaps summing up; zeros = stride − 1 zeros inserted between "
             "inputs, padding dilation·(k − 1) − padding, then an ordinary convolution with the flipped "
             "kernel. Both give the same numbers.")] = None,
) -> None:
    """Transposed convolution of INPUT (PyTorch's conv_transpose2d): learnable upsampling.

    Each input value multiplies the kernel and is added into the output at stride steps.
    Output size: H_out = (H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1.
    """
