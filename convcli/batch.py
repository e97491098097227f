"""Many inputs through one op: input expansion, output naming, overlapped I/O, failures that
don't stop the batch, atomic writes. No Typer or Rich here: the CLI and scripts both use it.

>>> import convcli
>>> from convcli.batch import run_batch, Outcome
>>> records = run_batch(["photos/"], lambda im: Outcome(convcli.convolve(im.data, "box", padding="same")),
...                     out_dir="out")                                          # doctest: +SKIP
"""
from __future__ import annotations

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

from . import imageio
from .errors import ConvcliError, ExitCode, LimitError, OutputError, ParameterError

# set by the CLI's --debug: print the traceback of each failing input (they are otherwise one line)
debug_tracebacks = False

READABLE_EXTS = imageio.READ_IMAGE_EXTS | imageio.MATRIX_EXTS
FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "tif": ".tif", "tiff": ".tif", "webp": ".webp",
           "bmp": ".bmp", "npy": ".npy", "csv": ".csv", "txt": ".txt"}


@dataclass
class Outcome:
    """What an op made of one input: the result and how to write it."""

    result: np.ndarray
    range_mode: str = "clip"
    alpha: np.ndarray | None = None
    maxval: float | None = None          # None: the input's own scale
    formulas: list[str] = field(default_factory=list)
    title: str = "result"                # how a printed table of it is headed
    for_image: np.ndarray | None = None  # what to write when the output is an image (e.g. mapped to pixels)
    report: dict | None = None           # extra facts for the --json record (e.g. activation statistics)
    colormap: str | None = None          # image outputs: colour a one-channel result through this map
    # the result already mapped to 8-bit pixels by the range rule (only when the input's
    # pixel_target asked for it); ``result`` is then None: nothing else reads the float values
    pixels: np.ndarray | None = None


Step = Callable[[imageio.Loaded], Outcome]


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


def output_name(input_path: str, out_dir: str, *, fmt: str | None = None, name: str = "{stem}") -> str:
    """``out_dir/<name with {stem}>.<ext>``: the input's extension unless ``fmt`` says otherwise
    (inputs in formats convcli cannot write, such as GIF, become PNG)."""
    base = {"-": "stdin.png", "--matrix": "matrix.csv"}.get(input_path) or os.path.basename(input_path)
    stem, ext = os.path.splitext(base)
    if fmt:
        ext = FORMATS[fmt]
    elif ext.lower() not in imageio.IMAGE_EXTS and ext.lower() not in (".npy", ".csv", ".txt"):
        ext = ".png"
    try:
        filename = name.format(stem=stem)
    except (KeyError, IndexError, ValueError) as exc:
        raise ParameterError(f"--name template {name!r} is not valid ({exc}); use {{stem}} for the input's name") from None
    if not filename or os.sep in filename:
        raise ParameterError(f"--name template {name!r} must give a plain file name")
    return os.path.join(out_dir, filename + ext)


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


