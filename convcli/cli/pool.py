"""``convcli pool``: max, min or average pooling of an image or matrix."""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from ..imageio import resolve_range
from ..ops.pool import plan_pool, run_pool
from ..traces.pool import DEFAULT_MAX_STEPS, pool_trace
from ..shapes import as_pair
from ._common import (GEOMETRY_PANEL, AlphaMode, GeometricAlphaOpt, GeometricRangeOpt, RangeMode, op_command, op_step,
                      parse_pair, trace_output)

EPILOG = (
    "Examples:  convcli pool sample_images/slide_pool_4x4.csv --mode max --trace  ·  "
    "convcli pool photo.jpg --mode avg --size 4 -o small.png  ·  "
    "convcli pool --matrix \"1,2,3;4,5,6;7,8,9\" --size 2 --stride 1 --padding 1 --ceil-mode"
)


class PoolMode(str, Enum):
    max = "max"
    min = "min"
    avg = "avg"


def pool_step(*, mode: PoolMode = PoolMode.max, size: str = "2", stride: str | None = None, padding: str = "0",
              ceil_mode: bool = False, count_include_pad: bool = True, alpha: AlphaMode = AlphaMode.keep,
              range_mode: RangeMode = RangeMode.auto, trace: bool = False, region: str | None = None,
              max_steps: int = DEFAULT_MAX_STEPS, channel: int = 0, **more):
    """Check the options once and return the per-input step (also used by `convcli chain`)."""
    view = trace_output(**more)
    trace = trace or view is not None
    geometry = dict(mode=PoolMode(mode).value, size=as_pair(parse_pair(size, "--size"), "size", minimum=1),
                    stride=None if stride is None else as_pair(parse_pair(stride, "--stride"), "stride", minimum=1),
                    padding=as_pair(parse_pair(padding, "--padding"), "padding", minimum=0), ceil_mode=ceil_mode,
                    count_include_pad=count_include_pad)
    rule = resolve_range(RangeMode(range_mode).value, None)

    return op_step(lambda shape: plan_pool(shape, **geometry), run_pool, pool_trace, carry=run_pool, rule=rule,
                   alpha=alpha, trace=trace, view=view, region=region, max_steps=max_steps, channel=channel)


@op_command(pool_step, epilog=EPILOG, replace={"alpha": GeometricAlphaOpt, "range_mode": GeometricRangeOpt})
def pool(
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
) -> None:
    """Pool INPUT: the max, min or average of each window (PyTorch's max_pool2d / avg_pool2d).

    Colour channels are pooled one by one; images keep their mode and bit depth.
    Output size: H_out = ⌊(H + 2·padding − (size − 1) − 1) / stride⌋ + 1 (⌈…⌉ with --ceil-mode).
    """
