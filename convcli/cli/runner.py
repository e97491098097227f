"""Every op command ends here: inputs -> step -> outputs, with the batch rules; the records
printed (one error line each, --json, the summary); the exit code.

One input with -o (or none: a small result prints as a table); several inputs with --out-dir;
``-`` reads stdin, ``-o -`` writes stdout. Failures are reported one line each on stderr, the rest
is still written, and the exit code says what happened (README: exit codes).
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import typer

from .. import batch, imageio, limits
from ..batch import Outcome, Record, Step
from ..errors import OutputError, ParameterError
from ..render import make_console, print_matrix
from ..render.progress import batch_progress
from ..safeio import check_target, defer, is_stream, note_read, printable
from .options import AlphaMode, Colormap

SMALL_RESULT = 32


@dataclass(frozen=True)
class RunOptions:
    """The options every op command shares: inputs, outputs, batch, pictures (parsed)."""

    inputs: list[str] | None = None
    matrix: str | None = None
    output: str | None = None
    out_dir: str | None = None
    fmt: str | None = None
    name: str = "{stem}"
    json_out: bool = False
    quiet: bool = False
    jobs: int | None = None
    gray: bool = False
    alpha: AlphaMode = AlphaMode.keep
    max_pixels: int | None = None
    show: bool = False                   # --show: pictures of each input and result
    colormap: Colormap | None = None
    trace_out: str | None = None         # a side output: written only when the whole run succeeds
    debug: bool = False

    @property
    def report_to_stderr(self) -> bool:
        """stdout carries data (-o -) or JSON (--json): reports and tables go to stderr."""
        return self.json_out or self.output == "-"

    @property
    def result_printed(self) -> bool:
        """No output file and no JSON: a result (or an overlap map) is printed."""
        return self.output is None and self.out_dir is None and not self.json_out


def debug_of(ctx: typer.Context) -> bool:
    """--debug, as the entry point saw it (``ctx.obj``; False when a command is invoked alone)."""
    return bool(getattr(ctx.obj, "debug", False))


def apply_limits(max_pixels: int | None) -> None:
    if max_pixels is not None:
        if max_pixels < 1:
            raise ParameterError(f"--max-pixels must be at least 1, got {max_pixels}")
        limits.set_max_pixels(max_pixels)


def run_op(io: RunOptions, build: Callable[[], Step]) -> None:
    """Apply the limits, build the op's step (its options checked once), run it over the inputs."""
    apply_limits(io.max_pixels)
    defer(io.trace_out)                 # written only when the whole run succeeds
    step = build()
    if step.traces and io.json_out and io.trace_out is None:
        raise ParameterError("--trace prints to stdout, which --json keeps for JSON; use one of them")
    if not io.inputs and io.matrix is None and step.standalone is not None:
        step.standalone(io)             # e.g. activate --plot without an input
        return
    run_command(step, io)


def run_command(step: Step, io: RunOptions) -> None:
    """``step`` over every input: checks first, then the batch, then its report and exit code."""
    colormap = _check_colormap(io.colormap)
    expanded, count = check_run(io)
    # a result is printed (table or summary) only when it goes nowhere else
    print_result = count <= 1 and io.result_printed and not step.prints
    started = time.perf_counter()
    with stdout_for_data(io.output == "-") as data_stdout:
        records = _batch(step, io, expanded, count, print_result=print_result, colormap=colormap,
                         stdout_write=batch.stdout_binary_writer(data_stdout))
        report_records(records, io, started)
    code = batch.exit_code(records)
    if code:
        raise typer.Exit(code)


def _check_colormap(colormap: Colormap | str | None) -> str | None:
    if colormap is None:
        return None
    from .. import colormaps
    return colormaps.check(getattr(colormap, "value", colormap))


def check_run(io: RunOptions) -> tuple[list[tuple[str, str | None]] | None, int]:
    """Everything that can be refused before any input is read; returns the expanded inputs (None
    for --matrix or no input) and how many there are."""
    inputs = list(io.inputs or [])
    batch.check_format(io.fmt)
    if io.output is not None and io.out_dir is not None:
        raise ParameterError("give either -o FILE or --out-dir DIR, not both")
    if io.output == "-":
        if sys.stdout is not None and sys.stdout.isatty():
            raise ParameterError("refusing to write image data to a terminal; redirect stdout (-o - > out.png)")
    elif io.output is not None:
        check_output(io.output, inputs[0] if len(inputs) == 1 else None)
    expanded = batch.expand_inputs(inputs) if inputs and io.matrix is None else None
    count = len(expanded) if expanded is not None else (1 if io.matrix is not None else 0)
    check_side_outputs((io.trace_out,), [p for p, err in expanded or [] if err is None])
    if count > 1 and io.output is None and io.out_dir is None and not io.json_out:
        raise ParameterError(f"{count} inputs: give --out-dir DIR for their outputs (or --json for statistics only)")
    return expanded, count


