"""The ops: plain NumPy in, NumPy out. No Pillow, Rich or Typer here.

Each op: validate -> plan (the plan names its execution path) -> run into a sink (float32 values,
or 8/16-bit pixels through a range rule). The plain references are in :mod:`convcli.ops.reference`.
"""
from .activations import activate, plan_activation, run_activation
from .batchnorm import BatchNormStats, BatchStats, batch_norm
from .conv import CONV_PATHS, convolve, plan_convolution, run_plan
from .pool import POOL_PATHS, plan_pool, pool, run_pool
from .sinks import Pixels, RangeRule, Values
from .tconv import TCONV_PATHS, overlap_map, plan_tconv, resize_convolve, run_tconv, tconv
from .upsample import UPSAMPLE_PATHS, plan_upsample, run_upsample, upsample

__all__ = ["activate", "plan_activation", "run_activation", "batch_norm", "BatchNormStats", "BatchStats",
           "convolve", "plan_convolution", "run_plan", "CONV_PATHS", "tconv", "plan_tconv", "run_tconv",
           "TCONV_PATHS", "overlap_map", "resize_convolve", "pool", "plan_pool", "run_pool", "POOL_PATHS",
           "upsample", "plan_upsample", "run_upsample", "UPSAMPLE_PATHS", "RangeRule", "Values", "Pixels"]
