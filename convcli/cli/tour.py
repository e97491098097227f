"""``convcli tour``: the lecture's topics in order, each step a real convcli command on the slides'
numbers or the sample images, with a one-line lesson and the command shown so it can be rerun."""
from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Callable, Optional

import numpy as np
import typer

from ..errors import ParameterError
from ..render import make_console
from ..render.tour import print_lesson, print_topic
from ..traces.model import fmt, fmt_factor
from .application import app
from .main import run
from .options import ColorOpt, DebugOpt

ONES3 = "1,1,1;1,1,1;1,1,1"
RELU_X = "-2,-0.5,0,0.5,2"
SIGMOID_X = "-6,-2,0,2,6"
TCONV_X = "1,2;3,4"
STRIDE = 2              # the stride of the stride and transposed-convolution lessons
PHOTO_POOL = 4          # the window of the photo pooling lesson
PADDING = 1             # the padding lesson's
SCALE = 2               # the upsampling lessons'
SHAPE_LAYERS = ("conv:k=3", "conv:k=3,p=1", "conv:k=3,s=2")
TCONV_LAYERS = ("tconv:k=3,s=2", "tconv:k=3,s=2,p=1,op=1")

Facts = Callable[[Path], dict]


@dataclass(frozen=True)
class Lesson:
    """One step: a lesson and the command that shows it.

    ``text`` is a ``str.format`` template; every number in it comes from ``facts(samples)``, which
    computes it with convcli's own ops on the very input the command reads (nothing typed by hand).
    """
    text: str
    args: tuple[str, ...]          # {S} = the sample_images directory
    facts: Optional[Facts] = None

    def render(self, samples: Path) -> str:
        return self.text.format(**self.facts(samples)) if self.facts is not None else self.text


@dataclass(frozen=True)
class Topic:
    key: str
    title: str
    lessons: tuple[Lesson, ...]


# ------------------------------------------------------------------ the numbers the lessons state

def _load(samples: Path, name: str) -> np.ndarray:
    from ..imageio import load_input
    return load_input(str(samples / name)).data


def _inline(text: str) -> np.ndarray:
    from ..kernels import parse_matrix_text
    return parse_matrix_text(text)


def _size(shape) -> str:
    return "×".join(str(int(n)) for n in shape[:2])


def _rows(values: np.ndarray) -> str:
    """``4 2 / 6 8``: a small matrix written row by row."""
    return " / ".join(" ".join(fmt(v) for v in row) for row in np.asarray(values))


def _relu_facts(_samples: Path) -> dict:
    from ..ops.activations import classify, evaluate
    x = _inline(RELU_X)
    y, d = evaluate(x, "relu")
    dead, _ = classify(y, d)
    return {"dead": int(dead.sum()), "n": x.size}


def _leaky_facts(_samples: Path) -> dict:
    from ..ops.activations import DEFAULT_ALPHA, classify, evaluate
    x = _inline(RELU_X)
    y, d = evaluate(x, "leaky-relu")
    dead, _ = classify(y, d)
    return {"alpha": fmt(DEFAULT_ALPHA["leaky-relu"]), "x": fmt(x.min()), "grad": fmt(d.ravel()[np.argmin(x)]),
            "dead": int(dead.sum()), "n": x.size}


def _sigmoid_facts(_samples: Path) -> dict:
    from ..ops.activations import evaluate
    x = _inline(SIGMOID_X).ravel()
    _, d = evaluate(x, "sigmoid")
    far, near = int(np.argmax(x)), int(np.argmin(np.abs(x)))
    return {"x_far": fmt(x[far]), "d_far": fmt(d[far], 2), "x_near": fmt(x[near]), "d_near": fmt(d[near], 2)}


def _bnorm_facts(samples: Path) -> dict:
    from ..ops.batchnorm import batch_norm
    data = _load(samples, "slide_pool_4x4.csv")
    _, stats = batch_norm([data])
    return {"n": data.size, "mean": fmt(stats.mean[0]), "var": fmt(stats.var[0])}


