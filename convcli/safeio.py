"""Bounded reads, and the text rules for what convcli prints about files.

Everything convcli reads from a file it did not decode with Pillow (stdin, matrices, kernels,
stats and pipeline files) goes through :func:`read_bounded`: the cap is known before the first
byte is read, FIFOs and devices are read the same way as regular files (up to the cap, never to
the end of /dev/zero), and directories are refused. No Pillow, Rich or Typer here.
"""
from __future__ import annotations

import os
import stat
import tempfile
import warnings
from contextvars import ContextVar

from .errors import ConvcliWarning, InputError, LimitError

_CONTROL = {i: f"\\x{i:02x}" for i in range(32)} | {0x7F: "\\x7f", ord("\n"): "\\n", ord("\r"): "\\r",
                                                   ord("\t"): "\\t"}
_CONTROL.update({c: f"\\u{c:04x}" for c in range(0x80, 0xA0)})
_CONTROL.update({c: f"\\u{c:04x}" for c in (0x2028, 0x2029)})


def printable(text: object) -> str:
    """``text`` with control characters shown as escapes, so a message stays one line and a file
    name cannot move the cursor, clear the screen or forge a second ``convcli: error:`` line."""
    return str(text).translate(_CONTROL)


def warn(message: str) -> None:
    """A lossy read or write: the CLI prints ``convcli: warning: <message>``, one line on stderr;
    a Python caller sees an ordinary :class:`ConvcliWarning`."""
    warnings.warn(printable(message), ConvcliWarning, stacklevel=2)


def read_bounded(path: str, cap: int, *, what: str = "file", fileobj=None) -> bytes:
    """Read at most ``cap`` bytes of ``path`` (or of the binary ``fileobj``, e.g. stdin).

    Regular files are checked by size before reading; FIFOs, character devices and sockets are
    read in chunks and refused as soon as they pass the cap. Errors are :class:`InputError`
    (unreadable) or :class:`LimitError` (over the cap), naming ``path``.
    """
    name = printable(path)
    if fileobj is None:
        fh, st = open_for_read(path, what)
        with fh:
            if stat.S_ISREG(st.st_mode) and st.st_size > cap:
                raise LimitError(f"{name}: {what} is {st.st_size:,} bytes, over the limit of {cap:,} bytes")
            return _read_capped(fh, cap, name, what)
    return _read_capped(fileobj, cap, name, what)


