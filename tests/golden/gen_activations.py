"""Golden cases for activations: every function's value and autograd derivative, PyTorch's own numbers.

Each case is one function (and α where it has one) on a grid that covers the kinks (exact zeros,
±0), the softplus threshold (20 and its neighbours), the saturated tails (±30, ±90) and random values.
"""
from __future__ import annotations

import numpy as np

SPECIAL = [0.0, -0.0, 1e-7, -1e-7, 1e-3, -1e-3, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 5.0, -5.0, 10.0, -10.0,
           19.99, 20.0, 20.01, 25.0, -20.0, -25.0, 30.0, -30.0, 45.0, -45.0, 88.0, -88.0, 90.0, -90.0,
           -104.0, 1e4, -1e4]


def _torch_fn(name, alpha):
    import torch
    F = torch.nn.functional
    return {
        "relu": F.relu,
        "leaky-relu": lambda t: F.leaky_relu(t, negative_slope=alpha),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "elu": lambda t: F.elu(t, alpha=alpha),
        "gelu": lambda t: F.gelu(t),                 # approximate='none', the erf form
        "silu": F.silu,
        "softplus": lambda t: F.softplus(t),         # beta=1, threshold=20
    }[name]


def cases(rng) -> list[dict]:
    import torch

    out = []
    settings = [("relu", None), ("leaky-relu", 0.01), ("leaky-relu", 0.2), ("leaky-relu", -0.5),
                ("sigmoid", None), ("tanh", None), ("elu", 1.0), ("elu", 0.5), ("elu", 2.5), ("gelu", None),
                ("silu", None), ("softplus", None)]
    for name, alpha in settings:
        x = np.concatenate([np.array(SPECIAL, dtype=np.float32),
                            rng.standard_normal(200).astype(np.float32) * 4,
                            rng.uniform(-30, 30, 100).astype(np.float32)])
        xt = torch.from_numpy(x.copy()).requires_grad_(True)
        y = _torch_fn(name, alpha)(xt)
        y.sum().backward()
        out.append(dict(fn=name, alpha=alpha, x=x, y=y.detach().numpy().copy(), grad=xt.grad.numpy().copy()))
    return out
