"""Many inputs through one op: input expansion, output naming, overlapped I/O, failures that
don't stop the batch, atomic writes. No Typer or Rich here: the CLI and scripts both use it.

>>> import convcli
>>> from convcli.batch import run_batch, Outcome
>>> records = run_batch(["photos/"], lambda im: Outcome(convcli.convolve(im.data, "box", padding="same")),
...                     out_dir="out")                                          # doctest: +SKIP

The parts, in the order a batch meets them: :func:`plan_records` (expansion, output names, checks
before any work), :func:`load_one` (in an I/O thread), :func:`run_one` (the op, in the calling
thread), :func:`save_one` (encode and write, in an I/O thread), :func:`_drain` (records reported
in input order). :class:`BatchOptions` carries the options between them.
"""
from __future__ import annotations

import contextvars
import errno
import glob
import os
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

import numpy as np

from .safeio import printable
from . import imageio, safeio
from .errors import ConvcliError, ExitCode, LimitError, OutputError, ParameterError
from .ops.sinks import RangeRule

MAX_JOBS = 64
READABLE_EXTS = imageio.READ_IMAGE_EXTS | imageio.MATRIX_EXTS
FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "tif": ".tif", "tiff": ".tif", "webp": ".webp",
           "bmp": ".bmp", "npy": ".npy", "csv": ".csv", "txt": ".txt"}


@dataclass
class Outcome:
    """What an op made of one input: one payload, ``data``, and how to write it.

    ``data`` holds the float values, or (``is_pixels``) the 8-bit pixels the op made straight
    through ``rule`` when the step was told that nothing but an image output reads the values.
    ``rule`` turns values into an image's pixels (clip, abs, rescale, offset, or activate's
    "window": lo..hi stretched onto 0..max); .npy/.csv/.txt outputs get the values as they are.
    """

    data: np.ndarray
    rule: RangeRule = field(default_factory=lambda: RangeRule("clip"))
    alpha: np.ndarray | None = None
    maxval: float | None = None          # None: the input's own scale
    formulas: list[str] = field(default_factory=list)
    title: str = "result"                # how a printed table of it is headed
    report: dict | None = None           # extra facts for the --json record (e.g. activation statistics)
    colormap: str | None = None          # image outputs: colour a one-channel result through this map
    is_pixels: bool = False              # ``data`` is pixels made through ``rule``, not values
    # the channels are feature maps a 4-D weight mixed, not the input's colour (+ alpha) channels:
    # an image output never shows one of them as transparency, even from an RGBA input's --alpha filter
    maps: bool = False


@dataclass(frozen=True)
class Step:
    """One input's work. ``run(loaded, pixels)`` returns its :class:`Outcome`; ``pixels`` says that
    the result goes only to an 8-bit image, so the op may make pixels through its range rule
    straight away (the step may still return values). ``traces``: the step prints a trace;
    ``prints``: it prints on its own, so no result table follows; ``standalone``: what the
    command does without any input (activate --plot), else None."""

    run: Callable[[imageio.Loaded, bool], Outcome]
    traces: bool = False
    prints: bool = False
    standalone: Callable[..., None] | None = None

    @classmethod
    def of(cls, fn: "Step | Callable[[imageio.Loaded], Outcome]") -> "Step":
        """A plain ``loaded -> Outcome`` function (the Python API) as a Step that always makes values."""
        if isinstance(fn, Step):
            return fn
        return cls(run=lambda loaded, pixels: fn(loaded))


