"""``convcli tour``: the lecture's topics in order, each step a real convcli command on the slides'
numbers or the sample images, with a one-line lesson and the command shown so it can be rerun."""
from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

from ..errors import InputError, ParameterError
from ..render import make_console
from ..render.tour import print_lesson, print_topic
from . import app

ONES3 = "1,1,1;1,1,1;1,1,1"


@dataclass(frozen=True)
class Lesson:
    text: str
    args: tuple[str, ...]          # {S} = the sample_images directory


@dataclass(frozen=True)
class Topic:
    key: str
    title: str
    lessons: tuple[Lesson, ...]


TOPICS: tuple[Topic, ...] = (
    Topic("activations", "Activations: non-linear, differentiable", (
        Lesson("ReLU keeps positive values and zeroes the rest; where it is 0 its gradient is 0 too (a dead unit).",
               ("activate", "--matrix", "-2,-0.5,0,0.5,2", "--fn", "relu", "--trace")),
        Lesson("Leaky ReLU lets a small slope α through for negatives, so no unit dies.",
               ("activate", "--matrix", "-2,-0.5,0,0.5,2", "--fn", "leaky-relu", "--trace")),
        Lesson("Sigmoid squashes into 0..1; far from 0 its gradient vanishes (saturation).",
               ("activate", "--matrix", "-6,-2,0,2,6", "--fn", "sigmoid", "--trace")),
        Lesson("Tanh is a zero-centred sigmoid (−1..1) with the same saturation at both ends.",
               ("activate", "--fn", "tanh", "--plot")),
    )),
    Topic("batchnorm", "Batch normalization", (
        Lesson("Batch norm subtracts the batch mean and divides by √(variance + ε), per channel; "
               "then scales by γ and shifts by β.",
               ("bnorm-stats", "{S}/slide_pool_4x4.csv", "--trace")),
    )),
    Topic("convolution", "Convolution", (
        Lesson("A kernel slides over the input; each output is the sum of the element-wise products.",
               ("convolve", "{S}/slide_5x5.csv", "-k", "vertical-edge", "--trace", "--max-steps", "2")),
        Lesson("The vertical-edge kernel answers where bright meets dark: 150 at the edge, 0 in flat areas.",
               ("convolve", "{S}/slide_5x5.csv", "-k", "vertical-edge", "--show")),
        Lesson("On a photo, Sobel-x lights up vertical edges: one sign for dark→bright, the other for bright→dark.",
               ("convolve", "{S}/gray.png", "-k", "sobel-x", "--padding", "same", "--show")),
    )),
    Topic("padding", "Padding and stride", (
        Lesson("Stride 2 moves the window two pixels at a time: the 5×5 input gives a 2×2 output.",
               ("convolve", "{S}/slide_5x5.csv", "-k", "vertical-edge", "--stride", "2", "--trace",
                "--max-steps", "2")),
        Lesson("Padding frames the input with zeros: the output stays 5×5 and the corners are visited as often "
               "as the centre.",
               ("convolve", "{S}/slide_5x5.csv", "-k", "vertical-edge", "--padding", "1", "--trace",
                "--max-steps", "1")),
        Lesson("One formula gives every size: ⌊(n + 2p − k) / s⌋ + 1.",
               ("shape", "5x5", "conv:k=3", "conv:k=3,p=1", "conv:k=3,s=2")),
    )),
    Topic("pooling", "Pooling and upsampling", (
        Lesson("Max pooling keeps the largest value of each window: the 4×4 input becomes 2×2.",
               ("pool", "{S}/slide_pool_4x4.csv", "--mode", "max", "--trace", "--max-steps", "2")),
        Lesson("Average pooling takes the mean of each window instead.",
               ("pool", "{S}/slide_pool_4x4.csv", "--mode", "avg")),
        Lesson("Min pooling: the smallest value of each window.",
               ("pool", "{S}/slide_pool_4x4.csv", "--mode", "min")),
        Lesson("Pooling a photo shrinks it, keeping its strongest responses.",
               ("pool", "{S}/gray.png", "--size", "4", "--show")),
        Lesson("Nearest-neighbour upsampling copies each value into a 2×2 block.",
               ("upsample", "{S}/slide_upsample_2x2.csv", "--scale", "2", "--trace", "--max-steps", "2")),
        Lesson("Bilinear upsampling interpolates between neighbours instead of copying.",
               ("upsample", "{S}/slide_upsample_2x2.csv", "--scale", "2", "--mode", "bilinear")),
    )),
    Topic("tconv", "Transposed convolution", (
        Lesson("Each input value stamps the kernel, scaled by it, into the output; where stamps overlap they add.",
               ("tconv", "--matrix", "1,2;3,4", "-k", ONES3, "--stride", "2", "--trace", "--max-steps", "2")),
        Lesson("Kernel 3 with stride 2 overlaps unevenly — 1, 2, 1, 2 … taps per pixel — the source of "
               "checkerboard artifacts.",
               ("tconv", "{S}/slide_5x5.csv", "-k", ONES3, "--stride", "2", "--overlap")),
        Lesson("The remedy: resize first (nearest), then an ordinary convolution — the same output size, "
               "without the uneven overlap.",
               ("tconv", "{S}/slide_upsample_2x2.csv", "-k", ONES3, "--stride", "2", "--remedy")),
        Lesson("The output size of a transposed convolution: (n − 1)·s − 2p + d·(k − 1) + output_padding + 1.",
               ("shape", "2x2", "tconv:k=3,s=2", "tconv:k=3,s=2,p=1,op=1")),
    )),
)
ALIASES = {"activation": "activations", "bn": "batchnorm", "batch-normalization": "batchnorm", "bnorm": "batchnorm",
           "conv": "convolution", "stride": "padding", "padding-and-stride": "padding", "pool": "pooling",
           "upsampling": "pooling", "transposed": "tconv", "transposed-convolution": "tconv"}


