"""Batch feedback on stderr: a progress bar on a terminal, error lines, the closing summary."""
from __future__ import annotations

import sys
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def batch_progress(total: int, *, enabled: bool):
    """Yield ``advance(label)``; draws a bar on stderr only when ``enabled`` and stderr is a terminal."""
    if not enabled or total <= 1 or not sys.stderr.isatty():
        yield lambda label="": None
        return
    console = Console(file=sys.stderr)
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("convcli", total=total, rate="")

        def advance(label: str = "") -> None:
            progress.advance(task)
            t = progress.tasks[0]
            rate = f"{t.completed / t.elapsed:.1f} files/s" if t.elapsed else ""
            progress.update(task, description=label[-30:] or "convcli", rate=rate)

        yield advance
