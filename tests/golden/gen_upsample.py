"""Golden cases for interpolation: mode × align_corners × scale/size, up and down, small and large
outputs (PyTorch's nearest takes another code path when H_out + W_out > 128)."""
from __future__ import annotations

import itertools

import numpy as np


def cases(rng) -> list[dict]:
    import torch
    import torch.nn.functional as F

    out = []
    modes = ["nearest", "nearest-exact", "bilinear", "bicubic"]
    targets = [("scale", (2.0, 2.0)), ("scale", (1.5, 3.0)), ("scale", (0.6, 0.75)), ("scale", (2.017, 1.0322)),
               ("size", (7, 13)), ("size", (3, 4)), ("size", (12, 12))]
    for mode, (kind, value), align in itertools.product(modes, targets, [False, True]):
        if align and mode.startswith("nearest"):
            continue
        for big in (False, True):
            h, w = int(rng.integers(3, 9)), int(rng.integers(3, 9))
            if big:             # H_out + W_out > 128, kept cheap with a narrow input
                if value == (2.017, 1.0322):    # exactly ×2 and ×1 sizes, but not the scales 2 and 1
                    h, w = int(rng.integers(55, 59)), int(rng.integers(20, 31))
                elif kind == "scale":
                    h, w = int(135 / value[0]) + int(rng.integers(0, 5)), int(rng.integers(3, 7))
                else:
                    value = (130 + value[0], value[1])
                    h, w = int(rng.integers(30, 60)), int(rng.integers(3, 7))
            layout = "hw" if big or len(out) % 2 else "hwc"
            shape = (h, w) if layout == "hw" else (h, w, 3)
            x = rng.uniform(0, 255, shape).astype(np.float32)
            xt = torch.from_numpy(x if x.ndim == 3 else x[:, :, None]).permute(2, 0, 1).contiguous()[None]
            kwargs = {"scale_factor" if kind == "scale" else "size": value}
            y = F.interpolate(xt, mode=mode, align_corners=align if not mode.startswith("nearest") else None,
                              **kwargs)[0].permute(1, 2, 0).numpy()
            if layout == "hw":
                y = y[:, :, 0]
            out.append(dict(mode=mode, kind=kind, value=list(value), align_corners=align, layout=layout,
                            x=x, expected=np.ascontiguousarray(y, dtype=np.float32)))
    return out
