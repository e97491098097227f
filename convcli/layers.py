"""Shapes through a stack of layers, from sizes alone (``convcli shape``).

A layer is written compactly, ``name:key=value,key=value``; sizes that differ per axis as ``HxW``::

    conv:k=3,s=1,p=same,d=1,out=16      convolution (p: N, NxM, valid, same, full)
    pool:k=2,s=2,p=0,ceil               max/avg pooling (s defaults to k; ceil = ceil_mode)
    tconv:k=3,s=2,p=1,op=1,d=1,out=8    transposed convolution (op = output_padding)
    up:scale=2   or   up:size=56x56     upsampling (mode=nearest|nearest-exact|bilinear|bicubic, align)

Each layer is checked by the op's own planner (the same rules and error messages as running it)
and its output size comes with the formula, numbers put in, from :mod:`convcli.shapes`; so does its
receptive field (size r, jump j, start), per axis, with the convention written in ``shapes.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ParameterError
from .numbers import parse_float, parse_int
from .safeio import printable
from .shapes import Field, field_tconv, field_upsample, field_window

KINDS = {"conv": "conv", "convolve": "conv", "pool": "pool", "maxpool": "pool", "avgpool": "pool",
         "tconv": "tconv", "deconv": "tconv", "up": "up", "upsample": "up"}
KEYS = {"conv": {"k", "s", "p", "d", "out"}, "pool": {"k", "s", "p", "ceil"},
        "tconv": {"k", "s", "p", "op", "d", "out"}, "up": {"scale", "size", "mode", "align"}}
SYNTAX = ("conv:k=3,s=1,p=same,d=1,out=16 · pool:k=2,s=2,p=0,ceil · tconv:k=3,s=2,p=1,op=1,d=1,out=8 · "
          "up:scale=2,mode=bilinear (or up:size=56x56; mode nearest, nearest-exact, bilinear, bicubic; align)")


@dataclass
class Layer:
    text: str
    kind: str
    params: dict = field(default_factory=dict)


@dataclass
class Row:
    layer: str
    shape: tuple[int, int, int]          # C, H, W
    formulas: list[str]
    field_y: Field = Field()             # receptive field along H and W, in input cells
    field_x: Field = Field()
    field_formulas: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"layer": self.layer, "shape": list(self.shape), "formulas": self.formulas,
                "receptive": {"y": self.field_y.as_dict(), "x": self.field_x.as_dict(),
                              "formulas": self.field_formulas}}


def _pair(text: str, what: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) not in (1, 2):
        raise ParameterError(f"{what} must be N or NxM (whole numbers), got {printable(text)!r}")
    vals = [parse_int(p, what) for p in parts]
    return (vals[0], vals[0]) if len(vals) == 1 else (vals[0], vals[1])


def parse_size(text: str) -> tuple[int, int, int]:
    """``H,W``, ``HxW``, ``C,H,W`` or ``CxHxW`` -> (C, H, W)."""
    parts = [p.strip() for p in str(text).replace("×", "x").replace("x", ",").split(",")]
    if len(parts) not in (2, 3):
        raise ParameterError(f"SIZE must be H,W or C,H,W (whole numbers, or HxW / CxHxW), got {printable(text)!r}")
    vals = [parse_int(p, "SIZE") for p in parts]
    c, h, w = ([1] + vals) if len(vals) == 2 else vals
    if min(c, h, w) < 1:
        raise ParameterError(f"SIZE must be at least 1 in every dimension, got {text!r}")
    return c, h, w


def parse_layer(text: str) -> Layer:
    name, _, rest = str(text).strip().partition(":")
    kind = KINDS.get(name.strip().lower())
    if kind is None:
        raise ParameterError(f"layer {text!r}: must start with conv, pool, tconv or up, e.g. {SYNTAX}")
    params: dict = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if key not in KEYS[kind]:
            raise ParameterError(f"layer {text!r}: unknown key {key!r} for {kind} (known: "
                                 f"{', '.join(sorted(KEYS[kind]))})")
        if key in ("ceil", "align"):
            params[key] = value.strip().lower() not in ("0", "false", "no") if eq else True
        elif not eq or not value.strip():
            raise ParameterError(f"layer {text!r}: {key} needs a value ({key}=...)")
        else:
            params[key] = value.strip()
    if kind == "up" and ("scale" in params) == ("size" in params):
        raise ParameterError(f"layer {text!r}: give exactly one of scale=F or size=HxW")
    if kind in ("conv", "tconv", "pool") and "k" not in params:
        raise ParameterError(f"layer {text!r}: the kernel size k=... is required")
    if name.strip().lower() == "avgpool":
        params["mode"] = "avg"
    return Layer(str(text).strip(), kind, params)


def _channels(layer: Layer, c: int) -> int:
    if "out" not in layer.params:
        return c
    count = parse_int(layer.params["out"], "out")
    if count < 1:
        raise ParameterError(f"out must be a channel count ≥ 1, got {count}")
    return count


def output_shape(layer: Layer, shape: tuple[int, int, int], fields: tuple[Field, Field] = (Field(), Field())) -> Row:
    """One layer applied to (C, H, W): the op's own planner checks it and gives the formulas.

    ``fields``: the receptive fields (Y, X) of the layer's input; the row holds its output's.
    """
    from .ops.conv import plan_convolution
    from .ops.pool import plan_pool
    from .ops.tconv import plan_tconv
    from .ops.upsample import plan_upsample

    c, h, w = shape
    p = layer.params
    try:
        if layer.kind in ("conv", "tconv"):
            kernel = np.zeros(_pair(p["k"], "k"), dtype=np.float32)
            s, d = _pair(p.get("s", "1"), "s"), _pair(p.get("d", "1"), "d")
            if layer.kind == "conv":
                pad = p.get("p", "0")
                pad = pad.lower() if pad.lower() in ("valid", "same", "full") else _pair(pad, "p")
                plan = plan_convolution((h, w), kernel, stride=s, padding=pad, dilation=d)
                g = plan.geometry
                out_h, out_w, formulas = g.out_h, g.out_w, g.formulas()
                axes = [field_window(f, k, st, pl, dl) for f, k, st, pl, dl in
                        zip(fields, (g.k_h, g.k_w), g.stride, (g.pad[0], g.pad[2]), g.dilation)]
            else:
                plan = plan_tconv((h, w), kernel, stride=s, padding=_pair(p.get("p", "0"), "p"),
                                  output_padding=_pair(p.get("op", "0"), "op"), dilation=d)
                out_h, out_w, formulas = plan.out_h, plan.out_w, plan.formulas()
                axes = [field_tconv(f, k, st, pl, dl) for f, k, st, pl, dl in
                        zip(fields, (plan.k_h, plan.k_w), plan.stride, plan.padding, plan.dilation)]
            return _row(layer, (_channels(layer, c), out_h, out_w), formulas, axes)
        if layer.kind == "pool":
            k = _pair(p["k"], "k")
            plan = plan_pool((h, w), mode=p.get("mode", "max"), size=k, stride=_pair(p["s"], "s") if "s" in p else None,
                             padding=_pair(p.get("p", "0"), "p"), ceil_mode=bool(p.get("ceil", False)))
            axes = [field_window(f, kk, st, pl) for f, kk, st, pl in zip(fields, plan.size, plan.stride, plan.padding)]
            return _row(layer, (c, plan.out_h, plan.out_w), plan.formulas(), axes)
        mode, align = p.get("mode", "nearest").lower(), bool(p.get("align", False))
        if mode == "linear":
            mode = "bilinear"
        scales: tuple[float | None, float | None] = (None, None)
        if "size" in p:
            plan = plan_upsample((h, w), mode=mode, size=_pair(p["size"], "size"), align_corners=align)
        else:
            parts = p["scale"].lower().split("x")
            if len(parts) not in (1, 2):
                raise ParameterError(f"scale must be F or FYxFX, got {printable(p['scale'])!r}")
            scale = [parse_float(v, "scale") for v in parts]
            plan = plan_upsample((h, w), mode=mode, scale=scale[0] if len(scale) == 1 else tuple(scale),
                                 align_corners=align)
            scales = (plan.y.scale, plan.x.scale)
        axes = [field_upsample(f, n_in, n_out, plan.mode, scale=sc, align_corners=align) for f, n_in, n_out, sc in
                zip(fields, (h, w), (plan.out_h, plan.out_w), scales)]
        return _row(layer, (c, plan.out_h, plan.out_w), plan.formulas()[:2], axes)
    except ParameterError as exc:
        raise ParameterError(f"layer {layer.text!r} on a {c}×{h}×{w} input: {exc}") from None


def _row(layer: Layer, shape: tuple[int, int, int], formulas: list[str], axes: list) -> Row:
    """The row, with each receptive-field formula written once when both axes have the same numbers,
    else once per axis (Y: …, X: …)."""
    (fy, ly), (fx, lx) = axes
    lines: list[str] = []
    for ty, tx in zip(ly, lx):
        lines += [ty] if ty == tx else [f"Y: {ty}", f"X: {tx}"]
    return Row(layer.text, shape, formulas, fy, fx, lines)


def walk(size: tuple[int, int, int], layers: list[str]) -> list[Row]:
    """The input, then the shape after each layer."""
    rows = [Row("input", size, [])]
    for text in layers:
        last = rows[-1]
        rows.append(output_shape(parse_layer(text), last.shape, (last.field_y, last.field_x)))
    return rows