def samples_dir() -> Path:
    """The sample_images/ folder: in the working directory, else beside the package (a source checkout)."""
    for candidate in (Path.cwd() / "sample_images", Path(__file__).resolve().parents[2] / "sample_images"):
        if (candidate / "slide_5x5.csv").is_file():
            return candidate
    raise InputError("the tour needs the sample_images/ folder of the convcli source: run it from a checkout")


def _shown(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def find_topic(name: str) -> list[Topic]:
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    hits = [t for t in TOPICS if t.key == key] or [t for t in TOPICS if t.key.startswith(key)]
    if len(hits) != 1:
        raise ParameterError(f"TOPIC must be one of {', '.join(t.key for t in TOPICS)}, got {name!r}")
    return hits


def command_line(lesson: Lesson, samples: Path) -> list[str]:
    return [a.replace("{S}", _shown(samples)) for a in lesson.args]


def run_tour(topics: list[Topic], *, pause: bool, read_line: Callable[[], str] = sys.stdin.readline,
             console=None) -> int:
    """Run every lesson of ``topics``; returns the number of commands that failed."""
    from . import run

    console = console or make_console()
    samples = samples_dir()
    failed = 0
    total = sum(len(t.lessons) for t in topics)
    done = 0
    for t_index, topic in enumerate(topics):
        print_topic(console, topic.title, TOPICS.index(topic) + 1, len(TOPICS))
        for lesson in topic.lessons:
            argv = command_line(lesson, samples)
            print_lesson(console, lesson.text, "convcli " + shlex.join(argv))
            sys.stdout.flush()
            code = run(argv)
            sys.stdout.flush()
            if code != 0:
                failed += 1
            done += 1
            if pause and done < total:
                console.print("[dim]Enter: next step · q: quit[/dim]", end="")
                answer = read_line()
                console.print()
                if answer == "" or answer.strip().lower() in ("q", "quit"):
                    return failed
    console.print()
    console.print("[bold]End of the tour.[/bold] Every command above runs on its own; add --help to any of them.")
    return failed


@app.command(epilog="Examples:  convcli tour  ·  convcli tour pooling  ·  convcli tour --no-pause > tour.txt")
def tour(
    topic: Annotated[Optional[str], typer.Argument(
        metavar="[TOPIC]", show_default=False,
        help="Start with one topic only: activations, batchnorm, convolution, padding (and stride), pooling "
             "(and upsampling), tconv (transposed convolution).")] = None,
    no_pause: Annotated[bool, typer.Option(
        "--no-pause", help="Run every step without waiting (the default when not on a terminal).")] = False,
    list_topics: Annotated[bool, typer.Option("--list", help="List the topics and their steps, then exit.")] = False,
) -> None:
    """A guided tour of the lecture: activations, batch normalization, convolution, padding and
    stride, pooling and upsampling, transposed convolution — each step runs a real command on the
    slides' numbers or the sample images, with a one-line lesson and the command to rerun it.

    On a terminal it waits for Enter between steps (q quits).
    """
    topics = find_topic(topic) if topic is not None else list(TOPICS)
    if list_topics:
        for t in topics:
            typer.echo(f"{t.key}: {t.title}")
            for lesson in t.lessons:
                typer.echo(f"  - {lesson.text}")
        return
    pause = not no_pause and sys.stdin.isatty() and sys.stdout.isatty()
    failed = run_tour(topics, pause=pause)
    if failed:
        raise typer.Exit(4)
