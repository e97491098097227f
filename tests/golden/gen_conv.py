"""Golden cases for convolution: every padding mode × stride × dilation × channel layout."""
from __future__ import annotations

import itertools

import numpy as np


def _explicit_pad(padding, kh, kw, dilation):
    dy, dx = dilation
    if padding == "same":
        th, tw = dy * (kh - 1), dx * (kw - 1)
        return [th // 2, th - th // 2, tw // 2, tw - tw // 2]
    if padding == "full":
        return [dy * (kh - 1)] * 2 + [dx * (kw - 1)] * 2
    py, px = padding
    return [py, py, px, px]


def cases(rng) -> list[dict]:
    import torch
    import torch.nn.functional as F

    out = []
    layouts = ["hw", "hwc", "dense"]
    strides = [(1, 1), (2, 2), (2, 1)]
    dilations = [(1, 1), (2, 2), (1, 2)]
    paddings = [(0, 0), (1, 1), (2, 1), "same", "full"]
    modes = ["zeros", "reflect", "replicate", "circular"]
    for layout, stride, dilation, padding, mode in itertools.product(layouts, strides, dilations, paddings, modes):
        if padding == "same" and stride != (1, 1):
            continue
        kh, kw = (3, 3) if (len(out) % 3) else (2, 3)
        h, w = int(rng.integers(6, 10)), int(rng.integers(6, 10))
        c = 1 if layout == "hw" else 3
        x = rng.standard_normal((h, w) if layout == "hw" else (h, w, c)).astype(np.float32)
        if layout == "dense":
            c_out = 2
            weight = rng.standard_normal((c_out, c, kh, kw)).astype(np.float32)
            tw = torch.from_numpy(weight)
            groups = 1
        else:
            weight = rng.standard_normal((kh, kw)).astype(np.float32)
            tw = torch.from_numpy(weight)[None, None].repeat(c, 1, 1, 1)
            groups = c
        bias = rng.standard_normal(tw.shape[0]).astype(np.float32)
        pad = _explicit_pad(padding, kh, kw, dilation)
        xt = torch.from_numpy(x if x.ndim == 3 else x[:, :, None]).permute(2, 0, 1)[None]
        if any(pad):
            torch_mode = "constant" if mode == "zeros" else mode
            xt = F.pad(xt, (pad[2], pad[3], pad[0], pad[1]), mode=torch_mode)
        y = F.conv2d(xt, tw, torch.from_numpy(bias), stride=stride, dilation=dilation, groups=groups)[0]
        y = y.permute(1, 2, 0).numpy()
        if layout == "hw":
            y = y[:, :, 0]
        out.append(dict(layout=layout, stride=list(stride), dilation=list(dilation),
                        padding=padding if isinstance(padding, str) else list(padding), padding_mode=mode,
                        x=x, weight=weight, bias=bias, expected=np.ascontiguousarray(y, dtype=np.float32)))
    return out
