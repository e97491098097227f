"""Headings of `convcli tour`."""
from __future__ import annotations

from rich.console import Console
from rich.rule import Rule
from rich.text import Text


def print_topic(console: Console, title: str, number: int, total: int) -> None:
    console.print()
    console.print(Rule(Text(f"{number}/{total} · {title}", style="bold cyan"), style="cyan"))


def print_lesson(console: Console, lesson: str, command: str) -> None:
    """The lesson in one line, then the command exactly as a user would type it."""
    console.print()
    console.print(Text(f"▸ {lesson}", style="bold"))
    console.print(Text(f"$ {command}", style="green"))
