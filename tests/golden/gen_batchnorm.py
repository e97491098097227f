"""Golden cases for batch normalization: torch.nn.BatchNorm2d over several mini-batches.

Inputs are stored channel-last (N, H, W, C) as convcli takes them. Each training case records
every mini-batch's normalized output and the running statistics after each update; eval cases
normalize fresh inputs with the running statistics that training left. A heterogeneous case
(images of different sizes) is computed by laying the images side by side in one (1, C, 1, ΣHW)
tensor: BatchNorm2d's per-channel statistics over it are the statistics over every pixel once.
"""
from __future__ import annotations

import numpy as np


def _bn(c, momentum, eps, gamma, beta):
    import torch

    bn = torch.nn.BatchNorm2d(c, eps=eps, momentum=momentum)
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(gamma))
        bn.bias.copy_(torch.from_numpy(beta))
    return bn


def _nchw(x):
    import torch

    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def cases(rng) -> list[dict]:
    import torch

    out = []
    settings = [  # N, C, H, W, batch_size, momentum, eps, scale
        (6, 3, 4, 5, 2, 0.1, 1e-5, 1.0),
        (7, 2, 3, 3, 3, None, 1e-5, 5.0),
        (5, 1, 6, 4, 5, 0.3, 1e-3, 0.2),
        (8, 3, 2, 2, 3, 0.5, 1e-5, 100.0),
        (4, 4, 5, 5, 1, None, 1e-4, 1.0),
    ]
    for n, c, h, w, bs, momentum, eps, scale in settings:
        x = (rng.standard_normal((n, h, w, c)) * scale + rng.uniform(-2, 2, c) * scale).astype(np.float32)
        gamma = rng.uniform(0.5, 2.0, c).astype(np.float32)
        beta = rng.uniform(-1, 1, c).astype(np.float32)
        bn = _bn(c, momentum, eps, gamma, beta)
        bn.train()
        ys, rms, rvs = [], [], []
        with torch.no_grad():
            for start in range(0, n, bs):
                y = bn(_nchw(x[start:start + bs]))
                ys.append(y.numpy().transpose(0, 2, 3, 1))
                rms.append(bn.running_mean.numpy().copy())
                rvs.append(bn.running_var.numpy().copy())
            bn.eval()
            x_eval = (rng.standard_normal((3, h + 1, w, c)) * scale).astype(np.float32)
            y_eval = bn(_nchw(x_eval)).numpy().transpose(0, 2, 3, 1)
        out.append(dict(kind="train", batch_size=bs, momentum=momentum, eps=eps, x=x, gamma=gamma, beta=beta,
                        y=np.concatenate(ys), running_mean=np.stack(rms), running_var=np.stack(rvs),
                        x_eval=x_eval, y_eval=np.ascontiguousarray(y_eval)))
    # heterogeneous sizes, one batch
    c = 3
    sizes = [(3, 4), (5, 2), (2, 7), (1, 3)]
    images = [(rng.standard_normal((hh, ww, c)) * 3 + 1).astype(np.float32) for hh, ww in sizes]
    flat = np.concatenate([im.reshape(1, 1, -1, c) for im in images], axis=2)   # (1, 1, ΣHW, C)
    gamma, beta = np.ones(c, np.float32), np.zeros(c, np.float32)
    bn = _bn(c, 0.1, 1e-5, gamma, beta)
    with torch.no_grad():
        y = bn(_nchw(flat)).numpy().transpose(0, 2, 3, 1)[0, 0]
    case = dict(kind="hetero", sizes=[list(s) for s in sizes], y=y, running_mean=bn.running_mean.numpy().copy(),
                running_var=bn.running_var.numpy().copy())
    for i, im in enumerate(images):
        case[f"x{i}"] = im
    out.append(case)
    return out
