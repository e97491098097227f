"""The ops: plain NumPy in, NumPy out. No Pillow, Rich or Typer here."""
from .conv import convolve, plan_convolution
from .pool import plan_pool, pool
from .upsample import plan_upsample, upsample

__all__ = ["convolve", "plan_convolution", "pool", "plan_pool", "upsample", "plan_upsample"]
