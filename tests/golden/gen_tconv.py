"""Golden cases for transposed convolution: stride × padding × output_padding × dilation × channel layout."""
from __future__ import annotations

import itertools

import numpy as np


def _out(n, k, s, p, a, d):
    return (n - 1) * s - 2 * p + d * (k - 1) + a + 1


def cases(rng) -> list[dict]:
    import torch
    import torch.nn.functional as F

    out = []
    layouts = ["hw", "hwc", "dense"]
    strides = [(1, 1), (2, 2), (3, 2)]
    paddings = [(0, 0), (1, 1), (2, 1)]
    output_paddings = [(0, 0), (1, 1), (1, 0), (2, 1)]
    dilations = [(1, 1), (2, 2), (1, 3)]
    for layout, stride, padding, out_pad, dilation in itertools.product(layouts, strides, paddings,
                                                                         output_paddings, dilations):
        # PyTorch's rule: output_padding < stride or < dilation, per axis
        if any(not (a < s or a < d) for a, s, d in zip(out_pad, stride, dilation)):
            continue
        kh, kw = [(3, 3), (2, 3), (4, 4), (1, 2)][len(out) % 4]
        h, w = int(rng.integers(2, 7)), int(rng.integers(2, 7))
        if _out(h, kh, stride[0], padding[0], out_pad[0], dilation[0]) < 1 or \
                _out(w, kw, stride[1], padding[1], out_pad[1], dilation[1]) < 1:
            continue
        c = 1 if layout == "hw" else 3
        x = rng.standard_normal((h, w) if layout == "hw" else (h, w, c)).astype(np.float32)
        if layout == "dense":
            weight = rng.standard_normal((c, 2, kh, kw)).astype(np.float32)   # (C_in, C_out, kh, kw)
            tw = torch.from_numpy(weight)
            groups = 1
        else:
            weight = rng.standard_normal((kh, kw)).astype(np.float32)
            tw = torch.from_numpy(weight)[None, None].repeat(c, 1, 1, 1)
            groups = c
        bias = rng.standard_normal(tw.shape[1] * groups).astype(np.float32)
        xt = torch.from_numpy(x if x.ndim == 3 else x[:, :, None]).permute(2, 0, 1)[None]
        y = F.conv_transpose2d(xt, tw, torch.from_numpy(bias), stride=stride, padding=padding,
                               output_padding=out_pad, groups=groups, dilation=dilation)[0]
        y = y.permute(1, 2, 0).numpy()
        if layout == "hw":
            y = y[:, :, 0]
        out.append(dict(layout=layout, stride=list(stride), padding=list(padding), output_padding=list(out_pad),
                        dilation=list(dilation), x=x, weight=weight, bias=bias,
                        expected=np.ascontiguousarray(y, dtype=np.float32)))
    return out
