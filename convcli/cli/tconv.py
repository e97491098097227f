"""``convcli tconv``: transposed convolution, its checkerboard, and the resize-then-convolve remedy."""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import numpy as np
import typer

from ..batch import Outcome, Step
from ..errors import ParameterError
from ..imageio import Loaded, resolve_range
from ..kernels import parse_kernel
from ..ops.sinks import RangeRule
from ..ops.tconv import carry_alpha, overlap_counts, overlap_map, plan_tconv, run_remedy, run_tconv
from ..render import make_console, print_matrix
from ..traces.tconv import DEFAULT_MAX_STEPS, scatter_trace, zeros_trace
from .application import app
from .options import (DEFAULT_DELAY, GEOMETRY_PANEL, TRACE_PANEL, AlphaMode, AlphaOpt, AnimateOpt, ChannelOpt,
                      ColormapOpt, ColorOpt, DebugOpt, DelayOpt, FormatOpt, GrayOpt, InputsArg, JobsOpt, JsonOpt,
                      MatrixOpt, MaxPixelsOpt, MaxStepsOpt, NameOpt, OutDirOpt, OutputOpt, QuietOpt, RangeMode, RangeOpt,
                      ShowOpt, ShowProtocolOpt, StepThroughOpt, TraceFormatOpt, TraceOpt, TraceOutOpt, floats, pair)
from .runner import RunOptions, debug_of, run_op
from .steps import Tracing, pixels_sink, tracing, tracing_of

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


KernelOpt = Annotated[str, typer.Option(
    "--kernel", "-k", show_default=False,
    help="As for convolve: a named filter (`convcli kernels`), an inline matrix \"1,1;1,1\", or a file. "
         "A 2-D kernel works on each channel alone; a 4-D .npy of shape (C_in, C_out, kh, kw) is a "
         "PyTorch ConvTranspose2d weight (C_in first, unlike Conv2d) and mixes channels.")]
StrideOpt = Annotated[object, typer.Option("--stride", "-s", rich_help_panel=GEOMETRY_PANEL, metavar="S|SY,SX",
                                       parser=pair("--stride", key="stride", minimum=1),
                                       help="Output cells between the stamps of neighbouring inputs, ≥ 1 "
                                            "(the upsampling factor).")]
PaddingOpt = Annotated[object, typer.Option(
    "--padding", "-p", rich_help_panel=GEOMETRY_PANEL, metavar="P|PY,PX",
    parser=pair("--padding", key="padding", minimum=0),
    help="Cells cropped from each side of the full result, ≥ 0 (PyTorch's meaning: the zero-insertion "
         "view pads dilation·(k − 1) − padding).")]
OutputPaddingOpt = Annotated[object, typer.Option(
    "--output-padding", "-a", rich_help_panel=GEOMETRY_PANEL, metavar="A|AY,AX",
    parser=pair("--output-padding", key="output_padding", minimum=0),
    help="Extra cells added at the bottom/right (to reach an exact size, e.g. 2×: -k 3 -s 2 -p 1 -a 1); "
         "must be smaller than the stride or the dilation.")]
DilationOpt = Annotated[object, typer.Option("--dilation", "-d", rich_help_panel=GEOMETRY_PANEL, metavar="D|DY,DX",
                                             parser=pair("--dilation", key="dilation", minimum=1),
                                             help="Spacing between kernel taps, ≥ 1.")]
BiasOpt = Annotated[object, typer.Option("--bias", rich_help_panel=GEOMETRY_PANEL, metavar="B|B1,B2,...",
                                         parser=floats("--bias"),
                                         help="Added to every output value (one per output channel).")]
OverlapOpt = Annotated[bool, typer.Option(
    "--overlap", rich_help_panel=CHECKERBOARD_PANEL,
    help="Instead of the result, show how many kernel taps reach each output pixel (kernel values "
         "ignored): uneven when the kernel size is not a multiple of the stride (k 3, s 2: 1 2 1 2 …). "
         "With -o: exact counts in .npy/.csv, or an image rescaled to the full range.")]
RemedyOpt = Annotated[bool, typer.Option(
    "--remedy", rich_help_panel=CHECKERBOARD_PANEL,
    help="Run the checkerboard remedy (Odena et al., Distill 2016) instead: nearest upsampling by the "
         "stride, then an ordinary convolution (zero padding) with the same kernel, flipped as in the "
         "zero-insertion view. The upsampled image is padded (top/left: dilation·(k − 1) − padding − "
         "⌊(stride − 1)/2⌋) or cropped so the result is exactly as large as the transposed "
         "convolution's, to compare pixel by pixel; at stride 1 both are equal. Each output sums "
         "kh·kw taps, more than the transposed convolution's, so values are larger.")]
TraceViewOpt = Annotated[Optional[TraceView], typer.Option(
    "--trace-view", rich_help_panel=TRACE_PANEL, case_sensitive=False, show_default=False,
    help="Which definition --trace draws (implies --trace): scatter (default) = each input value × the "
         "kernel added into the output, overlaps summing up; zeros = stride − 1 zeros inserted between "
         "inputs, padding dilation·(k − 1) − padding, then an ordinary convolution with the flipped "
         "kernel. Both give the same numbers.")]


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


