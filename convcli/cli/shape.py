"""``convcli shape``: output sizes from sizes alone, layer after layer, with the formulas."""
from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..errors import ParameterError
from ..layers import SYNTAX, parse_size, walk
from ..render import make_console
from ..render.present import dumps_compact
from ..render.summary import print_shape_table
from . import app

EPILOG = ("Examples:  convcli shape 28x28 conv:k=5 pool:k=2 conv:k=5 pool:k=2  ·  "
          "convcli shape 3x224x224 conv:k=7,s=2,p=3,out=64 pool:k=3,s=2,p=1  ·  "
          "convcli shape 5x5 pool:k=2,ceil  ·  convcli shape 7x7 tconv:k=3,s=2,p=1,op=1")


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
        "--json", help="Print JSON: a record per layer with its shape [C, H, W] and formulas.")] = False,
) -> None:
    """Compute output sizes through convolution, pooling (ceil_mode), transposed convolution
    (output_padding, dilation) and upsampling layers, from the sizes alone — no data needed.

    Every layer is checked with the op's own rules (an impossible layer is an error naming it), and
    its output size is printed with the formula and the numbers put in, as in the traces.
    """
    if not layers:
        raise ParameterError(f"give at least one LAYER after SIZE, e.g. {SYNTAX}")
    rows = walk(parse_size(size), list(layers))
    if json_out:
        sys.stdout.write(dumps_compact({"layers": [r.as_dict() for r in rows]}) + "\n")
        return
    print_shape_table(make_console(), rows)
