"""``convcli upsample``: resize an image or matrix by interpolation (torch.nn.functional.interpolate)."""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from ..errors import ParameterError
from ..imageio import resolve_range
from ..ops.upsample import plan_upsample, run_upsample
from ..traces.upsample import DEFAULT_MAX_STEPS, upsample_trace
from ._common import (GEOMETRY_PANEL, AlphaMode, GeometricAlphaOpt, GeometricRangeOpt, RangeMode, op_command, op_step,
                      parse_floats, parse_pair, trace_output)

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


def upsample_step(*, mode: UpsampleMode = UpsampleMode.nearest, scale: str | None = None, size: str | None = None,
                  align_corners: bool = False, alpha: AlphaMode = AlphaMode.keep,
                  range_mode: RangeMode = RangeMode.auto, trace: bool = False, region: str | None = None,
                  max_steps: int = DEFAULT_MAX_STEPS, channel: int = 0, **more):
    """Check the options once and return the per-input step (also used by `convcli chain`)."""
    view = trace_output(**more)
    trace = trace or view is not None
    if (scale is None) == (size is None):
        raise ParameterError("give exactly one of --scale F (a factor) or --size H,W")
    factors = None
    if scale is not None:
        factors = parse_floats(scale, "--scale")
        if len(factors) not in (1, 2):
            raise ParameterError(f"--scale must be F or FY,FX, got {scale!r}")
    target = parse_pair(size, "--size") if size is not None else None
    rule = resolve_range(RangeMode(range_mode).value, None)
    mode_name = UpsampleMode(mode).value

    return op_step(lambda shape: plan_upsample(shape, mode=mode_name, scale=factors, size=target,
                                               align_corners=align_corners),
                   run_upsample, upsample_trace, carry=run_upsample, rule=rule, alpha=alpha, trace=trace, view=view,
                   region=region, max_steps=max_steps, channel=channel)


@op_command(upsample_step, epilog=EPILOG, replace={"alpha": GeometricAlphaOpt, "range_mode": GeometricRangeOpt})
def upsample(
    mode: Annotated[UpsampleMode, typer.Option(
        "--mode", case_sensitive=False,
        help="nearest = copy the input cell each output cell falls in (src = ⌊dst / scale⌋; PyTorch's "
             "default, OpenCV INTER_NEAREST); nearest-exact = the cell nearest to the output cell's centre "
             "(src = ⌊(dst + 0.5) / scale⌋, like Pillow and scikit-image); bilinear (or linear) = linear "
             "interpolation along x between the two nearest columns, then along y between the two nearest "
             "rows; bicubic = Keys' cubic over 4×4 neighbours (a = −0.75, borders repeated, as PyTorch and "
             "OpenCV INTER_CUBIC).")] = UpsampleMode.nearest,
    scale: Annotated[Optional[str], typer.Option(
        "--scale", rich_help_panel=GEOMETRY_PANEL, metavar="F|FY,FX", show_default=False,
        help="Scale factor(s) > 0 (below 1 shrinks): output ⌊H·F⌋ × ⌊W·F⌋; the coordinate map uses 1/F "
             "(PyTorch's scale_factor with recompute_scale_factor unset).")] = None,
    size: Annotated[Optional[str], typer.Option(
        "--size", rich_help_panel=GEOMETRY_PANEL, metavar="H,W", show_default=False,
        help="Output size instead of --scale; the coordinate map then uses in/out.")] = None,
    align_corners: Annotated[bool, typer.Option(
        "--align-corners", rich_help_panel=GEOMETRY_PANEL,
        help="bilinear/bicubic only: the corner cells' centres map onto each other, src = dst·(in − 1)/(out − 1). "
             "Default: half-pixel centres, src = (dst + 0.5)·ratio − 0.5.")] = False,
) -> None:
    """Resize INPUT by interpolation, as torch.nn.functional.interpolate (give --scale or --size).

    Colour channels are resized one by one; images keep their mode and bit depth, and a result larger
    than the pixel limit is refused before any memory is allocated.
    """
