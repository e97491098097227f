"""``convcli kernels``: list the named filters, or show one's matrix."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..kernels import NAMED_KERNELS, parse_kernel
from ..render import make_console
from ..render.kernels import print_kernel, print_kernel_list
from .application import app
from .options import ColorOpt, DebugOpt


@app.command("kernels")
def kernels(
    spec: Annotated[Optional[str], typer.Argument(
        metavar="[KERNEL]", show_default=False,
        help="Show this kernel's matrix: a name (with parameters, e.g. gaussian:5,1.0), an inline matrix or a file.")] = None,
    debug: DebugOpt = False,
    color: ColorOpt = None,
) -> None:
    """List the named kernels, or print one kernel's weights."""
    console = make_console()
    if spec is None:
        print_kernel_list(console, NAMED_KERNELS.values())
        return
    print_kernel(console, parse_kernel(spec), spec)