def run_batch(inputs: list[str], step: Step, *, out_dir: str | None = None, output: str | None = None,
              fmt: str | None = None, name: str = "{stem}", jobs: int | None = None, gray: bool = False,
              alpha: str = "keep", matrix: str | None = None, stdin_bytes: Callable[[], bytes] | None = None,
              stdout_write: Callable[[bytes], None] | None = None,
              on_record: Callable[[Record], None] | None = None,
              on_result: Callable[[imageio.Loaded, Outcome], None] | None = None,
              expanded: list[tuple[str, str | None]] | None = None, statistics: bool = True,
              pixel_outputs: bool = False) -> list[Record]:
    """Run ``step`` over every input; write each result (``output`` for one input, else into ``out_dir``).

    Decoding and encoding run in ``jobs`` threads (Pillow releases the GIL) while the op itself
    runs in the calling thread, where Numba already uses every core. A failing input is recorded
    and skipped; the others are still written. Outputs are written atomically and never replace an
    input of the batch. ``on_result`` sees each loaded input and its outcome (for traces, tables).
    ``expanded``: ``inputs`` already run through :func:`expand_inputs` (to expand them only once).
    ``statistics``: fill each record's min, max and mean (three passes over the result: 50 ms for a
    12 MP photo; the CLI asks for them only with --json). The output shape is always filled in.
    ``pixel_outputs``: a step may return the pixels of an image output directly (Outcome.pixels;
    each input's ``pixel_target`` names its image output), when nothing else needs the float result:
    no statistics, and no ``on_result`` that reads it.
    """
    fmt = check_format(fmt)
    if matrix is not None and inputs:
        raise ParameterError("give either INPUT or --matrix, not both")
    if matrix is not None:
        expanded = [("--matrix", None)]
    elif expanded is None:
        expanded = expand_inputs(inputs)
    if not expanded:
        raise ParameterError("missing INPUT (files, directories, glob patterns, - for stdin, or --matrix \"...\")")
    if output is not None and len(expanded) > 1:
        raise ParameterError(f"-o names one output but there are {len(expanded)} inputs; use --out-dir DIR")
    if out_dir is not None:
        if not os.path.isdir(out_dir):
            raise OutputError(f"{out_dir}: output directory does not exist")
        if not os.access(out_dir, os.W_OK):
            raise OutputError(f"{out_dir}: output directory is not writable")
    jobs = max(1, jobs or os.cpu_count() or 1)
    records = [Record(input=p, status="error" if err else "pending", error=err,
                      exit_code=int(ExitCode.BAD_INPUT) if err else 0) for p, err in expanded]
    real_inputs = [p for p, err in expanded if err is None and p not in ("-", "--matrix")]
    taken: dict[str, str] = {}
    for rec in records:
        if rec.status != "pending":
            continue
        if output is not None:
            rec.output = output
        elif out_dir is not None:
            rec.output = output_name(rec.input, out_dir, fmt=fmt, name=name)
        if rec.output is None or rec.output == "-":
            continue
        try:
            imageio.output_kind(rec.output)
            _refuse_inputs(rec.output, real_inputs)
            key = os.path.abspath(rec.output)
            if key in taken:
                raise OutputError(f"{rec.output}: also the output of {taken[key]}; use --name to tell them apart")
            taken[key] = rec.input
        except ConvcliError as exc:
            _fail(rec, exc)
    for rec in records:
        if rec.status == "error" and on_record:
            on_record(rec)

    todo = [r for r in records if r.status == "pending"]

    def load(rec: Record) -> imageio.Loaded:
        if rec.input == "--matrix":
            loaded = imageio.load_matrix_text(matrix or "")
            if gray and loaded.channels > 1:
                loaded.data = loaded.data.mean(axis=2)
            return loaded
        data = stdin_bytes() if rec.input == "-" and stdin_bytes else None
        return imageio.load_input(rec.input, gray=gray, alpha=alpha, data=data)

    def target_of(rec: Record) -> str | None:
        return None if rec.output is None else rec.output if rec.output != "-" else f"stdout{FORMATS[fmt or 'png']}"

    def save(rec: Record, loaded: imageio.Loaded, out: Outcome, started: float) -> None:
        try:
            if rec.output is not None:
                target = target_of(rec)
                is_image = imageio.output_kind(target) == "image"
                image = is_image and out.for_image is not None
                maxval = out.maxval if out.maxval is not None else loaded.maxval
                if out.pixels is not None:
                    payload = imageio.encode_pixels(out.pixels, imageio.image_format(target), alpha=out.alpha)
                elif is_image and out.colormap:
                    payload = imageio.encode_result(_colorized(out, maxval), target, maxval=255.0,
                                                    range_mode="clip", alpha=_alpha_8bit(out.alpha, maxval))
                else:
                    payload = imageio.encode_result(out.for_image if image else out.result, target,
                                                    maxval=maxval, range_mode=out.range_mode, alpha=out.alpha)
                if rec.output == "-":
                    assert stdout_write is not None
                    stdout_write(payload)
                else:
                    imageio.write_atomic(rec.output, payload, inputs=tuple(real_inputs))
            rec.status = "ok"
        except ConvcliError as exc:
            _fail(rec, exc)
        except MemoryError:
            _fail(rec, OutputError(f"{rec.output}: out of memory while encoding"))
        rec.seconds = round(time.perf_counter() - started, 6)

    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="convcli-io") as pool:
        loads: deque[tuple[Record, Future, float]] = deque()
        saves: list[tuple[Record, Future]] = []
        queue = iter(todo)

        def submit_next() -> None:
            rec = next(queue, None)
            if rec is not None:
                loads.append((rec, pool.submit(load, rec), time.perf_counter()))

        try:
            for _ in range(jobs):
                submit_next()
            while loads:
                rec, fut, started = loads.popleft()
                submit_next()
                try:
                    loaded = fut.result()
                    rec.input_shape = list(loaded.raw.shape)
                    target = target_of(rec)
                    if pixel_outputs and not statistics and target and imageio.output_kind(target) == "image":
                        loaded.pixel_target = target
                    out = step(loaded)
                    if statistics:
                        _summary_stats(rec, out.result)
                    else:
                        rec.output_shape = list((out.result if out.pixels is None else out.pixels).shape)
                    rec.report = out.report
                    if on_result:
                        on_result(loaded, out)
                except (ConvcliError, MemoryError) as exc:
                    # MemoryError: an allocation no estimate foresaw; report it like any failure
                    _fail(rec, exc if isinstance(exc, ConvcliError) else LimitError(f"{rec.input}: out of memory"))
                    rec.seconds = round(time.perf_counter() - started, 6)
                    if on_record:
                        with lock:
                            on_record(rec)
                    continue
                saves.append((rec, pool.submit(save, rec, loaded, out, started)))
                _drain(saves, on_record, lock, keep=jobs)
            _drain(saves, on_record, lock, keep=0)
        except KeyboardInterrupt:
            for _, fut, _ in loads:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return records