def open_for_read(path: str, what: str = "file", *, allow_empty: bool = True):
    """Open ``path`` for reading, unbuffered: any kind of file but a directory. Returns (file, stat).
    The file is recorded as read by this run, so no output of the run may replace it."""
    name = printable(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read {what} ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{name}: is a directory, not a file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{name}: permission denied")
    if not allow_empty and stat.S_ISREG(st.st_mode) and st.st_size == 0:
        raise InputError(f"{name}: file is empty")
    note_read(path)
    try:
        fh = open(path, "rb", buffering=0)
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read {what} ({exc.strerror or exc})") from None
    return fh, st


def _read_capped(fh, cap: int, name: str, what: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            chunk = fh.read(min(1 << 20, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise LimitError(f"{name}: {what} is more than {cap:,} bytes, over the limit; refusing to read on")
    except OSError as exc:
        raise InputError(f"{name}: cannot read {what} ({exc.strerror or exc})") from None
    return b"".join(chunks)


# ---------------------------------------------------------------------------------------- writing
#
# One guard for every file convcli writes (-o, --out-dir, --trace-out, --save-stats, ...):
# - a written file is never a file this run reads (judged by device and inode, not by spelling);
# - a FIFO or character device is streamed into, as Unix tools do (-o /dev/stdout); a block
#   device, socket or directory is refused; nothing ever replaces a device node;
# - a regular file is written to a temporary file beside it and renamed into place (through a
#   symlink: the link's target is replaced, the link stays);
# - temporary files are tracked, so an interrupted run (SIGINT, SIGTERM, SIGHUP) removes them;
# - "side" files (a trace or stats export) are staged and renamed only when the run succeeds.


class _Run:
    """What one run has read and is writing (the CLI starts a fresh one per command)."""

    def __init__(self) -> None:
        self.read: dict[tuple[int, int], str] = {}      # (st_dev, st_ino) -> a path it was read as
        self.temps: set[str] = set()                     # temporary files not yet renamed
        self.deferred_paths: set[str] = set()            # side files: staged until commit()
        self.staged: list[tuple[str, str]] = []          # (temp, target) waiting for commit()


# The run in progress, per context rather than per process: each CLI invocation runs in its own
# copy of the context (contextvars.copy_context().run), so its registry vanishes with it, and a run
# inside a run (the tour's lessons) gets its own.
#
# Threads and signals. A thread submitted through contextvars.copy_context().run (the batch's I/O
# threads) works in a copy of the run's context: the copy holds the same _Run object, so the temp
# file a worker creates is registered in the very set the run's clean-up empties. A signal handler
# always runs in the main thread, in whatever context the main thread is in when the signal
# arrives, which is the run's context (the worker threads only ever hold copies); the CLI's
# handler (cli/main.py) calls remove_temps() there, which sees every temp of the run, the
# workers' included, and exits at once.
# A thread started without a copy of the context has no run: it gets a fresh one of its own, which
# guards only what that thread reads and writes (so never start one for a run's I/O that way).
_RUN: ContextVar[_Run] = ContextVar("convcli_run")


def _current() -> _Run:
    """This context's run (a Python caller that never began one gets one on first use)."""
    run = _RUN.get(None)
    if run is None:
        run = _Run()
        _RUN.set(run)
    return run


def begin_run() -> "_Run":
    """Start a fresh run: forget what earlier runs read (side outputs are staged with :func:`defer`).
    Returns the run it replaces (a run inside a run, such as the tour's lessons, hands it back to
    :func:`end_run`)."""
    outer = _current()
    _RUN.set(_Run())
    return outer


def defer(path: str | None) -> None:
    """Stage ``path`` (a side output such as a trace export) until the run succeeds."""
    if path and path != "-":
        _current().deferred_paths.add(_key(path))


def end_run(*, commit: bool, outer: "_Run | None" = None) -> None:
    """Rename the staged side files into place (``commit``) or drop them; remove stray temps; then
    go back to the ``outer`` run, if any."""
    run = _current()
    staged, run.staged = run.staged, []
    for tmp, target in staged:
        if commit:
            try:
                os.replace(tmp, target)
                run.temps.discard(tmp)
            except OSError:
                pass
    remove_temps()
    if outer is not None:
        _RUN.set(outer)


def remove_temps() -> None:
    """Delete every temporary file of this run that was not renamed into place."""
    for tmp in list(_current().temps):
        _drop(tmp)


def _key(path: str) -> str:
    return os.path.abspath(path)


def note_read(path: str) -> None:
    """Remember that this run reads ``path`` (its identity, not its spelling): no output may be it."""
    if not path or path in ("-", "--matrix"):
        return
    try:
        st = os.stat(path)
    except OSError:
        return
    if stat.S_ISREG(st.st_mode):
        _current().read[(st.st_dev, st.st_ino)] = path


def _read_as(st: os.stat_result) -> str | None:
    """The path under which this run read the file ``st`` describes, if it still is that file."""
    src = _current().read.get((st.st_dev, st.st_ino))
    if src is None:
        return None
    try:
        now = os.stat(src)
    except OSError:
        return None
    return src if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino) else None


def check_target(path: str) -> None:
    """Refuse, before any work, an output that can never be written: an input of this run, a
    directory, a block device or socket, or a missing or read-only directory."""
    _classify(path)


def _classify(path: str) -> tuple[str, str]:
    """('stream' | 'atomic', the path to write). Raises OutputError for what must not be written."""
    from .errors import OutputError

    name = printable(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"{name}: cannot write ({exc.strerror or exc})") from None
    if st is not None:
        src = _read_as(st)
        if src is not None:
            raise OutputError(f"{name}: output would overwrite the input {printable(src)}; choose another name")
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            raise OutputError(f"{name}: is a directory; give a file name (or --out-dir for one file per input)")
        if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
            return "stream", path
        if not stat.S_ISREG(mode):
            kind = "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
            raise OutputError(f"{name}: is {kind}; convcli writes only regular files, FIFOs and character devices")
        real = os.path.realpath(path)
        if real.startswith("/proc/") or path.startswith(("/dev/", "/proc/")):
            return "stream", path                  # /dev/stdout redirected to a file: write through it
        if not os.access(real, os.W_OK):
            raise OutputError(f"{name}: file is not writable")
        target = real
    else:
        if os.path.islink(path):                   # a dangling link: write where it points
            target = os.path.realpath(path)
        else:
            target = path
    directory = os.path.dirname(os.path.abspath(target)) or "."
    if not os.path.isdir(directory):
        raise OutputError(f"{name}: output directory {printable(directory)} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"{name}: directory {printable(directory)} is not writable")
    return "atomic", target


def is_stream(path: str) -> bool:
    """True for an output that is streamed into (a FIFO, a character device, /dev/stdout)."""
    if path == "-":
        return True
    try:
        return _classify(path)[0] == "stream"
    except Exception:
        return path.startswith(("/dev/", "/proc/"))


def write_file(path: str, payload: bytes) -> None:
    """Write ``payload`` to ``path`` under the rules above; errors are OutputError (exit 5)."""
    from .errors import OutputError

    how, target = _classify(path)
    if how == "stream":
        _stream(path, payload)
        return
    run = _current()
    tmp = _temp_beside(target, payload, path)
    try:
        if _key(path) in run.deferred_paths or _key(target) in run.deferred_paths:
            run.staged.append((tmp, target))
            tmp = None
            return
        os.replace(tmp, target)
        run.temps.discard(tmp)
        tmp = None
    except OSError as exc:
        raise OutputError(f"{printable(path)}: cannot write ({exc.strerror or exc})") from None
    finally:
        if tmp is not None:
            _drop(tmp)


def _temp_beside(target: str, payload: bytes, path: str) -> str:
    """``payload`` in a new temporary file in ``target``'s directory, with ``target``'s mode; tracked
    until renamed, so an interrupted run removes it."""
    from .errors import OutputError

    directory = os.path.dirname(os.path.abspath(target)) or "."
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".convcli-", suffix=".part")
        _current().temps.add(tmp)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        _copy_mode(tmp, target)
        return tmp
    except OSError as exc:
        if tmp is not None:
            _drop(tmp)
        raise OutputError(f"{printable(path)}: cannot write ({exc.strerror or exc})") from None


def _drop(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass
    _current().temps.discard(tmp)


def _copy_mode(tmp: str, target: str) -> None:
    try:
        os.chmod(tmp, os.stat(target).st_mode & 0o777)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)


def _stream(path: str, payload: bytes) -> None:
    """Write into a FIFO or character device (or through /dev/stdout) without replacing it. A FIFO
    with no reader is refused at once instead of blocking forever."""
    from .errors import OutputError

    name = printable(path)
    flags = os.O_WRONLY | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        import errno

        if exc.errno == errno.ENXIO:
            raise OutputError(f"{name}: FIFO has no reader") from None
        raise OutputError(f"{name}: cannot write ({exc.strerror or exc})") from None
    try:
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        view = memoryview(payload)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"{name}: cannot write ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


class Transaction:
    """Several outputs that appear together or not at all (bnorm-stats --out-dir): ``stage`` writes
    each to a temporary file, ``commit`` renames them all; leaving the block without commit removes
    the temporary files."""

    def __init__(self) -> None:
        self._staged: list[tuple[str, str]] = []
        self._streams: list[tuple[str, bytes]] = []

    def __enter__(self) -> "Transaction":
        return self

    def stage(self, path: str, payload: bytes) -> None:
        how, target = _classify(path)
        if how == "stream":
            self._streams.append((path, payload))
            return
        self._staged.append((_temp_beside(target, payload, path), target))

    def commit(self) -> None:
        from .errors import OutputError

        for tmp, target in self._staged:
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise OutputError(f"{printable(target)}: cannot write ({exc.strerror or exc})") from None
            _current().temps.discard(tmp)
        self._staged = []
        for path, payload in self._streams:
            _stream(path, payload)
        self._streams = []

    def __exit__(self, *exc) -> None:
        for tmp, _ in self._staged:
            _drop(tmp)
        self._staged = []