@dataclass
class Record:
    """One input's fate, as reported by --json."""

    input: str
    output: str | None = None
    status: str = "pending"              # ok | error
    error: str | None = None
    exit_code: int = 0
    input_shape: list[int] | None = None
    output_shape: list[int] | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    seconds: float = 0.0
    report: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def expand_inputs(specs: Iterable[str]) -> list[tuple[str, str | None]]:
    """Files, directories (their readable files, sorted) and glob patterns (sorted) -> [(path, error)]."""
    out: list[tuple[str, str | None]] = []
    for spec in specs:
        if spec == "-":
            out.append(("-", None))
        elif os.path.isdir(spec):
            files = sorted(os.path.join(spec, n) for n in os.listdir(spec)
                           if os.path.splitext(n)[1].lower() in READABLE_EXTS
                           and os.path.isfile(os.path.join(spec, n)))
            if not files:
                out.append((spec, f"{spec}: directory has no image or matrix files"))
            out.extend((f, None) for f in files)
        elif os.path.lexists(spec):
            out.append((spec, None))
        elif glob.has_magic(spec):
            files = sorted(f for f in glob.glob(spec) if os.path.isfile(f))
            if not files:
                out.append((spec, f"{spec}: no files match"))
            out.extend((f, None) for f in files)
        else:
            out.append((spec, f"{spec}: no such file"))
    return out


NAME_FIELDS = ("stem", "ext", "index")
MAX_NAME_BYTES = 255


