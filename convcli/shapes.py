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


# ------------------------------------------------------------------ receptive fields (`convcli shape`)
#
# Convention, one axis at a time: input cells are numbered 0, 1, … and a cell's centre is its
# number. For the output of a layer, r (size) is how many input cells one output cell sees, padding
# cells included; j (jump) is how many input cells apart the fields of two neighbouring output cells
# are; start is the centre of output cell 0's field, in input cells (negative: it reaches into the
# padding). Output cell i's field is centred at start + i·j and spans r cells. The input itself has
# r = 1, j = 1, start = 0. ``p`` is the padding before the first cell (top or left).
# Transposed convolution and upsampling use the same formulas with the stride replaced by the
# spacing of their sampling: a fraction (1/stride, or the coordinate map's ratio in/out); their r and
# start are then a span and a centre between cell centres: the whole cells of a field lie within
# r/2 of its centre, fewer where an interpolation weight is 0 (`convcli chain --trace` counts them).

from fractions import Fraction  # noqa: E402


@dataclass(frozen=True)
class Field:
    """The receptive field along one axis: size r, jump j, start (see the convention above)."""

    r: Fraction = Fraction(1)
    j: Fraction = Fraction(1)
    start: Fraction = Fraction(0)

    def as_dict(self) -> dict:
        return {"r": num(self.r), "j": num(self.j), "start": num(self.start)}


def num(v: Fraction | int | float) -> int | float:
    """A Fraction as an int when whole, else a float (for JSON)."""
    v = Fraction(v)
    return int(v) if v.denominator == 1 else float(v)


def num_text(v: Fraction | int | float) -> str:
    """``3``, ``-0.5``, ``0.3333``: whole numbers exactly, others to 4 significant digits."""
    v = Fraction(v)
    if v.denominator == 1:
        return str(v.numerator)
    return f"{float(v):.4g}"


def _paren(v: Fraction) -> str:
    text = num_text(v)
    return f"({text})" if v < 0 else text


def field_window(f: Field, k: int, stride: int, pad: int, dilation: int = 1) -> tuple[Field, list[str]]:
    """A convolution or pooling window (k taps, dilation d, stride s, padding p before the first cell)."""
    span = (k - 1) * dilation
    out = Field(f.r + span * f.j, f.j * stride, f.start + (Fraction(span, 2) - pad) * f.j)
    return out, [
        f"r = r_in + (k − 1)·d·j_in = {num_text(f.r)} + ({k} − 1)·{dilation}·{num_text(f.j)} = {num_text(out.r)}",
        f"j = j_in·s = {num_text(f.j)}·{stride} = {num_text(out.j)}",
        f"start = start_in + ((k − 1)·d/2 − p)·j_in = {_paren(f.start)} + (({k} − 1)·{dilation}/2 − {pad})·"
        f"{num_text(f.j)} = {num_text(out.start)}",
    ]


def field_tconv(f: Field, k: int, stride: int, pad: int, dilation: int = 1) -> tuple[Field, list[str]]:
    """A transposed convolution: output o gathers the inputs i = (o + p − t·d)/s, t = 0..k − 1."""
    span = (k - 1) * dilation
    out = Field(f.r + Fraction(span, stride) * f.j, f.j / stride, f.start + Fraction(2 * pad - span, 2 * stride) * f.j)
    return out, [
        f"r = r_in + (k − 1)·d·j_in/s = {num_text(f.r)} + ({k} − 1)·{dilation}·{num_text(f.j)}/{stride} = "
        f"{num_text(out.r)}",
        f"j = j_in/s = {num_text(f.j)}/{stride} = {num_text(out.j)}",
        f"start = start_in + (p − (k − 1)·d/2)·j_in/s = {_paren(f.start)} + ({pad} − ({k} − 1)·{dilation}/2)·"
        f"{num_text(f.j)}/{stride} = {num_text(out.start)}",
    ]


UPSAMPLE_TAPS = {"nearest": 1, "nearest-exact": 1, "bilinear": 2, "bicubic": 4}


def field_upsample(f: Field, n_in: int, n_out: int, mode: str, *, scale: float | None = None,
                   align_corners: bool = False) -> tuple[Field, list[str]]:
    """Upsampling: output o reads the input taps around its source coordinate src(o) = c + o·ρ."""
    taps = UPSAMPLE_TAPS[mode]
    if align_corners:
        ratio = Fraction(n_in - 1, n_out - 1) if n_out > 1 else Fraction(0)
        ratio_text, offset, offset_text = f"(in − 1)/(out − 1) = {n_in - 1}/{n_out - 1}", Fraction(0), "0"
    else:
        if scale is not None:
            ratio = 1 / Fraction(str(scale))
            ratio_text = f"1/scale = 1/{scale:g}"
        else:
            ratio = Fraction(n_in, n_out)
            ratio_text = f"in/out = {n_in}/{n_out}"
        if mode == "nearest":
            offset, offset_text = Fraction(0), "0"
        else:
            offset = (ratio - 1) / 2
            offset_text = "(ρ − 1)/2"
    out = Field(f.r + (taps - 1) * f.j, f.j * ratio, f.start + offset * f.j)
    where = {"nearest": "src = ⌊o·ρ⌋", "nearest-exact": "src = ⌊(o + 0.5)·ρ⌋"}.get(
        mode, "src = o·ρ" if align_corners else "src = (o + 0.5)·ρ − 0.5")
    return out, [
        f"ρ = {ratio_text} = {num_text(ratio)}; {mode}: {taps} tap{'s' if taps > 1 else ''} around {where}",
        f"r = r_in + (taps − 1)·j_in = {num_text(f.r)} + ({taps} − 1)·{num_text(f.j)} = {num_text(out.r)}",
        f"j = j_in·ρ = {num_text(f.j)}·{num_text(ratio)} = {num_text(out.j)}",
        f"start = start_in + {offset_text}·j_in = {_paren(f.start)} + {_paren(offset)}·{num_text(f.j)} = "
        f"{num_text(out.start)}",
    ]
