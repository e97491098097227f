"""``convcli kernels``: list the named filters, or show one's matrix."""
from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from ..kernels import NAMED_KERNELS, parse_kernel
from ..render import make_console, print_matrix
from . import app


@app.command("kernels")
def kernels(
    spec: Annotated[Optional[str], typer.Argument(
        metavar="[KERNEL]", show_default=False,
        help="Show this kernel's matrix: a name (with parameters, e.g. gaussian:5,1.0), an inline matrix or a file.")] = None,
) -> None:
    """List the named kernels, or print one kernel's weights."""
    console = make_console()
    if spec is None:
        table = Table(title="named kernels (use with -k NAME or -k NAME:PARAMS)", title_justify="left")
        table.add_column("name")
        table.add_column("size")
        table.add_column("what it does")
        table.add_column("parameters")
        for entry in NAMED_KERNELS.values():
            k = entry.make()
            table.add_row(entry.name, f"{k.shape[0]}×{k.shape[1]}", entry.summary, entry.params or "-")
        console.print(table)
        console.print("convcli kernels NAME prints the weights.")
        return
    k = parse_kernel(spec)
    if k.ndim == 4:
        console.print(f"4-D weight {k.shape} = (C_out, C_in, kh, kw)")
        for co in range(k.shape[0]):
            for ci in range(k.shape[1]):
                print_matrix(console, k[co, ci], f"[{co}, {ci}]")
        return
    print_matrix(console, k, spec)
    console.print(f"sum of weights: {float(k.sum()):.6g}")
