"""``convcli pool``: max, min or average pooling of an image or matrix."""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from ..imageio import resolve_range
from ..ops.pool import plan_pool, run_pool
from ..render import make_console, print_trace
from ..traces.pool import DEFAULT_MAX_STEPS, pool_trace
from . import app
from ._common import (GEOMETRY_PANEL, AlphaMode, ChannelOpt, GeometricAlphaOpt, GeometricRangeOpt, GrayOpt,
                      InputArg, MatrixOpt, MaxPixelsOpt, MaxStepsOpt, OutputOpt, RangeMode, RegionOpt, TraceOpt,
                      apply_limits, check_output, load, parse_pair, show_or_summarise, write)

EPILOG = (
    "Examples:  convcli pool sample_images/slide_pool_4x4.csv --mode max --trace  ·  "
    "convcli pool photo.jpg --mode avg --size 4 -o small.png  ·  "
    "convcli pool --matrix \"1,2,3;4,5,6;7,8,9\" --size 2 --stride 1 --padding 1 --ceil-mode"
)


class PoolMode(str, Enum):
    max = "max"
    min = "min"
    avg = "avg"


@app.command(epilog=EPILOG)
def pool(
    input_path: InputArg = None,
    mode: Annotated[PoolMode, typer.Option(
        "--mode", case_sensitive=False,
        help="max = largest value of each window (PyTorch max_pool2d); min = smallest (−max_pool2d(−x)); "
             "avg = mean (avg_pool2d).")] = PoolMode.max,
    size: Annotated[str, typer.Option("--size", rich_help_panel=GEOMETRY_PANEL, metavar="K|KH,KW",
                                      help="Window size (PyTorch's kernel_size), ≥ 1.")] = "2",
    stride: Annotated[Optional[str], typer.Option(
        "--stride", "-s", rich_help_panel=GEOMETRY_PANEL, metavar="S|SY,SX", show_default=False,
        help="Step of the window, ≥ 1 (default: the window size, so windows sit side by side).")] = None,
    padding: Annotated[str, typer.Option(
        "--padding", "-p", rich_help_panel=GEOMETRY_PANEL, metavar="P|PY,PX",
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
    matrix: MatrixOpt = None,
    output: OutputOpt = None,
    gray: GrayOpt = False,
    alpha: GeometricAlphaOpt = AlphaMode.keep,
    range_mode: GeometricRangeOpt = RangeMode.auto,
    max_pixels: MaxPixelsOpt = None,
    trace: TraceOpt = False,
    region: RegionOpt = None,
    max_steps: MaxStepsOpt = DEFAULT_MAX_STEPS,
    channel: ChannelOpt = 0,
) -> None:
    """Pool INPUT: the max, min or average of each window (PyTorch's max_pool2d / avg_pool2d).

    Colour channels are pooled one by one; images keep their mode and bit depth.
    Output size: H_out = ⌊(H + 2·padding − (size − 1) − 1) / stride⌋ + 1 (⌈…⌉ with --ceil-mode).
    """
    apply_limits(max_pixels)
    check_output(output, input_path)
    geometry = dict(mode=mode.value, size=parse_pair(size, "--size"),
                    stride=None if stride is None else parse_pair(stride, "--stride"),
                    padding=parse_pair(padding, "--padding"), ceil_mode=ceil_mode,
                    count_include_pad=count_include_pad)
    loaded = load(input_path, matrix, gray=gray, alpha=alpha)
    plan = plan_pool(loaded.data.shape, **geometry)
    result = run_pool(loaded.data, plan)
    if trace:
        print_trace(make_console(), pool_trace(loaded.data, plan, result, channel=channel, region=region,
                                               max_steps=max_steps))
    if output is not None:
        pooled_alpha = run_pool(loaded.alpha, plan) if loaded.alpha is not None else None
        write(result, output, loaded, range_mode=resolve_range(range_mode.value, None), alpha=pooled_alpha)
    elif not trace:
        show_or_summarise(result)
