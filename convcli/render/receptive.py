"""`convcli chain --trace`: a receptive field printed stage by stage, or exported (text, markdown, json)."""
from __future__ import annotations

import os

from rich.console import Console
from rich.text import Text

from ..errors import ParameterError
from ..traces.receptive import IN, ReceptiveTrace, trace_lines, trace_markdown
from .present import dumps_compact

EXPORTS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".json": "json"}


def export_format(path: str) -> str:
    """--trace-out's format from its extension: .json, .md/.markdown, anything else plain text."""
    return EXPORTS.get(os.path.splitext(path)[1].lower(), "text")


def export_receptive(trace: ReceptiveTrace, fmt_name: str) -> str:
    if fmt_name == "json":
        return dumps_compact(trace.as_dict()) + "\n"
    if fmt_name == "markdown":
        return trace_markdown(trace)
    if fmt_name == "text":
        return "\n".join(trace_lines(trace)) + "\n"
    raise ParameterError(f"a receptive-field trace exports as text, markdown or json, not {fmt_name}")


def print_receptive(console: Console, trace: ReceptiveTrace) -> None:
    """The plain lines, with the region's cells highlighted on a colour terminal."""
    for i, line in enumerate(trace_lines(trace)):
        text = Text(line)
        if i == 0:
            text.stylize("bold")
        elif line.startswith(("input", "after stage")):
            text.stylize("bold cyan")
        elif line.startswith("  read by"):
            text.stylize("dim")
        else:
            text.highlight_words([IN], "bold yellow")
        console.print(text)