def render_name(template: str, *, stem: str, ext: str = "", index: int = 1) -> str:
    """Fill ``--name``: ``{stem}`` (the input's name without extension), ``{ext}`` (its extension
    without the dot), ``{index}`` (1, 2, ... in input order), ``{{``/``}}`` for literal braces.
    Nothing else: no attribute or index access, no format specs. The result must be a plain file
    name (no path separator, no control characters, not . or ..) of at most 255 bytes."""
    from .safeio import printable

    shown = printable(template if len(template) <= 80 else template[:77] + "...")
    values = {"stem": stem, "ext": ext, "index": str(index)}
    out: list[str] = []
    i = 0
    while i < len(template):
        ch = template[i]
        if template.startswith("{{", i) or template.startswith("}}", i):
            out.append(ch)
            i += 2
            continue
        if ch == "}":
            raise ParameterError(f"--name template {shown!r} has an unmatched '}}'; write '}}}}' for a literal brace")
        if ch == "{":
            end = template.find("}", i)
            if end < 0:
                raise ParameterError(f"--name template {shown!r} has an unclosed '{{'; write '{{{{' for a literal brace")
            field = template[i + 1:end]
            if field not in values:
                raise ParameterError(f"--name template {shown!r}: unknown field "
                                     f"{'{' + printable(field[:40]) + '}'!r}; "
                                     f"use {{stem}}, {{ext}} or {{index}} (and {{{{ }}}} for literal braces)")
            out.append(values[field])
            i = end + 1
            continue
        out.append(ch)
        i += 1
        if len(out) > 4 * MAX_NAME_BYTES:
            break
    filename = "".join(out)
    bad = not filename or filename in (".", "..") or os.sep in filename or (os.altsep and os.altsep in filename) \
        or "\0" in filename or printable(filename) != filename
    if bad:
        raise ParameterError(f"--name template {shown!r} must give a plain file name (no path separator or "
                             f"control characters), got {printable(filename)!r}")
    if len(filename.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise ParameterError(f"--name template {shown!r} gives a file name longer than {MAX_NAME_BYTES} bytes")
    return filename


def output_name(input_path: str, out_dir: str, *, fmt: str | None = None, name: str = "{stem}",
                index: int = 1) -> str:
    """``out_dir/<name with {stem}>.<ext>``: the input's extension unless ``fmt`` says otherwise
    (inputs in formats convcli cannot write, such as GIF, become PNG)."""
    base = {"-": "stdin.png", "--matrix": "matrix.csv"}.get(input_path) or os.path.basename(input_path)
    stem, ext = os.path.splitext(base)
    in_ext = ext.lstrip(".")
    if fmt:
        ext = FORMATS[fmt]
    elif ext.lower() not in imageio.IMAGE_EXTS and ext.lower() not in (".npy", ".csv", ".txt"):
        ext = ".png"
    filename = render_name(name, stem=stem, ext=in_ext, index=index)
    if len((filename + ext).encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise ParameterError(f"output name {filename + ext!r} is longer than {MAX_NAME_BYTES} bytes; shorten --name")
    return os.path.join(out_dir, filename + ext)


def encoding_name(output: str, fmt: str | None) -> str:
    """The name whose extension picks the encoding: the output's own, except for streams (stdout,
    FIFOs, devices), which take --format, else their own extension, else PNG."""
    if not safeio.is_stream(output):
        return output
    ext = os.path.splitext(output)[1].lower()
    if fmt:
        return "stdout" + FORMATS[fmt]
    if ext in imageio.IMAGE_EXTS or ext in (".npy", ".csv", ".txt"):
        return output
    return "stdout.png"


def check_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    key = fmt.lower().lstrip(".")
    if key not in FORMATS:
        raise ParameterError(f"--format must be one of {', '.join(sorted(set(FORMATS)))}, got {fmt!r}")
    return key


def _summary_stats(rec: Record, result: np.ndarray) -> None:
    rec.output_shape = list(result.shape)
    lo, hi = float(np.min(result)), float(np.max(result))
    if np.isfinite(lo) and np.isfinite(hi):            # no NaN or inf anywhere: no filtered copy needed
        rec.min, rec.max, rec.mean = lo, hi, float(np.mean(result, dtype=np.float64))
        return
    finite = result[np.isfinite(result)]
    if finite.size:
        rec.min, rec.max, rec.mean = float(finite.min()), float(finite.max()), float(finite.mean())


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs: where outputs go, how inputs are read, who hears about each one.

    ``statistics``: fill each record's min, max and mean (three passes over the result: 50 ms for
    a 12 MP photo; the CLI asks for them only with --json). ``pixel_outputs``: nothing but the
    output reads a result (no ``on_result`` reader such as a table, a picture or a colour map), so
    a step may make an 8-bit image output's pixels straight away. ``debug``: print the traceback of
    each failing input (otherwise one line each).
    """

    out_dir: str | None = None
    output: str | None = None
    fmt: str | None = None
    name: str = "{stem}"
    jobs: int | None = None
    gray: bool = False
    alpha: str = "keep"
    matrix: str | None = None
    stdin_bytes: Callable[[], bytes] | None = None
    stdout_write: Callable[[bytes], None] | None = None
    on_record: Callable[[Record], None] | None = None
    on_result: Callable[[imageio.Loaded, Outcome], None] | None = None
    statistics: bool = True
    pixel_outputs: bool = False
    debug: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "fmt", check_format(self.fmt))     # checked once: png, PNG, .png -> png

    def target(self, rec: Record) -> str | None:
        """The name whose extension picks ``rec``'s encoding (None: nothing is written)."""
        return None if rec.output is None else encoding_name(rec.output, self.fmt)


def run_batch(inputs: list[str], step: Step | Callable[[imageio.Loaded], Outcome], *,
              expanded: list[tuple[str, str | None]] | None = None, **options) -> list[Record]:
    """Run ``step`` over every input; write each result (``output`` for one input, else into ``out_dir``).

    ``options`` are :class:`BatchOptions`. Decoding and encoding run in ``jobs`` threads (Pillow
    releases the GIL) while the op itself runs in the calling thread, where Numba already uses
    every core. A failing input is recorded and skipped; the others are still written. Outputs are
    written atomically and never replace an input of the batch. ``on_result`` sees each loaded
    input and its outcome (for traces, tables). ``expanded``: ``inputs`` already run through
    :func:`expand_inputs` (to expand them only once). The output shape is always filled in.
    """
    opts = BatchOptions(**options)
    records = plan_records(inputs, opts, expanded)
    for rec in records:
        if rec.status == "error" and opts.on_record:
            opts.on_record(rec)
    todo = [r for r in records if r.status == "pending"]
    # threads never outnumber the inputs, nor a small bound (the op itself uses every core)
    jobs = max(1, min(opts.jobs or os.cpu_count() or 1, MAX_JOBS, len(todo) or 1))
    _pump(todo, Step.of(step), opts, jobs)
    return records


def plan_records(inputs: list[str], opts: BatchOptions,
                 expanded: list[tuple[str, str | None]] | None = None) -> list[Record]:
    """One record per input, before any work: inputs expanded, output names given and checked."""
    if opts.matrix is not None and inputs:
        raise ParameterError("give either INPUT or --matrix, not both")
    if opts.matrix is not None:
        expanded = [("--matrix", None)]
    elif expanded is None:
        expanded = expand_inputs(inputs)
    if not expanded:
        raise ParameterError("missing INPUT (files, directories, glob patterns, - for stdin, or --matrix \"...\")")
    if opts.output is not None and len(expanded) > 1:
        raise ParameterError(f"-o names one output but there are {len(expanded)} inputs; use --out-dir DIR")
    if opts.out_dir is not None:
        check_out_dir(opts.out_dir)
    records = [Record(input=p, status="error" if err else "pending", error=printable(err) if err else None,
                      exit_code=int(ExitCode.BAD_INPUT) if err else 0) for p, err in expanded]
    for p, err in expanded:
        if err is None and p not in ("-", "--matrix"):
            safeio.note_read(p)
    _name_outputs(records, opts)
    return records


def _name_outputs(records: list[Record], opts: BatchOptions) -> None:
    """Each pending record's output; one that cannot be written, or is another input's, fails now."""
    taken: dict[str, str] = {}
    for index, rec in enumerate(records, start=1):
        if rec.status != "pending":
            continue
        if opts.output is not None:
            rec.output = opts.output
        elif opts.out_dir is not None:
            rec.output = output_name(rec.input, opts.out_dir, fmt=opts.fmt, name=opts.name,
                                     index=index)
        if rec.output is None or rec.output == "-":
            continue
        try:
            imageio.output_kind(opts.target(rec))
            if os.path.isdir(os.path.dirname(os.path.abspath(rec.output))):
                safeio.check_target(rec.output)
            key = os.path.realpath(rec.output)
            if key in taken:
                raise OutputError(f"{printable(rec.output)}: also the output of {printable(taken[key])}; "
                                  f"use --name to tell them apart")
            taken[key] = rec.input
        except ConvcliError as exc:
            _fail(rec, exc, opts.debug)


def load_one(rec: Record, opts: BatchOptions) -> imageio.Loaded:
    """Read ``rec``'s input (a file, stdin, or the inline --matrix)."""
    if rec.input == "--matrix":
        loaded = imageio.load_matrix_text(opts.matrix or "")
        if opts.gray and loaded.channels > 1:
            loaded.data = loaded.data.mean(axis=2)
        return loaded
    data = opts.stdin_bytes() if rec.input == "-" and opts.stdin_bytes else None
    return imageio.load_input(rec.input, gray=opts.gray, alpha=opts.alpha, data=data)


def wants_pixels(rec: Record, loaded: imageio.Loaded, opts: BatchOptions) -> bool:
    """Whether ``rec``'s result goes to an 8-bit image and nowhere else: then the op may make the
    pixels straight away. Not with --json statistics or a reader of the values (``pixel_outputs``),
    not for 16-bit images, and not for a float image written to TIFF (which keeps the values)."""
    target = opts.target(rec)
    if not opts.pixel_outputs or opts.statistics or target is None or imageio.output_kind(target) != "image":
        return False
    float_tiff = loaded.mode == "F" and os.path.splitext(target)[1].lower() in (".tif", ".tiff")
    return loaded.maxval == 255.0 and not float_tiff


def run_one(rec: Record, loaded: imageio.Loaded, step: Step, opts: BatchOptions) -> Outcome:
    """The op on one loaded input (in the calling thread), its record filled in."""
    rec.input_shape = list(loaded.raw.shape)
    out = step.run(loaded, wants_pixels(rec, loaded, opts))
    if opts.statistics and not out.is_pixels:
        _summary_stats(rec, out.data)
    else:
        rec.output_shape = list(out.data.shape)
    rec.report = out.report
    if opts.on_result:
        opts.on_result(loaded, out)
    return out


def save_one(rec: Record, loaded: imageio.Loaded, out: Outcome, opts: BatchOptions, started: float) -> None:
    """Encode and write ``rec``'s result (in an I/O thread); a failure is this record's."""
    try:
        if rec.output is not None:
            payload = encode_outcome(out, loaded, opts.target(rec))
            if rec.output == "-":
                assert opts.stdout_write is not None
                opts.stdout_write(payload)
            else:
                if opts.out_dir is not None:
                    make_out_dir(opts.out_dir)
                safeio.write_file(rec.output, payload)
        rec.status = "ok"
    except BrokenPipeError:
        raise
    except Exception as exc:
        _fail(rec, as_convcli_error(exc, rec.output or rec.input, writing=True), opts.debug)
    rec.seconds = round(time.perf_counter() - started, 6)


def encode_outcome(out: Outcome, loaded: imageio.Loaded, target: str) -> bytes:
    """The bytes of ``out`` for ``target``'s extension, on the input's scale unless it says otherwise."""
    maxval = out.maxval if out.maxval is not None else loaded.maxval
    is_image = imageio.output_kind(target) == "image"
    color_mode = None if out.maps else loaded.mode
    if out.is_pixels:
        return imageio.encode_pixels(out.data, imageio.image_format(target), alpha=out.alpha,
                                     color_mode=color_mode)
    if is_image and out.colormap:
        return imageio.encode_result(_colorized(out, maxval), target, maxval=255.0, range_mode="clip",
                                     alpha=_alpha_8bit(out.alpha, maxval))
    values, mode = image_values(out, maxval) if is_image else (out.data, "clip")
    return imageio.encode_result(values, target, maxval=maxval, range_mode=mode, alpha=out.alpha,
                                 color_mode=color_mode)


def image_values(out: Outcome, maxval: float) -> tuple[np.ndarray, str]:
    """What the image writer maps, and its range rule: the values under their rule, or, for a
    "window" rule, lo..hi already stretched onto 0..maxval (clipped when written)."""
    if out.rule.mode == "window":
        from .ops.activations import to_pixels
        return to_pixels(out.data, (out.rule.lo, out.rule.hi), maxval), "clip"
    return out.data, out.rule.mode


def _pump(todo: list[Record], step: Step, opts: BatchOptions, jobs: int) -> None:
    """Load ahead, run in order, save behind: at most ``jobs`` loads and saves in flight. Work goes
    to the I/O threads inside a copy of this run's context (its limits, write guard, terminal)."""
    def submit(pool, fn, *args) -> Future:
        return pool.submit(contextvars.copy_context().run, fn, *args)

    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="convcli-io") as pool:
        loads: deque[tuple[Record, Future, float]] = deque()
        saves: list[tuple[Record, Future]] = []
        queue = iter(todo)

        def submit_next() -> None:
            rec = next(queue, None)
            if rec is not None:
                loads.append((rec, submit(pool, load_one, rec, opts), time.perf_counter()))

        try:
            for _ in range(jobs):
                submit_next()
            while loads:
                rec, fut, started = loads.popleft()
                submit_next()
                done = _run_loaded(rec, fut, step, opts, started)
                if done is None:
                    _report(rec, opts, lock)
                    continue
                saves.append((rec, submit(pool, save_one, rec, *done, opts, started)))
                _drain(saves, opts, lock, keep=jobs)
            _drain(saves, opts, lock, keep=0)
        except KeyboardInterrupt:
            for _, fut, _ in loads:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _run_loaded(rec: Record, fut: Future, step: Step, opts: BatchOptions,
                started: float) -> tuple[imageio.Loaded, Outcome] | None:
    """The loaded input and its outcome, or None when loading or the op failed (recorded)."""
    try:
        loaded = fut.result()
        return loaded, run_one(rec, loaded, step, opts)
    except BrokenPipeError:
        raise
    except Exception as exc:
        # MemoryError: an allocation no estimate foresaw; anything else is a bug, but it is this
        # input's bug: its record says so and the batch goes on
        _fail(rec, as_convcli_error(exc, rec.input), opts.debug)
        rec.seconds = round(time.perf_counter() - started, 6)
        return None


