"""Every shell example in README.md that needs only the bundled files runs as printed.

The examples are read from the README's ```bash and ```console blocks at test time. An example
runs when every file it reads is under ``sample_images/`` (or it reads none: ``--matrix``, ``shape``,
``tour``...); examples on the reader's own files (photo.jpg, photos/, weight.npy, ...) are left out.
Each one runs through the installed console script, in a temporary directory holding
``sample_images/``, with the shell (pipes and redirections as printed). It must exit 0; where a
console block shows the printed output, each shown line must be in the real output (whitespace
aside, ``...`` skipping lines), and a comment made of numbers (``# 4 2 / 6 8``) must match the
result's rows. An example whose shown output is an error line must fail with exactly that line.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer

from conftest import ROOT, SAMPLES

README = ROOT / "README.md"
FILE_EXTS = (".csv", ".txt", ".npy", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".json")
OUTPUT_OPTIONS = {"-o", "--output", "-O", "--out-dir", "--trace-out", "--save-stats"}
NAMES_NOT_FILES = {"sample", "shape", "kernels", "tour"}     # their arguments are names, sizes, topics
REDIRECTS = {">", ">>", "2>", "<", "|"}
NUMBERS_COMMENT = re.compile(r"^-?\d[\d.]*( -?\d[\d.]*)*( / -?\d[\d.]*( -?\d[\d.]*)*)*$")


@dataclass
class Example:
    line: int                      # where it is in README.md
    command: str                   # shell text, starting with "convcli "
    shown: list[str] = field(default_factory=list)     # console blocks: the output printed under it
    comment: str = ""

    @property
    def id(self) -> str:
        return f"README:{self.line}:{self.command[:60]}"


def _blocks(text: str):
    """(language, first line number, lines) of every fenced block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if m:
            lang, start, body = m.group(1), i + 2, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            yield lang, start, body
        i += 1


def _convcli_part(shell: str) -> str | None:
    """The convcli command of a line: the line itself, or its last ``&&`` part (the Quick start)."""
    for part in reversed(shell.split("&&")):
        part = part.strip()
        if part.startswith(".venv/bin/convcli "):
            part = part[len(".venv/bin/"):]
        if part.startswith("convcli ") or part == "convcli":
            return part
    return None


def _split_comment(command: str) -> tuple[str, str]:
    """Shell text and its trailing ``# comment`` (a # inside quotes is not one)."""
    quote = None
    for i, ch in enumerate(command):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or command[i - 1].isspace()):
            return command[:i].rstrip(), command[i + 1:].strip()
    return command.strip(), ""


def examples() -> list[Example]:
    found = []
    for lang, start, body in _blocks(README.read_text(encoding="utf-8")):
        if lang == "bash":
            for offset, raw in enumerate(body):
                command = _convcli_part(raw.strip())
                if command:
                    shell, comment = _split_comment(command)
                    found.append(Example(start + offset, shell, comment=comment))
        elif lang == "console":
            current = None
            for offset, raw in enumerate(body):
                if raw.startswith("$ "):
                    command = _convcli_part(raw[2:].strip())
                    current = None
                    if command:
                        shell, comment = _split_comment(command)
                        current = Example(start + offset, shell, comment=comment)
                        found.append(current)
                elif current is not None:
                    current.shown.append(raw)
    for ex in found:
        while ex.shown and not ex.shown[-1].strip():
            ex.shown.pop()
    return found


def _commands_by_name():
    from convcli.cli import app
    return typer.main.get_command(app).commands


def _file_references(example: Example) -> tuple[list[str], list[str]]:
    """(files it reads, files it writes), from its words and its subcommand's own options."""
    words = shlex.split(example.command)
    commands = _commands_by_name()
    cmd = commands.get(words[1]) if len(words) > 1 else None
    takes_value = set()
    if cmd is not None:
        for p in cmd.params:
            if p.param_type_name == "option" and not p.is_flag and not getattr(p, "count", False):
                takes_value.update(p.opts)
    reads, writes = [], []
    i = 2
    while i < len(words):
        word = words[i]
        if word in REDIRECTS:
            (writes if word.startswith(">") else reads).append(words[i + 1])
            i += 2
            continue
        if word in takes_value and i + 1 < len(words):
            value = words[i + 1]
            if word in OUTPUT_OPTIONS:
                writes.append(value)
            elif _looks_like_file(value):
                reads.append(value)
            i += 2
            continue
        if not word.startswith("-") and _looks_like_file(word) and words[1] not in NAMES_NOT_FILES:
            reads.append(word)
        i += 1
    return reads, writes


