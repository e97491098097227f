"""The entry point: ``run(argv)`` runs one command line and returns its exit code; ``main()`` is the
console script. Every convcli error becomes one line on stderr (``convcli: error: ...``) and a
documented exit code; ``--debug`` shows tracebacks instead.

The commands are registered on :data:`app` by ``convcli.cli`` (the package imports every command
module); this module imports none of them, so a command (the tour) may call :func:`run`.
"""
from __future__ import annotations

import contextvars
import os
import sys
from dataclasses import dataclass

from ..errors import ConvcliError, ExitCode
from .application import app


def error(message: str, code: int) -> int:
    from ..safeio import printable

    sys.stderr.write(f"convcli: error: {printable(message)}\n")
    sys.stderr.flush()
    return int(code)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """convcli's own warnings as one line each; every other Python warning is silenced."""
    from ..errors import ConvcliWarning
    from ..safeio import printable

    if issubclass(category, ConvcliWarning):
        sys.stderr.write(f"convcli: warning: {printable(message)}\n")
        sys.stderr.flush()


def _route_warnings() -> None:
    import warnings

    from ..errors import ConvcliWarning

    warnings.resetwarnings()
    warnings.simplefilter("ignore")
    warnings.simplefilter("always", ConvcliWarning)
    warnings.showwarning = _show_warning


def _is_usage_error(exc: BaseException) -> bool:
    """Click's (or Typer's vendored Click's) usage/parameter errors, recognised by their shape."""
    return hasattr(exc, "format_message") and hasattr(exc, "exit_code")


@dataclass(frozen=True)
class Invocation:
    """What a command learns about the run that called it (Click's ``ctx.obj``)."""

    debug: bool = False        # --debug anywhere on the line: tracebacks, also for each failing input