def _conv_first_facts(samples: Path) -> dict:
    from ..kernels import parse_kernel
    from ..ops.conv import convolve
    data, k = _load(samples, "slide_5x5.csv"), parse_kernel("vertical-edge")
    window = data[:k.shape[0], :k.shape[1]]
    terms = " + ".join(f"{fmt_factor(a)}×{fmt_factor(b)}" for a, b in zip(window[0], k[0]))
    return {"row": terms, "value": fmt(convolve(data, k)[0, 0]), "rows": k.shape[0]}


def _conv_edge_facts(samples: Path) -> dict:
    from ..kernels import parse_kernel
    from ..ops.conv import convolve
    data, k = _load(samples, "slide_5x5.csv"), parse_kernel("vertical-edge")
    result = convolve(data, k)
    kh, kw = k.shape
    flat = [result[i, j] for i in range(result.shape[0]) for j in range(result.shape[1])
            if np.ptp(data[i:i + kh, j:j + kw]) == 0]          # windows on one value: no edge under them
    edge = [result[i, j] for i in range(result.shape[0]) for j in range(result.shape[1])
            if np.ptp(data[i:i + kh, j:j + kw]) != 0]
    return {"edge": fmt(max(edge, key=abs)), "flat": " and ".join(sorted({fmt(v) for v in flat}))}


def _stride_facts(samples: Path) -> dict:
    from ..kernels import parse_kernel
    from ..ops.conv import convolve
    data = _load(samples, "slide_5x5.csv")
    return {"stride": STRIDE, "in": _size(data.shape),
            "out": _size(convolve(data, parse_kernel("vertical-edge"), stride=STRIDE).shape)}


def coverage(shape, k: int, *, stride: int = 1, padding: int = 0) -> np.ndarray:
    """How many windows of a k×k convolution cover each input cell.

    The transposed convolution is the convolution's adjoint: running it on a map of ones with a
    kernel of ones adds 1 into every input cell a window covers (``output_padding`` gives back the
    rows and columns the convolution's floor left out).
    """
    from ..ops.tconv import tconv
    from ..shapes import conv_out
    h, w = int(shape[0]), int(shape[1])
    oh, ow = conv_out(h, k, stride, padding), conv_out(w, k, stride, padding)
    extra = ((h + 2 * padding - k) % stride, (w + 2 * padding - k) % stride)
    counts = tconv(np.ones((oh, ow), np.float32), np.ones((k, k), np.float32), stride=stride, padding=padding,
                   output_padding=extra if stride > 1 else 0)
    return np.rint(counts).astype(np.int64)


def _padding_facts(samples: Path) -> dict:
    from ..kernels import parse_kernel
    from ..ops.conv import convolve
    data = _load(samples, "slide_5x5.csv")
    k = parse_kernel("vertical-edge").shape[0]
    padded, bare = coverage(data.shape, k, padding=PADDING), coverage(data.shape, k, padding=0)
    cy, cx = data.shape[0] // 2, data.shape[1] // 2
    out = convolve(data, parse_kernel("vertical-edge"), padding=PADDING)
    return {"in": _size(data.shape), "out": _size(out.shape),
            "corner": padded[0, 0], "centre": padded[cy, cx], "corner0": bare[0, 0], "centre0": bare[cy, cx]}


def _walk_sizes(size: str, layers: tuple[str, ...]) -> list[str]:
    """The sizes `convcli shape SIZE LAYERS...` prints, from the same code (convcli.layers)."""
    from ..layers import parse_size, walk
    return [_size(row.shape[1:]) for row in walk(parse_size(size), list(layers))]   # the input first


def _shape_facts(_samples: Path) -> dict:
    return {"sizes": " → ".join(_walk_sizes("5x5", SHAPE_LAYERS))}


