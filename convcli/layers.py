"""Shapes through a stack of layers, from sizes alone (``convcli shape``).

A layer is written compactly, ``name:key=value,key=value``; sizes that differ per axis as ``HxW``::

    conv:k=3,s=1,p=same,d=1,out=16      convolution (p: N, NxM, valid, same, full)
    pool:k=2,s=2,p=0,ceil               max/avg pooling (s defaults to k; ceil = ceil_mode)
    tconv:k=3,s=2,p=1,op=1,d=1,out=8    transposed convolution (op = output_padding)
    up:scale=2   or   up:size=56x56     upsampling

Each layer is checked by the op's own planner (the same rules and error messages as running it)
and its output size comes with the formula, numbers put in, from :mod:`convcli.shapes`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ParameterError

KINDS = {"conv": "conv", "convolve": "conv", "pool": "pool", "maxpool": "pool", "avgpool": "pool",
         "tconv": "tconv", "deconv": "tconv", "up": "up", "upsample": "up"}
KEYS = {"conv": {"k", "s", "p", "d", "out"}, "pool": {"k", "s", "p", "ceil"},
        "tconv": {"k", "s", "p", "op", "d", "out"}, "up": {"scale", "size"}}
SYNTAX = ("conv:k=3,s=1,p=same,d=1,out=16 · pool:k=2,s=2,p=0,ceil · tconv:k=3,s=2,p=1,op=1,d=1,out=8 · "
          "up:scale=2 (or up:size=56x56)")


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

    def as_dict(self) -> dict:
        return {"layer": self.layer, "shape": list(self.shape), "formulas": self.formulas}


def _pair(text: str, what: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
        raise ParameterError(f"{what} must be N or NxM (whole numbers), got {text!r}")
    vals = [int(p) for p in parts]
    return (vals[0], vals[0]) if len(vals) == 1 else (vals[0], vals[1])


def parse_size(text: str) -> tuple[int, int, int]:
    """``H,W``, ``HxW``, ``C,H,W`` or ``CxHxW`` -> (C, H, W)."""
    parts = [p.strip() for p in str(text).replace("×", "x").replace("x", ",").split(",")]
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ParameterError(f"SIZE must be H,W or C,H,W (whole numbers, or HxW / CxHxW), got {text!r}")
    vals = [int(p) for p in parts]
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
        if key == "ceil":
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
    text = layer.params["out"]
    if not text.isdigit() or int(text) < 1:
        raise ParameterError(f"layer {layer.text!r}: out must be a channel count ≥ 1, got {text!r}")
    return int(text)


def output_shape(layer: Layer, shape: tuple[int, int, int]) -> Row:
    """One layer applied to (C, H, W): the op's own planner checks it and gives the formulas."""
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
                geometry = plan.geometry
                out_h, out_w, formulas = geometry.out_h, geometry.out_w, geometry.formulas()
            else:
                plan = plan_tconv((h, w), kernel, stride=s, padding=_pair(p.get("p", "0"), "p"),
                                  output_padding=_pair(p.get("op", "0"), "op"), dilation=d)
                out_h, out_w, formulas = plan.out_h, plan.out_w, plan.formulas()
            return Row(layer.text, (_channels(layer, c), out_h, out_w), formulas)
        if layer.kind == "pool":
            k = _pair(p["k"], "k")
            plan = plan_pool((h, w), mode=p.get("mode", "max"), size=k, stride=_pair(p["s"], "s") if "s" in p else None,
                             padding=_pair(p.get("p", "0"), "p"), ceil_mode=bool(p.get("ceil", False)))
            return Row(layer.text, (c, plan.out_h, plan.out_w), plan.formulas())
        if "size" in p:
            plan = plan_upsample((h, w), size=_pair(p["size"], "size"))
        else:
            try:
                scale = [float(v) for v in p["scale"].lower().split("x")]
            except ValueError:
                raise ParameterError(f"scale must be F or FYxFX, got {p['scale']!r}") from None
            plan = plan_upsample((h, w), scale=scale[0] if len(scale) == 1 else tuple(scale))
        return Row(layer.text, (c, plan.out_h, plan.out_w), plan.formulas()[:2])
    except ParameterError as exc:
        raise ParameterError(f"layer {layer.text!r} on a {c}×{h}×{w} input: {exc}") from None


def walk(size: tuple[int, int, int], layers: list[str]) -> list[Row]:
    """The input, then the shape after each layer."""
    rows = [Row("input", size, [])]
    for text in layers:
        rows.append(output_shape(parse_layer(text), rows[-1].shape))
    return rows