def _colorized(out: Outcome, maxval: float) -> np.ndarray:
    """The result through ``out.colormap`` as 8-bit RGB values (see colormaps.colorize)."""
    from . import colormaps

    values, mode = image_values(out, maxval)
    display = values if out.rule.mode == "window" else imageio.to_display(values, maxval, mode)
    return colormaps.colorize(out.data, out.colormap or "gray", display=display, maxval=maxval)


def _alpha_8bit(alpha: np.ndarray | None, maxval: float) -> np.ndarray | None:
    return None if alpha is None else np.asarray(alpha, dtype=np.float32) * (255.0 / maxval)


def _report(rec: Record, opts: BatchOptions, lock: threading.Lock) -> None:
    if opts.on_record:
        with lock:
            opts.on_record(rec)


def _drain(saves: list, opts: BatchOptions, lock: threading.Lock, *, keep: int) -> None:
    """Report finished saves in order, waiting for the oldest while more than ``keep`` are in flight."""
    while saves and (len(saves) > keep or saves[0][1].done()):
        rec, fut = saves.pop(0)
        fut.result()
        _report(rec, opts, lock)


_STREAM_ERRNOS = (errno.ENOSPC, errno.EBADF, errno.EIO, getattr(errno, "EDQUOT", errno.ENOSPC))