def _pool_facts(samples: Path) -> dict:
    from ..ops.pool import pool
    data = _load(samples, "slide_pool_4x4.csv")
    first = data[:2, :2].ravel()
    avg = pool(data, mode="avg")
    return {"in": _size(data.shape), "out": _size(pool(data, mode="max").shape),
            "max": _rows(pool(data, mode="max")), "min": _rows(pool(data, mode="min")),
            "avg_terms": " + ".join(fmt(v) for v in first), "avg_n": first.size, "avg": fmt(avg[0, 0]),
            "avg_rows": _rows(avg)}


def _photo_pool_facts(samples: Path) -> dict:
    from ..ops.pool import pool
    data = _load(samples, "gray.png")
    return {"size": PHOTO_POOL, "in": _size(data.shape), "out": _size(pool(data, size=PHOTO_POOL).shape)}


def _upsample_facts(samples: Path) -> dict:
    from ..ops.upsample import upsample
    data = _load(samples, "slide_upsample_2x2.csv")
    near = upsample(data, scale=SCALE)
    lin = upsample(data, scale=SCALE, mode="bilinear")
    block = f"{near.shape[0] // data.shape[0]}×{near.shape[1] // data.shape[1]}"
    return {"in": _size(data.shape), "out": _size(near.shape), "block": block, "cell": "0, 1",
            "a": fmt(data[0, 0]), "b": fmt(data[0, 1]), "value": fmt(lin[0, 1])}


def _stamp_facts(_samples: Path) -> dict:
    from ..ops.tconv import tconv
    x, k = _inline(TCONV_X), _inline(ONES3)
    out = tconv(x, k, stride=STRIDE)
    kh, kw = k.shape
    # the first output cell (reading order) that two stamps reach, and the inputs that stamp it
    for oy in range(out.shape[0]):
        for ox in range(out.shape[1]):
            parts = [x[i, j] * k[oy - STRIDE * i, ox - STRIDE * j] for i in range(x.shape[0])
                     for j in range(x.shape[1]) if 0 <= oy - STRIDE * i < kh and 0 <= ox - STRIDE * j < kw]
            if len(parts) > 1:
                return {"cell": f"{oy}, {ox}", "terms": " + ".join(fmt(v) for v in parts), "value": fmt(out[oy, ox])}
    raise AssertionError("no overlapping stamps")      # pragma: no cover - the example always overlaps


def _overlap_facts(samples: Path) -> dict:
    from ..ops.tconv import overlap_counts
    data, k = _load(samples, "slide_5x5.csv"), _inline(ONES3)
    rows = overlap_counts(data.shape[0], k.shape[0], STRIDE, 0, 0, 1)
    return {"k": k.shape[0], "s": STRIDE, "rows": ", ".join(str(int(v)) for v in rows)}


def _remedy_facts(samples: Path) -> dict:
    from ..ops.tconv import resize_convolve, tconv
    data, k = _load(samples, "slide_upsample_2x2.csv"), _inline(ONES3)
    return {"in": _size(data.shape), "out": _size(tconv(data, k, stride=STRIDE).shape),
            "same": _size(resize_convolve(data, k, stride=STRIDE).shape)}


def _tconv_shape_facts(_samples: Path) -> dict:
    from ..layers import parse_layer
    sizes = _walk_sizes("2x2", TCONV_LAYERS)
    last = parse_layer(TCONV_LAYERS[-1]).params
    return {"sizes": " → ".join(sizes), "a": sizes[-2], "b": sizes[-1], "p": last["p"], "op": last["op"]}


