"""``convcli shape``: output sizes from sizes alone, layer after layer, with the formulas."""
from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..errors import ParameterError
from ..layers import SYNTAX, parse_size, walk
from ..render import make_console
from ..render.present import dumps_compact
from ..render.receptive import print_field_table
from ..render.summary import print_shape_table
from .application import app
from .options import ColorOpt, DebugOpt

EPILOG = ("Examples:  convcli shape 28x28 conv:k=5 pool:k=2 conv:k=5 pool:k=2  ·  "
          "convcli shape 3x224x224 conv:k=7,s=2,p=3,out=64 pool:k=3,s=2,p=1  ·  "
          "convcli shape 5x5 pool:k=2,ceil  ·  convcli shape 7x7 tconv:k=3,s=2,p=1,op=1  ·  "
          "convcli shape 32x32 conv:k=3,p=1 up:scale=2,mode=bilinear")


@app.command(epilog=EPILOG)
def shape(
    size: Annotated[str, typer.Argument(
        metavar="SIZE", show_default=False,
        help="The input size: H,W or C,H,W (also HxW, CxHxW), e.g. 28x28 or 3x224x224.")],
    layers: Annotated[Optional[list[str]], typer.Argument(
        metavar="LAYER...", show_default=False,
        help=f"Layers in order, each name:key=value,...: {SYNTAX}. Sizes per axis as HxW (k=3x5). "
             "conv p: N, NxM, valid, same or full; out = output channels.")] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="Print JSON: a record per layer with its shape [C, H, W], formulas, and receptive field "
                       "(receptive.y and .x: r, j, start; receptive.formulas).")] = False,
    debug: DebugOpt = False,
    color: ColorOpt = None,
) -> None:
    """Compute output sizes through convolution, pooling (ceil_mode), transposed convolution
    (output_padding, dilation) and upsampling layers, from the sizes alone — no data needed.

    Every layer is checked with the op's own rules (an impossible layer is an error naming it), and
    its output size is printed with the formula and the numbers put in, as in the traces. A second
    table gives each layer's receptive field, per axis, in input cells: size r = r_in + (k − 1)·d·j_in,
    jump j = j_in·s, start = start_in + ((k − 1)·d/2 − p)·j_in (the centre of output cell 0's field;
    p = padding before the first cell). tconv and up use s = 1/stride or the resampling ratio.
    """
    if not layers:
        raise ParameterError(f"give at least one LAYER after SIZE, e.g. {SYNTAX}")
    rows = walk(parse_size(size), list(layers))
    if json_out:
        sys.stdout.write(dumps_compact({"layers": [r.as_dict() for r in rows]}) + "\n")
        return
    console = make_console()
    print_shape_table(console, rows)
    print_field_table(console, rows)
