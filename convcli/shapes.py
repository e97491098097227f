"""Output-size arithmetic, in one place.

Every op, trace and error message takes its sizes from here, so that the formula a learner
reads in a trace is the very formula the code used. The formulas are PyTorch's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .errors import ParameterError

Pair = tuple[int, int]


def as_pair(value: int | Sequence[int], name: str, *, minimum: int | None = None) -> Pair:
    """Turn ``3`` or ``(3, 2)`` into ``(3, 3)`` / ``(3, 2)``; check that both are integers >= minimum."""
    if isinstance(value, (int,)) and not isinstance(value, bool):
        pair = (value, value)
    else:
        try:
            items = tuple(value)  # type: ignore[arg-type]
        except TypeError:
            raise ParameterError(f"{name} must be an integer or a pair of integers, got {value!r}") from None
        if len(items) == 1:
            items = (items[0], items[0])
        if len(items) != 2:
            raise ParameterError(f"{name} must be one integer or two (Y,X), got {len(items)} values")
        pair = items  # type: ignore[assignment]
    out = []
    for v in pair:
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            else:
                raise ParameterError(f"{name} must be a whole number, got {v!r}")
        v = int(v)
        if minimum is not None and v < minimum:
            what = "at least 1" if minimum == 1 else f">= {minimum}"
            raise ParameterError(f"{name} must be {what}, got {v}")
        out.append(v)
    return out[0], out[1]


def effective_kernel(k: int, dilation: int) -> int:
    """Span of a dilated kernel: d·(k − 1) + 1."""
    return dilation * (k - 1) + 1


def conv_out(n: int, k: int, stride: int = 1, pad_lo: int = 0, pad_hi: int | None = None,
             dilation: int = 1) -> int:
    """⌊(n + p_lo + p_hi − d·(k − 1) − 1) / s⌋ + 1 (PyTorch Conv2d). May be ≤ 0: callers check."""
    if pad_hi is None:
        pad_hi = pad_lo
    return (n + pad_lo + pad_hi - dilation * (k - 1) - 1) // stride + 1


def conv_out_formula(axis: str, n: int, k: int, stride: int, pad_lo: int, pad_hi: int,
                     dilation: int) -> str:
    """The conv output-size formula with the numbers put in, e.g. for a trace."""
    out = conv_out(n, k, stride, pad_lo, pad_hi, dilation)
    if pad_lo == pad_hi:
        symbol, pad = "2·padding", f"2·{pad_lo}"
    else:     # 'same' with an even kernel: the extra cell goes to the bottom/right
        symbol = "pad_top + pad_bottom" if axis == "H" else "pad_left + pad_right"
        pad = f"{pad_lo} + {pad_hi}"
    return (f"{axis}_out = ⌊({axis}_in + {symbol} − dilation·(k − 1) − 1) / stride⌋ + 1 = "
            f"⌊({n} + {pad} − {dilation}·({k} − 1) − 1) / {stride}⌋ + 1 = {out}")


def pool_out(n: int, k: int, stride: int, pad: int, dilation: int = 1, ceil_mode: bool = False) -> int:
    """PyTorch pooling size, including its ceil_mode rule (the last window must start
    inside the input or its left padding)."""
    span = n + 2 * pad - dilation * (k - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= n + pad:
            out -= 1
    else:
        out = span // stride + 1
    return out


def pool_out_formula(axis: str, n: int, k: int, stride: int, pad: int, ceil_mode: bool = False,
                     dilation: int = 1) -> str:
    out = pool_out(n, k, stride, pad, dilation, ceil_mode)
    br = ("⌈", "⌉") if ceil_mode else ("⌊", "⌋")
    symbol, dil = ("dilation·(k − 1)", f"{dilation}·({k} − 1)") if dilation != 1 else ("(k − 1)", f"({k} − 1)")
    text = (f"{axis}_out = {br[0]}({axis}_in + 2·padding − {symbol} − 1) / stride{br[1]} + 1 = "
            f"{br[0]}({n} + 2·{pad} − {dil} − 1) / {stride}{br[1]} + 1")
    if ceil_mode and (-(-(n + 2 * pad - dilation * (k - 1) - 1) // stride)) * stride >= n + pad:
        text += " − 1 (the last window would start in the right padding)"
    return f"{text} = {out}"


def tconv_out(n: int, k: int, stride: int = 1, pad: int = 0, output_padding: int = 0,
              dilation: int = 1) -> int:
    """(n − 1)·s − 2·p + d·(k − 1) + output_padding + 1 (PyTorch ConvTranspose2d)."""
    return (n - 1) * stride - 2 * pad + dilation * (k - 1) + output_padding + 1


def tconv_out_formula(axis: str, n: int, k: int, stride: int, pad: int, output_padding: int,
                      dilation: int) -> str:
    out = tconv_out(n, k, stride, pad, output_padding, dilation)
    return (f"{axis}_out = ({axis}_in − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1"
            f" = ({n} − 1)·{stride} − 2·{pad} + {dilation}·({k} − 1) + {output_padding} + 1 = {out}")


@dataclass(frozen=True)
class ConvGeometry:
    """Resolved geometry of one 2-D convolution: everything the kernel and the trace need."""

    in_h: int
    in_w: int
    k_h: int
    k_w: int
    stride: Pair
    dilation: Pair
    pad: tuple[int, int, int, int]  # top, bottom, left, right

    @property
    def out_h(self) -> int:
        return conv_out(self.in_h, self.k_h, self.stride[0], self.pad[0], self.pad[1], self.dilation[0])

    @property
    def out_w(self) -> int:
        return conv_out(self.in_w, self.k_w, self.stride[1], self.pad[2], self.pad[3], self.dilation[1])

    @property
    def padded_h(self) -> int:
        return self.in_h + self.pad[0] + self.pad[1]

    @property
    def padded_w(self) -> int:
        return self.in_w + self.pad[2] + self.pad[3]

    def formulas(self) -> list[str]:
        return [
            conv_out_formula("H", self.in_h, self.k_h, self.stride[0], self.pad[0], self.pad[1], self.dilation[0]),
            conv_out_formula("W", self.in_w, self.k_w, self.stride[1], self.pad[2], self.pad[3], self.dilation[1]),
        ]


def resolve_conv_padding(padding: int | str | Sequence[int], k: Pair, dilation: Pair,
                         stride: Pair) -> tuple[int, int, int, int]:
    """Padding spec -> (top, bottom, left, right).

    ``valid`` = 0; ``same`` keeps the size at stride 1 (PyTorch: the extra cell of an even
    kernel goes to the bottom/right); ``full`` = d·(k − 1) on every side; an int or (PY, PX)
    pads symmetrically.
    """
    if isinstance(padding, str):
        word = padding.strip().lower()
        if word == "valid":
            return (0, 0, 0, 0)
        if word == "same":
            if stride != (1, 1):
                raise ParameterError(
                    "padding 'same' needs stride 1 (as in PyTorch); give the padding as a number instead")
            th, tw = dilation[0] * (k[0] - 1), dilation[1] * (k[1] - 1)
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        if word == "full":
            ph, pw = dilation[0] * (k[0] - 1), dilation[1] * (k[1] - 1)
            return (ph, ph, pw, pw)
        raise ParameterError(f"padding must be a number, 'PY,PX', 'valid', 'same' or 'full', got {padding!r}")
    py, px = as_pair(padding, "padding", minimum=0)
    return (py, py, px, px)


def upsample_out(n: int, *, scale: float | None = None, size: int | None = None) -> int:
    """Output size of ``interpolate``: the given size, or ⌊n × scale⌋ (computed in double, as PyTorch)."""
    if size is not None:
        return int(size)
    return int(math.floor(float(n) * float(scale)))


def upsample_out_formula(axis: str, n: int, *, scale: float | None = None, size: int | None = None) -> str:
    out = upsample_out(n, scale=scale, size=size)
    if size is not None:
        return f"{axis}_out = size = {out} (given; the coordinate map uses {axis}_in/{axis}_out = {n}/{out})"
    return f"{axis}_out = ⌊{axis}_in × scale⌋ = ⌊{n} × {float(scale):g}⌋ = {out}"
