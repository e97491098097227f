"""``convcli kernels``: the table of named filters, and one kernel's weights."""
from __future__ import annotations

from typing import Iterable

import numpy as np
from rich.console import Console
from rich.table import Table

from ..kernels import NamedKernel
from .grids import print_matrix


def kernel_table(entries: Iterable[NamedKernel]) -> Table:
    """One row per named kernel: its name, the size it makes without parameters, what it does and
    how to pass parameters."""
    table = Table(title="named kernels (use with -k NAME or -k NAME:PARAMS)", title_justify="left")
    table.add_column("name")
    table.add_column("size")
    table.add_column("what it does")
    table.add_column("parameters")
    for entry in entries:
        k = entry.make()
        table.add_row(entry.name, f"{k.shape[0]}×{k.shape[1]}", entry.summary, entry.params or "-")
    return table


def print_kernel_list(console: Console, entries: Iterable[NamedKernel]) -> None:
    console.print(kernel_table(entries))
    console.print("convcli kernels NAME prints the weights.")


def print_kernel(console: Console, k: np.ndarray, spec: str) -> None:
    """A 2-D kernel's weights and their sum, or every (out, in) plane of a 4-D weight."""
    if k.ndim == 4:
        console.print(f"4-D weight {k.shape} = (C_out, C_in, kh, kw)")
        for co in range(k.shape[0]):
            for ci in range(k.shape[1]):
                print_matrix(console, k[co, ci], f"[{co}, {ci}]")
        return
    print_matrix(console, k, spec)
    console.print(f"sum of weights: {float(k.sum()):.6g}")
