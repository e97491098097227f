"""The ops: plain NumPy in, NumPy out. No Pillow, Rich or Typer here."""
from .activations import activate
from .batchnorm import BatchNormStats, BatchStats, batch_norm
from .conv import convolve, plan_convolution
from .pool import plan_pool, pool
from .tconv import overlap_map, plan_tconv, resize_convolve, tconv
from .upsample import plan_upsample, upsample

__all__ = ["activate", "batch_norm", "BatchNormStats", "BatchStats", "convolve", "plan_convolution",
           "tconv", "plan_tconv", "overlap_map", "resize_convolve", "pool", "plan_pool", "upsample",
           "plan_upsample"]
