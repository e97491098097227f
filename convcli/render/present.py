"""Showing a trace: printed, played in place (--animate), stepped through (--step), or exported
(--trace-format text|markdown|json|svg|html|html-static, to stdout or --trace-out FILE; html is
the interactive page of ``html_trace``, html-static the coloured terminal rendering).

Works for every trace model: the slide-style :class:`~convcli.traces.model.Trace` (convolution,
pooling, upsampling, transposed convolution) gets all of it; the activation and batch-norm traces,
which are tables rather than a sliding window, are exported the same way and printed whole.
"""
from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from rich.console import Console
from rich.live import Live
from rich.text import Text

from ..errors import OutputError, ParameterError
from ..traces.model import GridView, Trace, fmt
from .console import make_console
from .trace import print_trace, print_trace_footer, print_trace_header, render_step

FORMATS = ("text", "markdown", "json", "svg", "html", "html-static")
EXTENSIONS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".json": "json", ".svg": "svg",
              ".html": "html", ".htm": "html"}
DEFAULT_DELAY = 0.6
EXPORT_WIDTH = 120


@dataclass
class TraceOutput:
    """How a trace is shown. The default prints it, coloured on a terminal, plain when piped."""

    format: str = "text"
    out: str | None = None
    animate: bool = False
    delay: float = DEFAULT_DELAY
    step: bool = False
    read_line: Callable[[], str] | None = None      # --step's keyboard (default: stdin)
    is_terminal: Callable[[], bool] | None = None   # default: stdout and stdin are terminals
    console: Console | None = None                  # where printed traces go (default: stdout)
    written: int = 0

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ParameterError(f"--trace-format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if not (isinstance(self.delay, (int, float)) and math.isfinite(self.delay) and self.delay >= 0):
            raise ParameterError(f"--delay must be a number of seconds ≥ 0, got {self.delay!r}")
        if self.animate and self.step:
            raise ParameterError("give either --animate or --step, not both")
        if (self.animate or self.step) and (self.format != "text" or self.out):
            raise ParameterError("--animate and --step play the trace in the terminal; "
                                 "drop --trace-format/--trace-out")
        if self.out is not None:
            directory = os.path.dirname(os.path.abspath(self.out))
            if not os.path.isdir(directory):
                raise OutputError(f"{self.out}: directory {directory} does not exist")
            if os.path.isdir(self.out):
                raise OutputError(f"{self.out}: is a directory; give a file name")


def format_for(trace_format: str | None, trace_out: str | None) -> str:
    """--trace-format, else guessed from --trace-out's extension (.json .md .svg .html .txt), else text."""
    if trace_format is not None:
        return str(getattr(trace_format, "value", trace_format)).lower()
    if trace_out is not None:
        ext = os.path.splitext(trace_out)[1].lower()
        if ext in EXTENSIONS:
            return EXTENSIONS[ext]
    return "text"


# ------------------------------------------------------------------------------ exports

def _printer(trace) -> Callable[[Console], None]:
    if isinstance(trace, Trace):
        return lambda console: print_trace(console, trace)
    from ..traces.activation import ActivationTrace
    from ..traces.batchnorm import BatchNormTrace
    if isinstance(trace, ActivationTrace):
        from .activations import print_activation_trace
        return lambda console: print_activation_trace(console, trace)
    if isinstance(trace, BatchNormTrace):
        from .batchnorm import print_batchnorm_trace
        return lambda console: print_batchnorm_trace(console, trace)
    raise TypeError(f"no renderer for {type(trace).__name__}")


def _number(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _grid(a: np.ndarray) -> list:
    return [[_number(v) for v in row] for row in np.asarray(a, dtype=np.float64)]


def view_coords(view: GridView) -> tuple[list[int], list[int]]:
    """The input coordinates of each row and column of a drawn grid (padding: negative or past the
    size). Explicit ``coords`` first, else the labels read as whole numbers, else 0, 1, ..."""
    if view.coords is not None:
        return [int(v) for v in view.coords[0]], [int(v) for v in view.coords[1]]
    h, w = view.shape

    def read(labels, n):
        try:
            return [int(v) for v in labels] if labels is not None and len(labels) == n else list(range(n))
        except ValueError:
            return list(range(n))
    return read(view.row_labels, h), read(view.col_labels, w)


def _view_json(view: GridView) -> dict:
    rows, cols = view_coords(view)
    doc = {"title": view.title, "values": _grid(view.values), "row_labels": view.row_labels,
           "col_labels": view.col_labels, "rows": rows, "cols": cols}
    if view.pad_mask is not None:
        doc["padding"] = np.asarray(view.pad_mask, dtype=bool).tolist()
    return doc


def _products(trace: Trace, step, window_values: list[float]) -> list[float] | None:
    """The numbers the step multiplies: window × kernel (convolution), value × kernel (scatter)."""
    if trace.kernel is None:
        return None
    k = np.asarray(trace.kernel.values, dtype=np.float64).ravel()
    if trace.operator == "*" and len(window_values) == k.size:
        return [_number(a * b) for a, b in zip(window_values, k)]
    if trace.operator == "×" and len(window_values) == 1:
        return [_number(window_values[0] * b) for b in k]
    return None


def _output_json(trace: Trace) -> tuple[list | None, dict]:
    """The output as the trace shows it: the whole grid only when it is all drawn (a small output),
    and always the drawn window (its origin and values): never the whole result of a large image."""
    from .trace import output_window
    oh, ow = trace.output_shape
    r0, r1, c0, c1 = output_window(trace)
    if trace.output_values is None:
        return None, {"origin": [r0, c0], "shape": [r1 - r0, c1 - c0], "values": None}
    window = np.asarray(trace.output_values)[r0:r1, c0:c1]
    whole = _grid(window) if (r0, r1, c0, c1) == (0, oh, 0, ow) else None
    return whole, {"origin": [r0, c0], "shape": [r1 - r0, c1 - c0], "values": whole or _grid(window)}


def trace_json(trace) -> dict:
    """A JSON-able document of the trace: for slide traces every step's output cell, window
    (grid cell, input coordinates, value, padding or not), terms, products and sum.

    Only what the shown steps touch is in it: the input part their windows cover, the output cells
    they write (``output_window``; ``output``, the whole result, only when it is small enough to be
    drawn whole), shapes and formulas. Its size follows --max-steps and --region, not the image."""
    if not isinstance(trace, Trace):
        return json.loads(json.dumps(dataclasses.asdict(trace), default=_default))
    view = trace.input
    rows, cols = view_coords(view)
    steps = []
    for i, s in enumerate(trace.steps):
        window = []
        for r, c in s.cells:
            padded = bool(view.pad_mask[r, c]) if view.pad_mask is not None else False
            window.append({"cell": [r, c], "input": [rows[r], cols[c]],
                           "value": _number(view.values[r, c]), "padding": padded})
        values = [float(view.values[r, c]) for r, c in s.cells]
        doc = {"step": i + 1, "output_cell": list(s.out_pos),
               "output_cells": [list(c) for c in (s.out_cells if s.out_cells is not None else [s.out_pos])],
               "move": s.move, "window": window, "terms": list(s.terms)}
        products = _products(trace, s, values)
        if products is not None:
            doc["products"] = products
        if s.out_products is not None:       # scatter: what each written output cell received
            doc["added"] = [_number(p) for p in s.out_products]
        if trace.partial_outputs is not None:   # ... and its running sum after this step
            doc["running"] = [_number(trace.partial_outputs[i][tuple(c)]) for c in doc["output_cells"]]
        doc["marked"] = [list(m) for m in s.marked]
        doc["marked_input"] = [[rows[r], cols[c]] for r, c in s.marked]
        doc["expression"] = s.expression
        doc["sum"] = _number(s.value)
        steps.append(doc)
    whole, window_doc = _output_json(trace)
    return {"title": trace.title, "notes": list(trace.notes), "operator": trace.operator,
            "input": _view_json(view), "kernel": _view_json(trace.kernel) if trace.kernel is not None else None,
            "output_shape": list(trace.output_shape), "total_steps": trace.total_steps, "steps": steps,
            "formulas": list(trace.formulas), "output_title": trace.output_title,
            "output": whole, "output_window": window_doc}


def _default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return str(obj)


def dumps_compact(doc) -> str:
    """JSON with two-space indents, but each innermost list (a grid row, a cell) on one line."""
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    return re.sub(r"\[\s*\n\s*([^\[\]{}]*?)\s*\n\s*\]",
                  lambda m: "[" + re.sub(r",\s*\n\s*", ", ", m.group(1)) + "]", text)


def _md_table(values: np.ndarray, row_labels, col_labels, cell: Callable[[int, int], str]) -> list[str]:
    h, w = values.shape
    cols = col_labels or [str(c) for c in range(w)]
    rows = row_labels or [str(r) for r in range(h)]
    lines = ["| | " + " | ".join(cols) + " |", "|---|" + "---:|" * w]
    for r in range(h):
        lines.append(f"| **{rows[r]}** | " + " | ".join(cell(r, c) for c in range(w)) + " |")
    return lines


def trace_markdown(trace) -> str:
    """Markdown for notes: a heading per step, the input grid as a table with the window in
    **[bold brackets]**, padding in (parentheses), and the written-out arithmetic."""
    if not isinstance(trace, Trace):
        return f"# {getattr(trace, 'title', 'trace')}\n\n```text\n{trace_text(trace).rstrip()}\n```\n"
    view = trace.input
    out = [f"## {trace.title}", ""]
    out += [f"- {n}" for n in trace.notes] + ([""] if trace.notes else [])
    if trace.kernel is not None:
        k = trace.kernel
        out += [f"**{k.title}**", ""] + _md_table(k.values, None, None, lambda r, c: fmt(k.values[r, c])) + [""]
    for i, s in enumerate(trace.steps):
        where = ", ".join(f"output[{r}, {c}]" for r, c in (s.out_cells or [s.out_pos])[:4])
        if s.out_cells is not None and len(s.out_cells) > 4:
            where += ", …"
        out.append(f"### Step {i + 1} of {trace.total_steps} · {where}" + (f" · {s.move}" if s.move else ""))
        out.append("")
        window, marked = set(s.cells), set(s.marked)

        def cell(r: int, c: int) -> str:
            text = fmt(view.values[r, c])
            if view.pad_mask is not None and view.pad_mask[r, c]:
                text = f"({text})"
            if (r, c) in marked:
                text += "*"
            return f"**[{text}]**" if (r, c) in window else text

        out += [f"*{view.title}*", ""] + _md_table(view.values, view.row_labels, view.col_labels, cell)
        out += ["", f"`{s.expression}`", ""]
    if trace.formulas:
        out += ["### Output size", ""] + [f"- `{f}`" for f in trace.formulas] + [""]
    if trace.output_values is not None:
        from .trace import output_window
        r0, r1, c0, c1 = output_window(trace)
        res = np.asarray(trace.output_values)[r0:r1, c0:c1]
        oh, ow = trace.output_shape
        head = trace.output_title if (r0, r1, c0, c1) == (0, oh, 0, ow) else \
            f"{trace.output_title}: rows {r0}..{r1 - 1}, columns {c0}..{c1 - 1}"
        out += [f"### {head}", ""] + _md_table(res, [str(r) for r in range(r0, r1)], [str(c) for c in range(c0, c1)],
                                                lambda r, c: fmt(res[r, c])) + [""]
    return "\n".join(out)


def _record(trace, *, width: int = EXPORT_WIDTH, color: bool) -> Console:
    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=color,
                      color_system="truecolor" if color else None, no_color=not color, highlight=False,
                      soft_wrap=False, emoji=False)
    _printer(trace)(console)
    return console


def trace_text(trace, *, width: int = EXPORT_WIDTH) -> str:
    """The plain-text trace, exactly as printed into a pipe."""
    return _record(trace, width=width, color=False).export_text()


def export_trace(trace, fmt_name: str, *, width: int = EXPORT_WIDTH, delay: float = DEFAULT_DELAY) -> str:
    """The trace as text, markdown, json, svg, html (the interactive page; ``delay``: seconds per step
    of its play button) or html-static (svg and html-static: the coloured terminal rendering)."""
    if fmt_name == "text":
        return trace_text(trace, width=width)
    if fmt_name == "markdown":
        return trace_markdown(trace)
    if fmt_name == "json":
        return dumps_compact(trace_json(trace)) + "\n"
    if fmt_name == "html":
        from .html_trace import trace_html
        return trace_html(trace, trace_json(trace), delay=delay)
    console = _record(trace, width=width, color=True)
    title = getattr(trace, "title", "convcli trace")
    if fmt_name == "svg":
        return console.export_svg(title=f"convcli · {title}")
    if fmt_name == "html-static":
        return console.export_html(inline_styles=True)
    raise ParameterError(f"--trace-format must be one of {', '.join(FORMATS)}, got {fmt_name!r}")


# ------------------------------------------------------------------------------ playing

def animate_trace(console: Console, trace: Trace, *, delay: float = DEFAULT_DELAY,
                  sleep: Callable[[float], None] = time.sleep) -> None:
    """Play the steps in place: the window slides over the input, the output fills in."""
    partial = trace.partial_outputs
    print_trace_header(console, trace)
    with Live(console=console, auto_refresh=False, transient=False) as live:
        for i in range(len(trace.steps)):
            live.update(render_step(trace, i, partial[i] if partial else None, width=console.width), refresh=True)
            if i + 1 < len(trace.steps):
                sleep(delay)
    print_trace_footer(console, trace)


def step_through(console: Console, trace: Trace, read_line: Callable[[], str]) -> bool:
    """Print one step at a time, waiting for Enter; "q" stops. Returns False when the user quit."""
    partial = trace.partial_outputs
    print_trace_header(console, trace)
    for i in range(len(trace.steps)):
        console.print(render_step(trace, i, partial[i] if partial else None, width=console.width))
        if i + 1 < len(trace.steps):
            console.print(Text("Enter: next step · q: quit", style="dim"), end="")
            console.file.flush()
            answer = read_line()
            console.print()
            if answer == "" or answer.strip().lower() in ("q", "quit"):   # "" = end of input
                return False
    print_trace_footer(console, trace)
    return True


def _terminal() -> bool:
    return sys.stdout.isatty() and sys.stdin.isatty()


def present_trace(trace, output: TraceOutput | None = None) -> None:
    """Show ``trace`` the way ``output`` says (the default: print it to stdout)."""
    output = output or TraceOutput()
    if output.format != "text" or output.out is not None:
        payload = export_trace(trace, output.format, delay=output.delay)
        if output.format in ("text", "markdown"):
            from .console import strip_trailing_spaces

            payload = strip_trailing_spaces(payload)
        if output.out is None:
            sys.stdout.write(payload)
            sys.stdout.flush()
            return
        if output.written:
            raise ParameterError(f"--trace-out {output.out} holds one trace; trace one input at a time")
        from ..imageio import write_atomic
        write_atomic(output.out, payload.encode("utf-8"))
        output.written += 1
        return
    console = output.console or make_console()
    terminal = (output.is_terminal or _terminal)()
    if isinstance(trace, Trace) and terminal and output.animate:
        animate_trace(console, trace, delay=output.delay)
    elif isinstance(trace, Trace) and terminal and output.step:
        step_through(console, trace, output.read_line or sys.stdin.readline)
    else:
        _printer(trace)(console)