TOPICS: tuple[Topic, ...] = (
    Topic("activations", "Activations: non-linear, differentiable", (
        Lesson("ReLU keeps positive values and zeroes the rest; where it is 0 its gradient is 0 too: "
               "here {dead} of the {n} inputs are dead units.",
               ("activate", "--matrix", RELU_X, "--fn", "relu", "--trace"), _relu_facts),
        Lesson("Leaky ReLU lets a small slope α = {alpha} through for negatives (g'({x}) = {grad}), so no unit "
               "dies: {dead} of {n} here.",
               ("activate", "--matrix", RELU_X, "--fn", "leaky-relu", "--trace"), _leaky_facts),
        Lesson("Sigmoid squashes into 0..1; far from 0 its gradient vanishes (saturation): "
               "σ'({x_far}) = {d_far}, against σ'({x_near}) = {d_near}.",
               ("activate", "--matrix", SIGMOID_X, "--fn", "sigmoid", "--trace"), _sigmoid_facts),
        Lesson("Tanh is a zero-centred sigmoid (−1..1) with the same saturation at both ends.",
               ("activate", "--fn", "tanh", "--plot")),
    )),
    Topic("batchnorm", "Batch normalization", (
        Lesson("Batch norm subtracts the batch mean (μ = {mean} over these {n} values) and divides by "
               "√(variance + ε) (σ² = {var}), per channel; then scales by γ and shifts by β.",
               ("bnorm-stats", "{S}/slide_pool_4x4.csv", "--trace"), _bnorm_facts),
    )),
    Topic("convolution", "Convolution", (
        Lesson("A kernel slides over the input; each output is the sum of the element-wise products: "
               "{row} + … ({rows} rows) = {value}.",
               ("convolve", "{S}/slide_5x5.csv", "-k", "vertical-edge", "--trace", "--max-steps", "2"),
               _conv_first_facts),
        Lesson("The vertical-edge kernel answers where bright meets dark: {edge} at the edge, {flat} in flat areas.",
               ("convolve", "{S}/slide_5x5.csv", "-k", "vertical-edge", "--show"), _conv_edge_facts),
        Lesson("On a photo, Sobel-x lights up vertical edges: one sign for dark→bright, the other for bright→dark.",
               ("convolve", "{S}/gray.png", "-k", "sobel-x", "--padding", "same", "--show")),
    )),
    Topic("padding", "Padding and stride", (
        Lesson("Stride {stride} moves the window {stride} pixels at a time: the {in} input gives a {out} output.",
               ("convolve", "{S}/slide_5x5.csv", "-k", "vertical-edge", "--stride", str(STRIDE), "--trace",
                "--max-steps", "2"), _stride_facts),
        Lesson("Padding frames the input with zeros: the {in} input gives a {out} output. A corner cell is now in "
               "{corner} windows and the centre in {centre} (without padding: {corner0} and {centre0}), so the "
               "border still counts less.",
               ("convolve", "{S}/slide_5x5.csv", "-k", "vertical-edge", "--padding", str(PADDING), "--trace",
                "--max-steps", "1"), _padding_facts),
        Lesson("One formula gives every size, ⌊(n + 2p − k) / s⌋ + 1: here {sizes}.",
               ("shape", "5x5") + SHAPE_LAYERS, _shape_facts),
    )),
    Topic("pooling", "Pooling and upsampling", (
        Lesson("Max pooling keeps the largest value of each window: the {in} input becomes {out}, {max}.",
               ("pool", "{S}/slide_pool_4x4.csv", "--mode", "max", "--trace", "--max-steps", "2"), _pool_facts),
        Lesson("Average pooling takes the mean of each window instead: ({avg_terms}) / {avg_n} = {avg}, "
               "and in all {avg_rows}.",
               ("pool", "{S}/slide_pool_4x4.csv", "--mode", "avg"), _pool_facts),
        Lesson("Min pooling: the smallest value of each window, {min}.",
               ("pool", "{S}/slide_pool_4x4.csv", "--mode", "min"), _pool_facts),
        Lesson("Pooling a photo with {size}×{size} windows shrinks it ({in} → {out}), keeping its strongest responses.",
               ("pool", "{S}/gray.png", "--size", str(PHOTO_POOL), "--show"), _photo_pool_facts),
        Lesson("Nearest-neighbour upsampling copies each value into a {block} block: {in} → {out}.",
               ("upsample", "{S}/slide_upsample_2x2.csv", "--scale", str(SCALE), "--trace", "--max-steps", "2"),
               _upsample_facts),
        Lesson("Bilinear upsampling interpolates between neighbours instead of copying: output[{cell}] = {value}, "
               "between {a} and {b}.",
               ("upsample", "{S}/slide_upsample_2x2.csv", "--scale", str(SCALE), "--mode", "bilinear"), _upsample_facts),
    )),
    Topic("tconv", "Transposed convolution", (
        Lesson("Each input value stamps the kernel, scaled by it, into the output; where stamps overlap they add: "
               "output[{cell}] = {terms} = {value}.",
               ("tconv", "--matrix", TCONV_X, "-k", ONES3, "--stride", str(STRIDE), "--trace", "--max-steps", "2"),
               _stamp_facts),
        Lesson("Kernel {k} with stride {s} overlaps unevenly — {rows} taps per output row — the source of "
               "checkerboard artifacts.",
               ("tconv", "{S}/slide_5x5.csv", "-k", ONES3, "--stride", str(STRIDE), "--overlap"), _overlap_facts),
        Lesson("The remedy: resize first (nearest), then an ordinary convolution: a {same} output, the transposed "
               "convolution's size ({out}), without the uneven overlap.",
               ("tconv", "{S}/slide_upsample_2x2.csv", "-k", ONES3, "--stride", str(STRIDE), "--remedy"), _remedy_facts),
        Lesson("The output size of a transposed convolution: (n − 1)·s − 2p + d·(k − 1) + output_padding + 1; "
               "here {sizes}; with p = {p} and output_padding = {op} the last layer exactly doubles the size "
               "({a} → {b}).",
               ("shape", "2x2") + TCONV_LAYERS, _tconv_shape_facts),
    )),
)
ALIASES = {"activation": "activations", "bn": "batchnorm", "batch-normalization": "batchnorm", "bnorm": "batchnorm",
           "conv": "convolution", "stride": "padding", "padding-and-stride": "padding", "pool": "pooling",
           "upsampling": "pooling", "transposed": "tconv", "transposed-convolution": "tconv"}


