"""Terminal rendering: Rich lives here alone."""
from .console import make_console
from .grids import matrix_table, print_matrix
from .trace import print_trace, render_step

__all__ = ["make_console", "matrix_table", "print_matrix", "print_trace", "render_step"]
