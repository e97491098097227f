"""How a plan names its execution path: one flat chain per op, and one way to force a path.

Each op's planner lists its paths in order as :class:`Option` s: whether the path can run this
plan at all (``cannot``: why not, or None) and whether it is the one to take (``wins``: the op's
documented thresholds). The first option that can run and wins is the path, as OpenCV's
``filter2D`` tries its implementations in turn. A path can be forced by the planner's ``path=``
argument, or for every plan of the op by the environment variable ``CONVCLI_<OP>_PATH``
(``CONVCLI_CONV_PATH=fft``): tests, benchmarks and the CLI use it, nobody monkeypatches a
threshold. A forced path that is unknown, or that cannot run the plan, is a ParameterError that
names the argument or the variable (fail closed: never a silent fallback).
"""
from __future__ import annotations

import os
from typing import NamedTuple

from ..errors import ParameterError


class Option(NamedTuple):
    """One path of an op's chain (a NamedTuple: cheap to make on every plan)."""

    name: str
    cannot: str | None = None     # why this path cannot run the plan, or None
    wins: bool = True             # whether the op's thresholds pick it (among the paths that can run)


def env_name(op: str) -> str:
    """The environment variable that forces ``op``'s path: CONVCLI_CONV_PATH, CONVCLI_POOL_PATH, ..."""
    return f"CONVCLI_{op.upper()}_PATH"


def check_path(op: str, names: tuple[str, ...], path: str | None, source: str = "path") -> str | None:
    """``path`` as a known path name of ``op`` (lower case), or None; else a ParameterError naming ``source``."""
    if path is None:
        return None
    wanted = str(path).strip().lower()
    if wanted not in names:
        raise ParameterError(f"{source} for {op} must be one of {', '.join(names)}, got {path!r}")
    return wanted


def choose(op: str, options: list[Option], path: str | None = None) -> str:
    """The path ``op`` takes: the forced one (``path``, else the environment variable), checked,
    or the first option that can run and wins."""
    names = [o.name for o in options]
    source = "path"
    if path is None:
        env = os.environ.get(env_name(op), "").strip().lower()
        if env:
            path, source = env, env_name(op)
    if path is not None:
        wanted = check_path(op, tuple(names), path, source)
        option = options[names.index(wanted)]
        if option.cannot is not None:
            raise ParameterError(f"{source}: the {op} path {wanted!r} cannot run this plan: {option.cannot}")
        return wanted
    for option in options:
        if option.cannot is None and option.wins:
            return option.name
    raise AssertionError(f"no {op} path for this plan: the last option must always run")  # pragma: no cover