class InternalError(ConvcliError):
    """An unexpected exception in one input's step: a bug, reported for that input alone."""

    exit_code = ExitCode.FAILURE


def as_convcli_error(exc: BaseException, name: str, *, writing: bool = False) -> ConvcliError:
    """Any exception of one input's step or save as the error its record reports."""
    if isinstance(exc, ConvcliError):
        return exc
    if isinstance(exc, MemoryError):
        return LimitError(f"{name}: out of memory{' while encoding' if writing else ''}")
    if writing and isinstance(exc, OSError):
        return OutputError(f"{name}: cannot write ({exc.strerror or exc})")
    if isinstance(exc, OSError) and exc.errno in _STREAM_ERRNOS:
        # printing a table, trace or picture to a full or closed stdout
        return OutputError(f"stdout: cannot write ({exc.strerror or exc})")
    return InternalError(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)")


def _fail(rec: Record, exc: ConvcliError, debug: bool = False) -> None:
    if debug:
        import traceback

        traceback.print_exc(file=sys.stderr)
    rec.status = "error"
    msg = printable(exc)
    named = msg.startswith(printable(rec.input)) or rec.input in ("-", "--matrix")
    rec.error = msg if named else f"{printable(rec.input)}: {msg}"
    rec.exit_code = int(exc.exit_code)


