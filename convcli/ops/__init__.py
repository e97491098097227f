"""The ops: plain NumPy in, NumPy out. No Pillow, Rich or Typer here."""
from .activations import activate
from .conv import convolve, plan_convolution

__all__ = ["activate", "convolve", "plan_convolution"]
