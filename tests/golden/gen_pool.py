"""Golden cases for pooling: mode × size × stride × padding × ceil_mode × count_include_pad.

Shapes are chosen so that ceil_mode really adds a partial last window in many cases, which is where
PyTorch's divisor rule (count the window only up to the end of the padding) shows.
"""
from __future__ import annotations

import itertools

import numpy as np


def cases(rng) -> list[dict]:
    import torch
    import torch.nn.functional as F

    out = []
    modes = ["max", "min", "avg"]
    sizes = [(2, 2), (3, 2), (3, 3)]
    strides = [None, (1, 1), (2, 3)]
    paddings = [(0, 0), (1, 1), (1, 0)]
    for mode, size, stride, padding, ceil_mode, cip in itertools.product(
            modes, sizes, strides, paddings, [False, True], [True, False]):
        if mode != "avg" and not cip:
            continue            # count_include_pad only changes averages
        h, w = int(rng.integers(5, 10)), int(rng.integers(5, 10))
        layout = "hw" if len(out) % 2 else "hwc"
        shape = (h, w) if layout == "hw" else (h, w, 3)
        x = rng.uniform(-100, 100, shape).astype(np.float32)
        xt = torch.from_numpy(x if x.ndim == 3 else x[:, :, None]).permute(2, 0, 1)[None]
        s = stride if stride is not None else size
        if mode == "max":
            y = F.max_pool2d(xt, size, s, padding, ceil_mode=ceil_mode)
        elif mode == "min":
            y = -F.max_pool2d(-xt, size, s, padding, ceil_mode=ceil_mode)
        else:
            y = F.avg_pool2d(xt, size, s, padding, ceil_mode=ceil_mode, count_include_pad=cip)
        y = y[0].permute(1, 2, 0).numpy()
        if layout == "hw":
            y = y[:, :, 0]
        out.append(dict(mode=mode, size=list(size), stride=None if stride is None else list(stride),
                        padding=list(padding), ceil_mode=ceil_mode, count_include_pad=cip, layout=layout,
                        x=x, expected=np.ascontiguousarray(y, dtype=np.float32)))
    return out