def _looks_like_file(word: str) -> bool:
    if " " in word or word == "-":
        return False                   # a chain stage, stdin
    return "/" in word or "*" in word or word.lower().endswith(FILE_EXTS)


def runnable() -> list[Example]:
    keep = []
    for ex in examples():
        reads, _ = _file_references(ex)
        if all(r.startswith("sample_images/") for r in reads):
            keep.append(ex)
    return keep


RUNNABLE = runnable()


def test_the_examples_are_found():
    """The extraction sees the README's examples (so the test below cannot pass by finding none)."""
    commands = [ex.command for ex in RUNNABLE]
    assert len(commands) >= 30, commands
    for expected in ("convcli convolve sample_images/rgb.jpg -k sobel-x --padding same -o edges.png",
                     "convcli convolve sample_images/slide_5x5.csv -k vertical-edge",
                     "convcli pool sample_images/slide_pool_4x4.csv --mode max",
                     "convcli tour --list", "convcli sample"):
        assert expected in commands, expected
    skipped = [ex.command for ex in examples() if ex not in RUNNABLE]
    assert any("photo.jpg" in c for c in skipped) and not any("photo.jpg" in c for c in commands)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> tuple[Path, dict]:
    """A directory with sample_images/, and a PATH whose `convcli` is the installed console script."""
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(SAMPLES, work / "sample_images")
    bindir = work / ".bin"
    bindir.mkdir()
    script = Path(sys.executable).parent / "convcli"
    if script.exists():
        os.symlink(script, bindir / "convcli")
    else:                                   # not installed with its scripts: the same entry point
        (bindir / "convcli").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m convcli "$@"\n')
        (bindir / "convcli").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVCLI_")}
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", NO_COLOR="1")
    return work, env


def _normal(line: str) -> str:
    return " ".join(line.split())


def _line_matches(shown: str, actual: str) -> bool:
    """Equal, or the shown line ends in `...` and the actual line starts with what comes before it."""
    if shown.endswith("...") and shown != "...":
        return actual.startswith(shown[:-3].rstrip())
    return shown == actual


def _check_shown(ex: Example, out: str) -> None:
    """The shown lines are the output, blank lines and whitespace aside: a line `...` stands for any
    number of lines (also at the start or the end); everything else must match line for line."""
    actual = [_normal(line) for line in out.splitlines() if line.strip()]
    shown = [_normal(line) for line in ex.shown if line.strip()]
    segments: list[list[str]] = [[]]
    for line in shown:
        if line == "...":
            segments.append([])
        else:
            segments[-1].append(line)
    pos = 0
    for index, segment in enumerate(segments):
        if not segment:
            continue
        starts = [pos] if index == 0 else range(pos, len(actual) - len(segment) + 1)
        for start in starts:
            if start + len(segment) <= len(actual) and all(
                    _line_matches(want, actual[start + j]) for j, want in enumerate(segment)):
                pos = start + len(segment)
                break
        else:
            pytest.fail(f"{ex.id}: README shows\n" + "\n".join(segment) + "\nwhich is not in the output:\n" + out)
    if segments[-1]:
        assert pos == len(actual), f"{ex.id}: the output goes on after what README shows:\n{out}"


def _check_numbers_comment(ex: Example, out: str) -> None:
    rows = [_normal(group) for group in ex.comment.split("/")]
    lines = [_normal(line) for line in out.splitlines()]
    for row in rows:
        assert any(line == row or line.endswith(" " + row) for line in lines), \
            f"{ex.id}: the comment says {row!r}; output:\n{out}"


@pytest.mark.parametrize("ex", RUNNABLE, ids=[ex.id for ex in RUNNABLE])
def test_readme_example_runs_as_printed(ex, workdir):
    work, env = workdir
    proc = subprocess.run(["bash", "-c", ex.command], cwd=work, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=600)
    errors = [line for line in ex.shown if line.startswith("convcli: error:")]
    if errors:
        assert proc.returncode not in (0, 1), (ex.id, proc.stderr)
        assert proc.stderr.splitlines() == errors, ex.id
        return
    assert proc.returncode == 0, f"{ex.id}: exit {proc.returncode}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    if ex.shown:
        _check_shown(ex, proc.stdout)
    if ex.comment and NUMBERS_COMMENT.match(ex.comment):
        _check_numbers_comment(ex, proc.stdout)
    _, writes = _file_references(ex)
    for target in writes:
        path = work / target
        assert path.exists() and (path.is_dir() or path.stat().st_size > 0), f"{ex.id}: {target} not written"