def _batch(step: Step, io: RunOptions, expanded, count: int, *, print_result: bool, colormap: str | None,
           stdout_write) -> list[Record]:
    """Run the batch, printing what each input's result asks for and one line per failure."""
    picture_console = make_console(stderr=io.json_out) if io.show else None

    def on_result(loaded: imageio.Loaded, outcome: Outcome) -> None:
        if colormap is not None:
            outcome.colormap = colormap
        if picture_console is not None:
            show_pictures(picture_console, loaded, outcome, colormap=colormap, named=count > 1)
        if print_result:
            show_or_summarise(outcome.data, title=outcome.title)

    with batch_progress(count, enabled=not io.quiet and not io.json_out) as advance:
        def on_record(rec: Record) -> None:
            if rec.status != "ok":
                sys.stderr.write(f"convcli: error: {printable(rec.error)}\n")
                sys.stderr.flush()
            advance(os.path.basename(rec.input))

        return batch.run_batch(
            list(io.inputs or []), step, expanded=expanded, out_dir=io.out_dir, output=io.output, fmt=io.fmt,
            name=io.name, jobs=io.jobs, gray=io.gray, alpha=AlphaMode(io.alpha).value, matrix=io.matrix,
            stdin_bytes=imageio.read_stdin, stdout_write=stdout_write, on_record=on_record, on_result=on_result,
            statistics=io.json_out, debug=io.debug,
            pixel_outputs=colormap is None and picture_console is None and not print_result and not step.traces)


def report_records(records: list[Record], io: RunOptions, started: float) -> None:
    """--json: one document on stdout; else, for a batch, one summary line on stderr."""
    written = sum(r.status == "ok" for r in records)
    failed = len(records) - written
    if io.json_out:
        doc = {"records": [r.as_dict() for r in records], "written": written, "failed": failed,
               "seconds": round(time.perf_counter() - started, 6)}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        sys.stdout.flush()
    elif (len(records) > 1 or io.out_dir is not None) and not io.quiet:
        where = f" to {printable(io.out_dir)}" if io.out_dir else ""
        sys.stderr.write(f"convcli: {written} written{where}, {failed} failed, "
                         f"in {time.perf_counter() - started:.2f} s\n")


def check_output(output: str | None, input_path: str | None) -> None:
    """Fail before any work when the output cannot be right: a directory (say --out-dir), an
    unknown extension, a missing or read-only directory, a device that cannot be written, or an
    input of this run."""
    if output is None:
        return
    if output.endswith(("/", os.sep)) or os.path.isdir(output):
        raise OutputError(f"{printable(output)}: is a directory; -o names one file — use --out-dir "
                          f"{printable(output)} to write one file per input into it")
    if not is_stream(output):
        imageio.output_kind(output)
    if input_path:
        note_read(input_path)
    check_target(output)


def check_side_outputs(paths, inputs: list[str]) -> None:
    """A trace or stats export must be writable, and never an input (or the result): checked before
    any work, like -o."""
    for src in inputs:
        note_read(src)
    for path in paths:
        if path and path != "-":
            check_target(path)


@contextlib.contextmanager
def stdout_for_data(reserved: bool):
    """The rule for stdout: when ``-o -`` puts the result there, stdout carries that data alone.
    Everything else a run prints (traces, reports, tables, pictures, JSON) goes to stderr: for the
    run, ``sys.stdout`` *is* stderr, and the data is written to the real stdout yielded here."""
    if not reserved:
        yield None
        return
    real = sys.stdout
    data = getattr(real, "buffer", None) if real is not None else None
    if data is None:
        raise OutputError("stdout: is closed; cannot write the result there")
    sys.stdout = sys.stderr
    try:
        yield data
    finally:
        sys.stdout = real


def show_or_summarise(result: np.ndarray, *, title: str = "result") -> None:
    """No -o: print a small result as a table; a big one as a one-line summary with a hint."""
    console = make_console()
    if result.shape[0] <= SMALL_RESULT and result.shape[1] <= SMALL_RESULT and (result.ndim == 2 or result.shape[2] <= 4):
        print_matrix(console, result, title)
        return
    shape = "×".join(str(s) for s in result.shape)
    console.print(f"{title} {shape}: min {result.min():.6g}, max {result.max():.6g}, mean {result.mean():.6g} "
                  f"(too big to print; -o FILE saves it)")


def show_pictures(console, loaded: imageio.Loaded, outcome: Outcome, *, colormap: str | None = None,
                  named: bool = False) -> None:
    """--show: the input and the result side by side. An image's pixels are drawn on its full scale
    (0..255, 0..65535); matrices, feature maps and results outside that scale (activate's window)
    on their own range."""
    from ..render.preview import print_previews

    image = loaded.kind == "image"
    in_max = loaded.maxval if image else None
    if outcome.maxval is not None:
        out_max = outcome.maxval
    else:
        out_max = loaded.maxval if image and outcome.rule.mode != "window" else None
    prefix = f"{loaded.source}: " if named else ""
    print_previews(console, [(f"{prefix}input", loaded.data, in_max), ("result", outcome.data, out_max)],
                   colormap=colormap)