def check_out_dir(out_dir: str) -> None:
    """Refuse at once an --out-dir that can never be made: a file, or under a missing-or-read-only
    parent. A missing directory is created (with its parents) when the first output is written,
    so a run that fails before writing leaves no empty directory behind."""
    name = printable(out_dir)
    if os.path.isdir(out_dir):
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise OutputError(f"{name}: output directory is not writable")
        return
    if os.path.lexists(out_dir):
        raise OutputError(f"{name}: exists and is not a directory; --out-dir needs a directory")
    parent = os.path.dirname(os.path.abspath(out_dir))
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise OutputError(f"{name}: cannot create the output directory: {printable(parent)} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{name}: cannot create the output directory in {printable(parent)} (not writable)")


def make_out_dir(out_dir: str) -> None:
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{printable(out_dir)}: cannot create the output directory ({exc.strerror or exc})") from None


def exit_code(records: list[Record]) -> int:
    """0 when everything was written; a single input's own error code; 4 when some of a batch failed."""
    failed = [r for r in records if r.status != "ok"]
    if not failed:
        return int(ExitCode.OK)
    if len(records) == 1:
        return failed[0].exit_code or int(ExitCode.FAILURE)
    return int(ExitCode.PARTIAL)


def stdout_binary_writer(stream=None) -> Callable[[bytes], None]:
    """Write data to stdout (or ``stream``, a binary file). A full or closed stdout is an
    OutputError (exit 5); a reader that went away raises BrokenPipeError, which the CLI ends on
    quietly, as Unix tools do."""
    def write(payload: bytes) -> None:
        out = stream if stream is not None else getattr(sys.stdout, "buffer", None)
        if out is None:
            raise OutputError("stdout: is closed; cannot write the result there")
        try:
            out.write(payload)
            out.flush()
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as exc:
            raise OutputError(f"stdout: cannot write ({getattr(exc, 'strerror', None) or exc})") from None
    return write
