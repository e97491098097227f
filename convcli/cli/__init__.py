"""The command line: Typer lives in this package alone.

Layout: ``options`` (enums, option types, parsers), ``application`` (the Typer app), ``runner``
(inputs -> step -> outputs, records, exit codes), one module per command with its signature written
out (``convolve``, ``pool``, ``upsample``, ``tconv``, ``activate``, ``bnorm``, ``chain``, ``shape``,
``tour``, ``sample``, ``kernels_cmd``), and ``main`` (``run(argv)`` and the console script).
Importing this package registers every command on :data:`app`.
"""
from __future__ import annotations

from .application import app
# each command registers itself when imported; --help lists them in this order
from . import convolve, kernels_cmd, tconv, activate, bnorm, chain, pool, upsample, shape, tour, sample  # noqa: F401,I001
from .main import _keep_big_buffers, error, main, run

__all__ = ["app", "error", "main", "run"]