def samples_dir() -> Path:
    """The sample files shipped in the package (in a checkout: the top-level sample_images/)."""
    from ..samples import samples_dir as bundled
    return bundled()


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
    """Run every lesson of ``topics``; returns the number of commands that failed. Each lesson is a
    run inside this run: it starts from this run's settings (--color) and hands them back."""
    console = console or make_console()
    samples = samples_dir()
    failed = 0
    total = sum(len(t.lessons) for t in topics)
    done = 0
    for t_index, topic in enumerate(topics):
        print_topic(console, topic.title, TOPICS.index(topic) + 1, len(TOPICS))
        for lesson in topic.lessons:
            argv = command_line(lesson, samples)
            print_lesson(console, lesson.render(samples), "convcli " + shlex.join(argv))
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
    debug: DebugOpt = False,
    color: ColorOpt = None,
) -> None:
    """A guided tour of the lecture: activations, batch normalization, convolution, padding and
    stride, pooling and upsampling, transposed convolution — each step runs a real command on the
    slides' numbers or the sample images, with a one-line lesson and the command to rerun it.

    On a terminal it waits for Enter between steps (q quits).
    """
    topics = find_topic(topic) if topic is not None else list(TOPICS)
    if list_topics:
        samples = samples_dir()
        for t in topics:
            typer.echo(f"{t.key}: {t.title}")
            for lesson in t.lessons:
                typer.echo(f"  - {lesson.render(samples)}")
        return
    pause = not no_pause and sys.stdin.isatty() and sys.stdout.isatty()
    failed = run_tour(topics, pause=pause)
    if failed:
        raise typer.Exit(4)
