"""convcli: the building blocks of convolutional networks, for images and small matrices.

>>> import numpy as np, convcli
>>> slide = np.array([[50, 50, 0, 0, 0]] * 5, dtype=np.float32)
>>> convcli.convolve(slide, "vertical-edge")[0].tolist()
[150.0, 150.0, 0.0]
"""
from ._version import __version__
from .errors import ConvcliError, InputError, LimitError, OutputError, ParameterError
from .kernels import NAMED_KERNELS, parse_kernel
from .ops import (BatchNormStats, BatchStats, Pixels, RangeRule, Values, activate, batch_norm, convolve, pool,
                  resize_convolve, tconv, upsample)

__all__ = [
    "__version__",
    "activate",
    "batch_norm",
    "BatchNormStats",
    "BatchStats",
    "convolve",
    "tconv",
    "resize_convolve",
    "pool",
    "upsample",
    "RangeRule",
    "Values",
    "Pixels",
    "parse_kernel",
    "NAMED_KERNELS",
    "ConvcliError",
    "InputError",
    "LimitError",
    "OutputError",
    "ParameterError",
]
