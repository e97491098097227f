"""The ops: plain NumPy in, NumPy out. No Pillow, Rich or Typer here."""
from .conv import convolve, plan_convolution

__all__ = ["convolve", "plan_convolution"]
