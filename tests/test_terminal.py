"""Terminal conventions, through the installed console script: COLUMNS, --color / NO_COLOR /
FORCE_COLOR, no trailing spaces on any line, --debug after the subcommand, shell completion."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from convcli.render.console import TrimmedStream, make_console, reset_terminal, set_terminal, strip_line, use_color

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images"
SLIDE = "50,50,0,0,0;50,50,0,0,0;50,50,0,0,0;50,50,0,0,0;50,50,0,0,0"
ESC = "\x1b["


def _script() -> str:
    here = Path(sys.executable).parent / "convcli"
    return str(here) if here.exists() else (shutil.which("convcli") or "convcli")


def run(*args, env: dict | None = None, drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """convcli ARGS with stdout and stderr piped (never a terminal), in a clean colour environment."""
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS") + drop}
    base.update(env or {})
    return subprocess.run([_script(), *map(str, args)], capture_output=True, text=True, env=base, cwd=ROOT,
                          timeout=300)


# every command that prints, each in a way that prints tables, traces or pictures
COMMANDS = [
    ("convolve", "--matrix", SLIDE, "-k", "vertical-edge", "--trace"),
    ("convolve", "--matrix", SLIDE, "-k", "sobel-x", "--padding", "same", "--show"),
    ("convolve", "--matrix", SLIDE, "-k", "vertical-edge", "--trace-format", "text"),
    ("pool", str(SAMPLES / "slide_pool_4x4.csv"), "--size", "2", "--trace"),
    ("upsample", str(SAMPLES / "slide_upsample_2x2.csv"), "--scale", "2", "--trace"),
    ("tconv", "--matrix", "1,2;3,4", "-k", "1,1;1,1", "--stride", "2", "--trace"),
    ("activate", "--matrix", "-2,-1;0,3", "--fn", "relu", "--trace"),
    ("bnorm-stats", str(SAMPLES / "slide_5x5.csv"), str(SAMPLES / "slide_pool_4x4.csv"), "--trace"),
    ("chain", "convolve -k box", "pool --size 2", "--matrix", SLIDE, "--summary"),
    ("shape", "28x28", "conv:k=5", "pool:k=2"),
    ("kernels",),
    ("convolve", "--help"),
]


def _lines(text: str) -> list[str]:
    return text.split("\n")


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a[:1] + a[-1:]) for a in COMMANDS])
def test_no_line_ends_in_a_space_plain_and_coloured(args):
    for extra in ((), ("--color", "always")):
        proc = run(*args, *extra)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip(), f"{args} printed nothing"
        for stream in (proc.stdout, proc.stderr):
            bad = [ln for ln in _lines(stream) if ln.endswith((" ", "\t"))]
            assert not bad, f"{args} {extra}: {len(bad)} line(s) end in a space, e.g. {bad[0]!r}"
        if "--help" in args or "--trace-format" in args:
            continue                  # Typer's help has its own console; a text export is plain
        if extra:
            assert ESC in proc.stdout, f"{args}: --color always printed no colour"
        else:
            assert ESC not in proc.stdout


def test_columns_is_honoured_when_piped():
    args = ("convolve", "--matrix", SLIDE, "-k", "vertical-edge", "--trace")
    narrow = run(*args, env={"COLUMNS": "60"})
    assert narrow.returncode == 0, narrow.stderr
    assert max(len(ln) for ln in _lines(narrow.stdout)) <= 60
    wide = run("kernels", env={"COLUMNS": "150"})
    widths = [len(ln) for ln in _lines(wide.stdout)]
    assert max(widths) == 150          # the kernels table fills the width it is given
    assert max(len(ln) for ln in _lines(run("kernels", env={"COLUMNS": "90"}).stdout)) == 90
    default = run("kernels", env={"COLUMNS": "not-a-number"})   # ignored: piped default of 200
    assert 150 < max(len(ln) for ln in _lines(default.stdout)) <= 200


def test_color_flag_and_environment_precedence():
    args = ("convolve", "--matrix", SLIDE, "-k", "vertical-edge", "--trace")
    cases = [
        ({}, (), False),                                             # piped: no colour
        ({"FORCE_COLOR": "1"}, (), True),                            # FORCE_COLOR forces it
        ({"NO_COLOR": "1"}, (), False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, (), False),          # NO_COLOR beats FORCE_COLOR
        ({"NO_COLOR": "1"}, ("--color", "always"), True),            # the flag beats both
        ({"FORCE_COLOR": "1"}, ("--color", "never"), False),
        ({}, ("--color", "always"), True),
        ({}, ("--color", "auto"), False),
    ]
    for env, flag, coloured in cases:
        for before in (False, True):        # the flag after the subcommand and before it
            argv = (*flag, *args) if before else (*args, *flag)
            proc = run(*argv, env=env)
            assert proc.returncode == 0, proc.stderr
            assert (ESC in proc.stdout) is coloured, (env, argv)
            if not flag:
                break
    # the last --color given wins
    assert ESC not in run("--color", "always", *args, "--color", "never").stdout
    proc = run("kernels", "--color", "sometimes")
    assert proc.returncode == 2 and proc.stderr.startswith("convcli: error: ") and "--color" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_show_is_coloured_with_force_color_for_less_r():
    proc = run("convolve", str(SAMPLES / "gray.png"), "-k", "sobel-x", "--show", env={"FORCE_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "▄" in proc.stdout and "\x1b[" in proc.stdout
    plain = run("convolve", str(SAMPLES / "gray.png"), "-k", "sobel-x", "--show", "--color", "never")
    assert "▄" not in plain.stdout and ESC not in plain.stdout and plain.stdout.strip()


def test_debug_after_the_subcommand_shows_the_traceback():
    for argv in (("--debug", "convolve", "--matrix", "1,2;x", "-k", "box"),
                 ("convolve", "--matrix", "1,2;x", "-k", "box", "--debug")):
        proc = run(*argv)
        assert proc.returncode == 3
        assert "Traceback (most recent call last)" in proc.stderr
        assert proc.stderr.rstrip().split("\n")[-1].startswith("convcli: error: --matrix")
    quiet = run("convolve", "--matrix", "1,2;x", "-k", "box")
    assert quiet.stderr.count("\n") == 1 and "Traceback" not in quiet.stderr


def test_shell_completion_is_available():
    proc = run(env={"_CONVCLI_COMPLETE": "complete_bash", "COMP_WORDS": "convcli convolve --col",
                    "COMP_CWORD": "2"})
    assert proc.returncode == 0
    assert set(proc.stdout.split()) == {"--color", "--colormap"}
    proc = run(env={"_CONVCLI_COMPLETE": "complete_bash", "COMP_WORDS": "convcli bno", "COMP_CWORD": "1"})
    assert proc.stdout.split() == ["bnorm-stats"]
    script = run("--show-completion", "bash")
    assert script.returncode == 0 and "_CONVCLI_COMPLETE" in script.stdout
    assert "--install-completion" in run("--help").stdout


# ------------------------------------------------------------------ the pieces, in-process

def test_strip_line_keeps_painted_spaces_and_escape_codes():
    assert strip_line("abc   ") == "abc"
    assert strip_line("   ") == ""
    assert strip_line("a \x1b[0m  ") == "a\x1b[0m"
    assert strip_line("\x1b[1mx  \x1b[0m ") == "\x1b[1mx\x1b[0m"                    # bold spaces: invisible
    assert strip_line("\x1b[38;2;1;2;3mab  \x1b[0m") == "\x1b[38;2;1;2;3mab\x1b[0m"  # foreground only
    assert strip_line("\x1b[44m  \x1b[0m  ") == "\x1b[44m  \x1b[0m"                # a blue background shows
    assert strip_line("\x1b[48;5;21mab \x1b[0m") == "\x1b[48;5;21mab \x1b[0m"
    assert strip_line("\x1b[7m x \x1b[0m ") == "\x1b[7m x \x1b[0m"                  # reverse video shows
    assert strip_line("\x1b[4mx \x1b[24m ") == "\x1b[4mx \x1b[24m"                  # underlined space shows


def test_trimmed_stream_holds_an_unfinished_line():
    buf = io.StringIO()
    s = TrimmedStream(buf)
    s.write("a  b   ")
    s.flush()
    assert buf.getvalue() == "a  b"                 # the prompt shows, its trailing spaces wait
    s.write("\nnext  \nrest ")
    assert buf.getvalue() == "a  b\nnext\n"
    s.write(" x\n")
    assert buf.getvalue() == "a  b\nnext\nrest  x\n"


def test_use_color_precedence(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    pipe, tty = io.StringIO(), Tty()
    assert use_color(pipe, mode="auto", environ={}) is False
    assert use_color(tty, mode="auto", environ={}) is True
    assert use_color(tty, mode="auto", environ={"NO_COLOR": "1"}) is False
    assert use_color(tty, mode="auto", environ={"NO_COLOR": ""}) is True      # empty means unset
    assert use_color(pipe, mode="auto", environ={"FORCE_COLOR": "1"}) is True
    assert use_color(pipe, mode="auto", environ={"FORCE_COLOR": "1", "NO_COLOR": "1"}) is False
    assert use_color(pipe, mode="always", environ={"NO_COLOR": "1"}) is True
    assert use_color(tty, mode="never", environ={"FORCE_COLOR": "1"}) is False
    token = set_terminal(color="always")
    monkeypatch.setenv("COLUMNS", "47")
    console = make_console()
    reset_terminal(token)
    assert console.width == 47 and console.color_system is not None and not console.no_color


@pytest.mark.parametrize("ext", ["txt", "md"])
def test_trace_files_have_no_trailing_spaces(tmp_path, ext):
    out = tmp_path / f"trace.{ext}"
    proc = subprocess.run([str(Path(sys.executable).with_name("convcli")), "convolve",
                           str(Path(__file__).resolve().parents[1] / "sample_images" / "slide_5x5.csv"),
                           "-k", "vertical-edge", "--trace-out", str(out)], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "150" in text and not [ln for ln in text.splitlines() if ln.endswith(" ")]
