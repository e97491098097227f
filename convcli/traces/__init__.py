"""Step-by-step traces as plain data (no Rich): what each output number is made of.

Every op builds a :class:`Trace`; ``convcli.render.trace`` draws any of them the same way.
"""
from .model import GridView, Step, Trace, fmt, move_text, region_cells

__all__ = ["GridView", "Step", "Trace", "fmt", "move_text", "region_cells"]
