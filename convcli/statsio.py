"""Running statistics files (``bnorm-stats --save-stats`` / ``--eval --stats``): read with a size
cap and checked against a strict schema. NumPy and json only.

The file is a JSON object; nothing in it may be nested deeper than an object holding lists::

    {"running_mean": [0.5, 0.4], "running_var": [0.1, 0.2], "num_batches_tracked": 3,
     "eps": 1e-05, "momentum": 0.1, "gamma": [1, 1], "beta": [0, 0], "pixel_scale": "unit"}

``running_mean`` and ``running_var`` are required: equally long, non-empty lists of finite
numbers (JSON numbers only: no strings, no true/false, no NaN), variances ≥ 0. The other keys are
optional; ``gamma`` and ``beta`` hold one value or one per channel. Every problem is an
:class:`InputError` naming the file and the key.
"""
from __future__ import annotations

import json
import math
import re

import numpy as np

from .errors import InputError
from .safeio import printable, read_bounded

MAX_STATS_BYTES = 1 << 20        # 1 MiB: about 40,000 channels of statistics written by --save-stats
MAX_DEPTH = 2                    # the object, and the lists in it
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def read_stats(path: str) -> dict:
    """Read and check a running-statistics file; returns ``channels``, ``running_mean``,
    ``running_var``, ``num_batches_tracked``, ``pixel_scale`` and, when present, ``eps``, ``gamma``,
    ``beta``."""
    data = read_bounded(path, MAX_STATS_BYTES, what="stats file")
    return parse_stats(data, path)


def parse_stats(data: bytes, path: str = "stats") -> dict:
    name = printable(path)
    if not data.strip():
        raise InputError(f"{name}: stats file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name}: stats file is not UTF-8 JSON text") from None
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise InputError(f"{name}: stats file is nested {depth} levels deep; it holds an object of lists "
                         f"({MAX_DEPTH} levels; write it with --save-stats)")
    try:
        doc = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except _Refused as exc:
        raise InputError(f"{name}: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{name}: not a readable JSON stats file ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{name}: a stats file holds a JSON object, got {_kind(doc)}")
    rm = _numbers(doc, "running_mean", name, required=True)
    rv = _numbers(doc, "running_var", name, required=True)
    if len(rm) != len(rv):
        raise InputError(f"{name}: running_mean has {len(rm)} values but running_var has {len(rv)}; "
                         f"they need one per channel each")
    if min(rv) < 0:
        raise InputError(f"{name}: running_var holds a negative variance ({min(rv):g}); variances are ≥ 0")
    channels = len(rm)
    if "channels" in doc and (not _is_int(doc["channels"]) or doc["channels"] != channels):
        raise InputError(f"{name}: channels is {_show(doc['channels'])} but running_mean has {channels} values")
    out: dict = {"channels": channels, "running_mean": rm, "running_var": rv, "num_batches_tracked": 0,
                 "pixel_scale": None}
    if "num_batches_tracked" in doc:
        n = doc["num_batches_tracked"]
        if not _is_int(n) or n < 0:
            raise InputError(f"{name}: num_batches_tracked must be a whole number ≥ 0, got {_show(n)}")
        out["num_batches_tracked"] = int(n)
    if doc.get("eps") is not None:
        eps = doc["eps"]
        if not _is_number(eps) or not math.isfinite(eps) or eps <= 0:
            raise InputError(f"{name}: eps must be a number > 0, got {_show(eps)}")
        out["eps"] = float(eps)
    if doc.get("momentum") is not None:
        m = doc["momentum"]
        if not _is_number(m) or not 0.0 <= m <= 1.0:
            raise InputError(f"{name}: momentum must be a number between 0 and 1, or null, got {_show(m)}")
    for key in ("gamma", "beta"):
        if doc.get(key) is not None:
            values = _numbers(doc, key, name, required=True)
            if len(values) not in (1, channels):
                raise InputError(f"{name}: {key} has {len(values)} values; give one, or one per channel ({channels})")
            out[key] = values
    scale = doc.get("pixel_scale")
    if scale is not None and scale not in ("unit", "raw"):
        raise InputError(f"{name}: pixel_scale must be \"unit\" or \"raw\", got {_show(scale)}")
    out["pixel_scale"] = scale
    if "convcli" in doc and not isinstance(doc["convcli"], str):
        raise InputError(f"{name}: convcli must be a text label, got {_show(doc['convcli'])}")
    return out


class _Refused(ValueError):
    pass


def _no_constant(word: str):
    raise _Refused(f"{word} is not a number a stats file may hold (finite numbers only)")


def _no_duplicates(pairs: list) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(f"key {printable(key)!r} appears twice")
        seen[key] = value
    return seen


def _depth(text: str) -> int:
    """How deeply arrays and objects nest, counted without parsing (so that 100,000 "[" cannot
    exhaust the parser's recursion): brackets inside strings are removed first."""
    bare = _STRING.sub('""', text)
    codes = np.frombuffer(bare.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    step = np.zeros(codes.shape, dtype=np.int64)
    step[(codes == ord("[")) | (codes == ord("{"))] = 1
    step[(codes == ord("]")) | (codes == ord("}"))] = -1
    return int(np.cumsum(step).max(initial=0))


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _kind(v) -> str:
    if isinstance(v, bool):
        return "true/false"
    if v is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string"}.get(type(v), "a number")


def _show(v) -> str:
    text = json.dumps(v) if not isinstance(v, (dict, list)) else _kind(v)
    return printable(text if len(text) <= 40 else text[:37] + "...")


def _numbers(doc: dict, key: str, name: str, *, required: bool) -> list[float]:
    if key not in doc:
        if required:
            raise InputError(f"{name}: needs {key}, a list of numbers per channel (write it with --save-stats)")
        return []
    values = doc[key]
    if not isinstance(values, list) or not values:
        raise InputError(f"{name}: {key} must be a non-empty list of numbers, got {_show(values)}")
    for i, v in enumerate(values):
        if not _is_number(v):
            detail = f"a string {_show(v)}" if isinstance(v, str) else _kind(v)
            raise InputError(f"{name}: {key}[{i}] is {detail}, not a number")
        if isinstance(v, int) and abs(v) > 1e300 or not math.isfinite(float(v)):
            raise InputError(f"{name}: {key}[{i}] is not a finite number")
    return [float(v) for v in values]