def _colorized(out: Outcome, maxval: float) -> np.ndarray:
    """The result through ``out.colormap`` as 8-bit RGB values (see colormaps.colorize)."""
    from . import colormaps

    display = out.for_image if out.for_image is not None else imageio.to_display(out.result, maxval, out.range_mode)
    return colormaps.colorize(out.result, out.colormap or "gray", display=display, maxval=maxval)


def _alpha_8bit(alpha: np.ndarray | None, maxval: float) -> np.ndarray | None:
    return None if alpha is None else np.asarray(alpha, dtype=np.float32) * (255.0 / maxval)


def _drain(saves: list, on_record, lock, *, keep: int) -> None:
    """Report finished saves in order, waiting for the oldest while more than ``keep`` are in flight."""
    while saves and (len(saves) > keep or saves[0][1].done()):
        rec, fut = saves.pop(0)
        fut.result()
        if on_record:
            with lock:
                on_record(rec)


def _fail(rec: Record, exc: ConvcliError) -> None:
    if debug_tracebacks:
        import traceback

        traceback.print_exc(file=sys.stderr)
    rec.status = "error"
    msg = str(exc)
    named = msg.startswith(rec.input) or rec.input in ("-", "--matrix")
    rec.error = msg if named else f"{rec.input}: {msg}"
    rec.exit_code = int(exc.exit_code)


def _refuse_inputs(output: str, inputs: list[str]) -> None:
    if not os.path.exists(output):
        return
    for src in inputs:
        if imageio.same_file(src, output):
            raise OutputError(f"{output}: output would overwrite the input {src}; choose another --out-dir or --name")


def exit_code(records: list[Record]) -> int:
    """0 when everything was written; a single input's own error code; 4 when some of a batch failed."""
    failed = [r for r in records if r.status != "ok"]
    if not failed:
        return int(ExitCode.OK)
    if len(records) == 1:
        return failed[0].exit_code or int(ExitCode.FAILURE)
    return int(ExitCode.PARTIAL)


def stdout_binary_writer() -> Callable[[bytes], None]:
    def write(payload: bytes) -> None:
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
    return write