def tconv_step(*, kernel: str, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1), bias=(0.0,),
               overlap: bool = False, remedy: bool = False, range_mode: RangeMode = RangeMode.auto,
               alpha: AlphaMode = AlphaMode.keep, trace: Tracing = Tracing(), trace_view: TraceView | None = None,
               show: bool = True) -> Step:
    """Check the parsed options once and return the per-input step (also used by `convcli chain`).
    ``show``: print the --overlap map (not when the result goes to a file or --json)."""
    traced = trace.on or trace_view is not None          # --trace-view implies --trace
    if remedy and (overlap or traced):
        raise ParameterError("--remedy runs an ordinary convolution: trace it with `convcli convolve`, and "
                             "its overlap is even (kh·kw taps everywhere); drop --overlap/--trace")
    if overlap and traced:
        raise ParameterError("give either --overlap or --trace, not both")
    k = parse_kernel(kernel)
    geometry = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation,
                    bias=bias[0] if len(bias) == 1 else list(bias))
    kernel_sums = k.sum(axis=(0, 2, 3)) if k.ndim == 4 else np.array([k.sum()])
    rule = resolve_range(RangeMode(range_mode).value, float(kernel_sums.min()))
    build = zeros_trace if trace_view is TraceView.zeros else scatter_trace

    def step(loaded: Loaded, pixels: bool) -> Outcome:
        plan = plan_tconv(loaded.data.shape, k, **geometry)
        if overlap:
            counts = overlap_map(plan)
            if show:
                _print_overlap(plan, counts)
            return Outcome(counts.astype(np.float32), rule=RangeRule("rescale", maxval=loaded.maxval))
        carried = None
        if loaded.alpha is not None and AlphaMode(alpha) == AlphaMode.keep:
            carried = carry_alpha(loaded.alpha, plan)
        range_rule = RangeRule(rule, maxval=loaded.maxval)
        sink = pixels_sink(range_rule, pixels and not traced and not remedy)
        if sink is not None:
            return Outcome(run_tconv(loaded.data, plan, sink=sink), rule=range_rule, alpha=carried,
                           formulas=plan.formulas(), is_pixels=True, maps=k.ndim == 4)
        result = run_remedy(loaded.data, plan) if remedy else run_tconv(loaded.data, plan)
        if traced:
            kwargs = dict(channel=trace.channel, region=trace.region, max_steps=trace.max_steps)
            made = build(loaded.data, plan, **kwargs) if build is zeros_trace else build(loaded.data, plan, result, **kwargs)
            trace.show(made)
        return Outcome(result, rule=range_rule, alpha=carried, formulas=plan.formulas(), maps=k.ndim == 4,
                       title="remedy (resize, then convolve)" if remedy else "result")

    # no result table after a trace or an overlap map
    return Step(run=step, traces=traced, prints=traced or overlap)


OWN = ("kernel", "stride", "padding", "output_padding", "dilation", "bias", "overlap", "remedy", "range_mode",
       "alpha", "trace_view")


def stage_step(params: dict, *, show: bool = True, **_printing) -> Step:
    """A `convcli chain` stage: the step from this command's parsed parameters."""
    return tconv_step(**{k: params[k] for k in OWN}, trace=tracing_of(params), show=show)


@app.command(epilog=EPILOG)
def tconv(
    ctx: typer.Context,
    inputs: InputsArg = None,
    kernel: KernelOpt = ..., stride: StrideOpt = "1", padding: PaddingOpt = "0", output_padding: OutputPaddingOpt = "0",
    dilation: DilationOpt = "1", bias: BiasOpt = "0", overlap: OverlapOpt = False, remedy: RemedyOpt = False,
    trace_view: TraceViewOpt = None,
    matrix: MatrixOpt = None, output: OutputOpt = None, gray: GrayOpt = False, alpha: AlphaOpt = AlphaMode.keep,
    range_mode: RangeOpt = RangeMode.auto, max_pixels: MaxPixelsOpt = None,
    trace: TraceOpt = False, region: TconvRegionOpt = None, max_steps: MaxStepsOpt = DEFAULT_MAX_STEPS,
    channel: ChannelOpt = 0,
    out_dir: OutDirOpt = None, fmt: FormatOpt = None, name: NameOpt = "{stem}", json_out: JsonOpt = False,
    quiet: QuietOpt = False, jobs: JobsOpt = None, show_pictures: ShowOpt = False, colormap: ColormapOpt = None,
    trace_format: TraceFormatOpt = None, trace_out: TraceOutOpt = None, animate: AnimateOpt = False,
    delay: DelayOpt = DEFAULT_DELAY, step_through: StepThroughOpt = False,
    debug: DebugOpt = False, color: ColorOpt = None, show_protocol: ShowProtocolOpt = None,
) -> None:
    """Transposed convolution of INPUT (PyTorch's conv_transpose2d): learnable upsampling.

    Each input value multiplies the kernel and is added into the output at stride steps.
    Output size: H_out = (H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1.
    """
    io = RunOptions(inputs=inputs, matrix=matrix, output=output, out_dir=out_dir, fmt=fmt, name=name,
                    json_out=json_out, quiet=quiet, jobs=jobs, gray=gray, alpha=alpha, max_pixels=max_pixels,
                    show=show_pictures, colormap=colormap, trace_out=trace_out, debug=debug_of(ctx))
    traced = tracing(trace=trace, region=region, max_steps=max_steps, channel=channel, trace_format=trace_format,
                     trace_out=trace_out, animate=animate, delay=delay, step_through=step_through)
    run_op(io, lambda: tconv_step(kernel=kernel, stride=stride, padding=padding, output_padding=output_padding,
                                  dilation=dilation, bias=bias, overlap=overlap, remedy=remedy, range_mode=range_mode,
                                  alpha=alpha, trace=traced, trace_view=trace_view, show=io.result_printed))
