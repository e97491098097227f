"""The ops: plain NumPy in, NumPy out. No Pillow, Rich or Typer here."""
from .activations import activate
from .batchnorm import BatchNormStats, BatchStats, batch_norm
from .conv import convolve, plan_convolution

__all__ = ["activate", "batch_norm", "BatchNormStats", "BatchStats", "convolve", "plan_convolution"]