def run(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code; never raises.

    Errors print one line on stderr; with ``--debug`` the full traceback comes first (the exit code
    stays the documented one, so scripts behave the same). Temporary files are removed whatever
    ends the run, and side outputs (trace and stats exports) appear only when it succeeds.

    The run happens in a copy of the caller's context: what it sets (--color, --show-protocol,
    the pixel limit, the write guard's registry) vanishes with it, and a run inside a run (the
    tour's lessons) starts from the outer run's settings and leaves them as they were.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    return contextvars.copy_context().run(_run_in_context, args)


def _run_in_context(args: list[str]) -> int:
    """One run, in its own context: a fresh write-guard registry and the pixel limit of the
    environment (or --max-pixels); both go with the context when the run ends."""
    from .. import limits, safeio

    debug = "--debug" in args
    _route_warnings()
    safeio.begin_run()
    limits.set_max_pixels(None)
    code = int(ExitCode.FAILURE)
    previous = _catch_signals()
    # every text line convcli (or Typer's help) writes loses its trailing spaces on the way out
    streams = _trim_streams()
    try:
        code = _run(args, debug)
        return code
    finally:
        _restore_streams(streams)
        safeio.end_run(commit=code in (ExitCode.OK, ExitCode.PARTIAL))
        _restore_signals(previous)


def _trim_streams() -> tuple:
    """Put sys.stdout and sys.stderr behind TrimmedStreams (no line ends in spaces); returns the
    streams to put back."""
    from ..render.console import TrimmedStream

    streams = sys.stdout, sys.stderr
    if streams[0] is not None:
        sys.stdout = TrimmedStream(streams[0])
    if streams[1] is not None:
        sys.stderr = TrimmedStream(streams[1])
    return streams


def _restore_streams(streams: tuple) -> None:
    for wrapped in (sys.stdout, sys.stderr):
        try:
            if wrapped is not None:
                wrapped.flush()
        except (OSError, ValueError):
            pass
    sys.stdout, sys.stderr = streams


def _run(args: list[str], debug: bool) -> int:
    from .. import limits, safeio

    try:
        limits.from_env()                    # a garbage CONVCLI_MAX_PIXELS is a usage error, not ignored
        code = app(args=args, prog_name="convcli", standalone_mode=False, obj=Invocation(debug=debug))
        if code == ExitCode.INTERRUPTED:     # Typer turns Ctrl-C into a silent return of 130
            return error("interrupted", ExitCode.INTERRUPTED)
        code = int(code) if isinstance(code, int) else ExitCode.OK
        _flush_stdout()
        return code
    except ConvcliError as exc:
        _traceback(debug)
        return error(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        safeio.remove_temps()
        return error("interrupted", ExitCode.INTERRUPTED)
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.OK
    except MemoryError:
        _traceback(debug)
        return error("out of memory; try a smaller input or region", ExitCode.TOO_LARGE)
    except Exception as exc:
        name = type(exc).__name__
        if name == "Exit" and hasattr(exc, "exit_code"):
            try:
                _flush_stdout()
            except ConvcliError as flush_exc:
                return error(str(flush_exc), flush_exc.exit_code)
            return int(exc.exit_code)
        if name == "Abort":
            return error("interrupted", ExitCode.INTERRUPTED)
        _traceback(debug)
        if _is_usage_error(exc):
            ctx = getattr(exc, "ctx", None)
            hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
            code = ExitCode.USAGE if exc.exit_code == 2 else exc.exit_code
            return error(" ".join(exc.format_message().split()) + hint, code)   # Click's tabs/newlines: one line
        if isinstance(exc, OSError) and getattr(exc, "errno", None) is not None and _is_stdout_error(exc):
            return error(f"stdout: cannot write ({exc.strerror or exc})", ExitCode.CANNOT_WRITE)
        # anything else is a bug: say so in one line
        return error(f"internal error: {name}: {exc} (rerun with --debug for the traceback)", ExitCode.FAILURE)


def _flush_stdout() -> None:
    """Flush stdout now, so a full or closed stdout is reported (exit 5) instead of failing silently
    at exit; a reader that went away (broken pipe) is not an error."""
    from ..errors import OutputError

    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except (OSError, ValueError) as exc:
        _silence_stdout()
        raise OutputError(f"stdout: cannot write ({getattr(exc, 'strerror', None) or exc})") from None


def _is_stdout_error(exc: OSError) -> bool:
    import errno

    return exc.errno in (errno.ENOSPC, errno.EBADF, errno.EIO, errno.EDQUOT if hasattr(errno, "EDQUOT") else -1)


def _silence_stdout() -> None:
    """After a failed stdout, point fd 1 at /dev/null so Python's exit flush cannot complain."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


def _catch_signals() -> dict:
    """SIGINT, SIGTERM and SIGHUP (Ctrl-C, kill, timeout, a closed terminal) end the run at once:
    every temporary file of the run is removed, one line says why, and the exit code is 128 + the
    signal's number. Nothing unwinds through the libraries: a KeyboardInterrupt raised while
    Numba's compiler (llvmlite) holds its lock left the lock taken, and an I/O thread waiting for
    it kept the process alive. Written outputs are whole or absent (they are renamed into place),
    so stopping mid-batch is safe."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    signals = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]

    def handler(signum, frame):
        from .. import safeio

        for sig in signals:
            signal.signal(sig, signal.SIG_IGN)          # a second signal must not cut the clean-up short
        try:
            safeio.remove_temps()
            try:
                sys.stderr.flush()                      # what the run already said comes first
            except (OSError, ValueError, RuntimeError):
                pass
            why = "interrupted" if signum == signal.SIGINT else f"terminated by {signal.Signals(signum).name}"
            os.write(2, f"convcli: error: {why}\n".encode())
        finally:
            os._exit(128 + signum)

    previous = {}
    for sig in signals:
        # a signal ignored when convcli starts (nohup, a background job) stays ignored, as Unix tools leave it
        if signal.getsignal(sig) is not signal.SIG_IGN:
            try:
                previous[sig] = signal.signal(sig, handler)
            except (OSError, ValueError):
                pass
    return previous


def _restore_signals(previous: dict) -> None:
    import signal

    for sig, old in previous.items():
        try:
            signal.signal(sig, old)
        except (OSError, ValueError, TypeError):
            pass


def _traceback(debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()


def _keep_big_buffers() -> None:
    """Let glibc's malloc reuse big freed buffers instead of returning them to the kernel.

    Every photo of a batch allocates buffers of 36-48 MB (decoded pixels, the encoder's copy).
    Above its mmap threshold (at most 32 MB by default) glibc maps each afresh and unmaps it when
    freed, so every page is faulted in and zeroed again: 1.1 s of system time in a 16-photo 12 MP
    batch here. With the thresholds raised the heap keeps them: system time 0.33 s, wall time
    4.0 -> 3.3 s, peak RSS +35 MB. Only the CLI's own process (not the library), only where
    mallopt exists; anything unexpected leaves malloc as it was.
    """
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        m_trim_threshold, m_mmap_threshold = -1, -3
        mallopt(m_mmap_threshold, 512 << 20)
        mallopt(m_trim_threshold, 1 << 30)
    except (OSError, AttributeError, ValueError, TypeError):
        pass


def main() -> None:
    _keep_big_buffers()
    code = run()
    # Everything is written. Python's exit would now walk every object the run created (Numba's
    # compiler alone leaves hundreds of thousands) in a final garbage collection: about 0.35 s
    # here. Freezing them leaves that walk nothing to do; atexit handlers and flushes still run.
    import gc

    gc.freeze()
    sys.exit(code)
