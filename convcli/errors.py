"""Exceptions and exit codes: one place that says what went wrong and how the CLI exits."""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of the ``convcli`` command (documented in README.md)."""

    OK = 0
    FAILURE = 1          # an unexpected internal error (a bug: please report it)
    USAGE = 2            # bad option or parameter value (also Typer/Click's own usage errors)
    BAD_INPUT = 3        # an input file or matrix could not be read or is not valid data
    PARTIAL = 4          # some inputs of a batch failed, the others were written
    CANNOT_WRITE = 5     # the output could not be written
    TOO_LARGE = 6        # an input or result is over the size limits
    INTERRUPTED = 130    # Ctrl-C


class ConvcliError(Exception):
    """Base class of every error that convcli reports as one line on stderr."""

    exit_code: ExitCode = ExitCode.FAILURE


class ParameterError(ConvcliError, ValueError):
    """A parameter (stride, padding, kernel, mode ...) is invalid for the given input."""

    exit_code = ExitCode.USAGE


class InputError(ConvcliError, ValueError):
    """An input file or matrix cannot be read or does not hold usable numbers."""

    exit_code = ExitCode.BAD_INPUT


class OutputError(ConvcliError, OSError):
    """The result cannot be written where asked."""

    exit_code = ExitCode.CANNOT_WRITE


class ConvcliWarning(UserWarning):
    """Something was lost on the way in or out (a 16-bit colour image read as 8-bit, a float image
    written as 8-bit, frames after the first ignored). The CLI prints it as one line,
    ``convcli: warning: ...``."""


class LimitError(ConvcliError, ValueError):
    """An input or a result would exceed the pixel or memory limits."""

    exit_code = ExitCode.TOO_LARGE
