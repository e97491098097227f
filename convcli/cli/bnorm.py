"""``convcli bnorm-stats``: batch normalization over a set of images or arrays, as BatchNorm2d does it."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Annotated, Optional

import numpy as np
import typer

from .. import batch, imageio, safeio
from ..numbers import parse_float
from ..batch import output_name
from ..errors import InputError, OutputError, ParameterError
from ..ops.batchnorm import batch_norm, check_params
from ..render import make_console
from ..render.batchnorm import print_batchnorm_trace, stats_table
from ..traces.batchnorm import DEFAULT_MAX_STEPS, batchnorm_trace
from .application import app
from .options import (IO_PANEL, PICTURE_PANEL, TRACE_PANEL, ColormapOpt, ColorOpt, DebugOpt, GrayOpt, MaxPixelsOpt,
                      MaxStepsOpt, ShowProtocolOpt, TraceFormatOpt, TraceOutOpt, floats, parser, strict_float,
                      strict_int)
from .runner import apply_limits, check_side_outputs
from .steps import tracing

STATS_PANEL = "Statistics"
ShowHistogramsOpt = Annotated[bool, typer.Option(
    "--show", rich_help_panel=PICTURE_PANEL,
    help="Draw, per channel, the histogram of the inputs beside that of the normalized values (the "
         "slides' before and after: centred at 0, σ 1), the mean μ and μ ± σ marked under the bins; then "
         "each input and its normalized result as pictures (a diverging map: normalized values are signed).")]
DISPLAY_SIGMAS = 3.0           # images written by --out-dir: −3..3 -> black..white, 0 -> mid-gray

EPILOG = (
    "Examples:  convcli bnorm-stats photos/ --json  ·  "
    "convcli bnorm-stats 'train/*.png' --batch-size 4 --save-stats bn.json  ·  "
    "convcli bnorm-stats test.png --eval --stats bn.json --out-dir normalized/"
)


def _parse_momentum(text: str) -> float | None:
    word = str(text).strip().lower()
    if word in ("none", "null", "cumulative"):
        return None
    return parse_float(word, "--momentum", lo=0.0, hi=1.0)


BnormInputs = Annotated[list[str], typer.Argument(
    metavar="INPUT...", show_default=False,
    help="Images or .npy/.csv/.txt arrays, directories (their readable files, sorted by name) or glob "
         "patterns (matches sorted). Together, in the order given, they are the batch.")]
EpsOpt = Annotated[Optional[float], typer.Option(
    "--eps", rich_help_panel=STATS_PANEL, show_default=False, metavar="EPS", parser=strict_float("--eps", lo=0.0),
    help="ε added to the variance under the square root (default 1e-5, PyTorch's; with --eval the "
         "stats file's).")]
MomentumOpt = Annotated[object, typer.Option(
    "--momentum", rich_help_panel=STATS_PANEL, metavar="M|none", parser=parser(_parse_momentum),
    help="Weight of each mini-batch in the running statistics, 0..1: running = (1 − M)·running + M·batch. "
         "none = cumulative average (M = 1/k after the k-th mini-batch), as PyTorch's momentum=None.")]
BatchSizeOpt = Annotated[Optional[int], typer.Option(
    "--batch-size", "-b", rich_help_panel=STATS_PANEL, show_default=False, metavar="B",
    parser=strict_int("--batch-size"),
    help="Split the inputs in order into mini-batches of this many, each normalized with its own "
         "statistics, the running statistics updated after each (default: one batch of all).")]
GammaOpt = Annotated[Optional[object], typer.Option(
    "--gamma", rich_help_panel=STATS_PANEL, metavar="G|G1,G2,...", show_default=False, parser=floats("--gamma"),
    help="Learnable scale γ: one value, or one per channel (default 1).")]
BetaOpt = Annotated[Optional[object], typer.Option(
    "--beta", rich_help_panel=STATS_PANEL, metavar="B|B1,B2,...", show_default=False, parser=floats("--beta"),
    help="Learnable shift β: one value, or one per channel (default 0).")]
SaveStatsOpt = Annotated[Optional[str], typer.Option(
    "--save-stats", rich_help_panel=IO_PANEL, metavar="FILE.json", show_default=False,
    help="Write the running statistics (and ε, γ, β) to this JSON file, for --eval --stats later.")]
EvalOpt = Annotated[bool, typer.Option(
    "--eval", rich_help_panel=STATS_PANEL,
    help="Test time: normalize with the running statistics of --stats instead of batch statistics.")]
StatsFileOpt = Annotated[Optional[str], typer.Option(
    "--stats", rich_help_panel=STATS_PANEL, metavar="FILE.json", show_default=False,
    help="Running statistics written by --save-stats (needed by --eval).")]
BnormOutDirOpt = Annotated[Optional[str], typer.Option(
    "--out-dir", rich_help_panel=IO_PANEL, metavar="DIR", show_default=False,
    help="Write each input's normalized result here under its own file name: .npy as raw float32, "
         ".csv/.txt as numbers, images with −3..3 mapped to black..white (0 = mid-gray). "
         "Created if missing.")]
RawOpt = Annotated[bool, typer.Option(
    "--raw", rich_help_panel=IO_PANEL,
    help="Keep image pixels at 0..255 (0..65535). By default images are scaled to 0..1 first, as "
         "torchvision's ToTensor does; arrays are always raw.")]
BnormJsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print the statistics as one JSON object on stdout (the table goes to stderr).")]
BnormTraceOpt = Annotated[bool, typer.Option(
    "--trace", "-t", rich_help_panel=TRACE_PANEL,
    help="Show the statistics of each mini-batch written out, the normalization of each value step "
         "by step, and the running-statistics update.")]


@dataclass(frozen=True)
class BnormRun:
    """bnorm-stats' options, parsed."""

    eps: float | None = None
    momentum: float | None = 0.1
    batch_size: int | None = None
    gamma: list[float] | None = None
    beta: list[float] | None = None
    save_stats: str | None = None
    eval_mode: bool = False
    stats_file: str | None = None
    out_dir: str | None = None
    raw: bool = False
    gray: bool = False
    json_out: bool = False
    trace: bool = False
    max_steps: int = DEFAULT_MAX_STEPS
    trace_format: object = None
    trace_out: str | None = None
    show_pictures: bool = False
    colormap: object = None


@app.command("bnorm-stats", epilog=EPILOG)
def bnorm_stats(
    inputs: BnormInputs,
    eps: EpsOpt = None,
    momentum: MomentumOpt = "0.1",
    batch_size: BatchSizeOpt = None,
    gamma: GammaOpt = None,
    beta: BetaOpt = None,
    save_stats: SaveStatsOpt = None,
    eval_mode: EvalOpt = False,
    stats_file: StatsFileOpt = None,
    out_dir: BnormOutDirOpt = None,
    raw: RawOpt = False,
    gray: GrayOpt = False,
    json_out: BnormJsonOpt = False,
    max_pixels: MaxPixelsOpt = None,
    trace: BnormTraceOpt = False,
    max_steps: MaxStepsOpt = DEFAULT_MAX_STEPS,
    trace_format: TraceFormatOpt = None,
    trace_out: TraceOutOpt = None,
    show_pictures: ShowHistogramsOpt = False,
    colormap: ColormapOpt = None,
    debug: DebugOpt = False,
    color: ColorOpt = None,
    show_protocol: ShowProtocolOpt = None,
) -> None:
    """Batch-normalize INPUT... per channel exactly as torch.nn.BatchNorm2d does, and show the statistics.

    Training (the default): batch mean μ and biased variance σ² per channel over every pixel of every
    input; ẑ = (z − μ)/√(σ² + ε), output γ·ẑ + β; running statistics updated with the unbiased variance.
    --eval normalizes with stored running statistics instead, as at test time.
    """
    apply_limits(max_pixels)
    opts = BnormRun(eps=eps, momentum=momentum, batch_size=batch_size, gamma=gamma, beta=beta, save_stats=save_stats,
                    eval_mode=eval_mode, stats_file=stats_file, out_dir=out_dir, raw=raw, gray=gray, json_out=json_out,
                    trace=trace, max_steps=max_steps, trace_format=trace_format, trace_out=trace_out,
                    show_pictures=show_pictures, colormap=colormap)
    paths, stored, targets = _prepare(inputs, opts)
    loaded = [imageio.load_input(p, gray=gray, alpha="keep") for p in paths]
    items = _items(paths, loaded, raw)
    outputs, stats = _normalize(items, loaded, stored, opts)
    names = [os.path.basename(p) for p in paths]
    console = _show(items, outputs, stats, names, loaded, opts)
    _write(paths, loaded, outputs, targets, stats, opts)
    if targets is not None:
        console.print(f"wrote {len(targets)} normalized file(s) to {out_dir}")
    if json_out:
        doc = stats.as_dict()
        doc["files"] = paths
        typer.echo(json.dumps(doc, indent=2))


def _prepare(inputs: list[str], opts: BnormRun):
    """Every check that needs no input data: the options together, the inputs, the outputs.
    Returns (paths, the stored statistics or None, the output files or None)."""
    if opts.eval_mode and opts.stats_file is None:
        raise ParameterError("--eval needs --stats FILE.json (running statistics from --save-stats)")
    if opts.stats_file is not None and not opts.eval_mode:
        raise ParameterError("--stats is read only with --eval (to save statistics use --save-stats)")
    if opts.eval_mode and opts.batch_size is not None:
        raise ParameterError("--batch-size applies to training only; --eval normalizes every input alike")
    check_params(1e-5 if opts.eps is None else opts.eps, opts.momentum, opts.batch_size)
    paths = expand_inputs(inputs)
    stored = _read_stats(opts.stats_file) if opts.stats_file else None
    # every file this run writes is checked against every file it reads (inputs and --stats) before work
    check_side_outputs((opts.save_stats, opts.trace_out), paths)
    if opts.save_stats is not None:
        _check_stats_target(opts.save_stats)
    safeio.defer(opts.trace_out)                 # the trace export appears only when the run succeeds
    targets = _plan_outputs(opts.out_dir, paths) if opts.out_dir is not None else None
    return paths, stored, targets


def _items(paths: list[str], loaded: list[imageio.Loaded], raw: bool) -> list[np.ndarray]:
    """Each input as (H, W, C), images scaled to 0..1 unless --raw; every one with the same C."""
    items = []
    for ld in loaded:
        data = ld.data if ld.data.ndim == 3 else ld.data[:, :, None]
        scale = ld.maxval if (ld.kind == "image" and not raw) else 1.0
        items.append(data / np.float32(scale) if scale != 1.0 else data)
    channels = items[0].shape[2]
    for p, a in zip(paths, items):
        if a.shape[2] != channels:
            raise InputError(f"{p} has {a.shape[2]} channel(s) but {paths[0]} has {channels}; every input of a "
                             f"batch needs the same number (--gray makes colour images one channel)")
    return items


def _normalize(items: list[np.ndarray], loaded: list[imageio.Loaded], stored: dict | None, opts: BnormRun):
    """batch_norm with the options, or with the stored running statistics (--eval)."""
    eps, gammas, betas = opts.eps, opts.gamma, opts.beta
    kwargs: dict = dict(momentum=opts.momentum, batch_size=opts.batch_size, training=not opts.eval_mode)
    if stored is not None:
        channels = items[0].shape[2]
        if stored["channels"] != channels:
            raise InputError(f"{opts.stats_file} holds statistics for {stored['channels']} channel(s) but the "
                             f"inputs have {channels}")
        scale = stored.get("pixel_scale")
        if any(ld.kind == "image" for ld in loaded) and scale in ("unit", "raw") and scale != ("raw" if opts.raw else "unit"):
            hint = "add --raw" if scale == "raw" else "drop --raw"
            raise ParameterError(f"{opts.stats_file} was computed on {'raw 0..255' if scale == 'raw' else '0..1'} "
                                 f"pixels; {hint} so the images are scaled alike")
        kwargs.update(running_mean=stored["running_mean"], running_var=stored["running_var"],
                      num_batches_tracked=stored.get("num_batches_tracked", 0))
        eps = stored.get("eps", 1e-5) if eps is None else eps
        gammas = stored.get("gamma") if gammas is None else gammas
        betas = stored.get("beta") if betas is None else betas
    eps = 1e-5 if eps is None else eps
    return batch_norm(items, eps=eps, gamma=gammas, beta=betas, **kwargs)


def _show(items, outputs, stats, names: list[str], loaded: list[imageio.Loaded], opts: BnormRun):
    """The statistics table, the trace, the pictures; returns the console they went to."""
    traced = tracing(trace=opts.trace, max_steps=opts.max_steps, trace_format=opts.trace_format,
                     trace_out=opts.trace_out)
    view = traced.view
    exporting = view is not None and view.out is None     # the export owns stdout
    if exporting and opts.json_out:
        raise ParameterError("--trace-format prints to stdout, which --json keeps for JSON; add --trace-out FILE")
    console = make_console(stderr=opts.json_out or exporting)
    console.print(stats_table(stats, names))
    if traced.on:
        made = batchnorm_trace(items, outputs, stats, names, max_steps=traced.max_steps)
        if view is None:
            print_batchnorm_trace(console, made)
        else:
            traced.show(made)
    if opts.show_pictures:
        from ..render.batchnorm import print_histograms
        from ..render.preview import print_previews
        plain = np.all(stats.gamma == 1) and np.all(stats.beta == 0)
        print_histograms(console, items, outputs, normalized_title="normalized ẑ" if plain else "normalized γ·ẑ + β")
        for name, ld, out in zip(names, loaded, outputs):
            print_previews(console, [(f"{name}: input", ld.data, ld.maxval if ld.kind == "image" else None),
                                     ("normalized", out, None)], colormap=opts.colormap)
    return console


def _write(paths, loaded, outputs, targets, stats, opts: BnormRun) -> None:
    """Everything is computed and checked: encode every file, then write them all or nothing (each
    staged beside its target, then all renamed into place)."""
    payloads: list[tuple[str, bytes]] = []
    if targets is not None:
        payloads += [(target, _encode(out, target, ld)) for ld, out, target in zip(loaded, outputs, targets)]
    if opts.save_stats is not None:
        doc = {"convcli": "bnorm-stats running statistics", "channels": stats.channels,
               "running_mean": [float(v) for v in stats.running_mean],
               "running_var": [float(v) for v in stats.running_var],
               "num_batches_tracked": stats.num_batches_tracked, "eps": stats.eps, "momentum": stats.momentum,
               "gamma": [float(v) for v in stats.gamma], "beta": [float(v) for v in stats.beta],
               "pixel_scale": "raw" if opts.raw else "unit"}
        payloads.append((opts.save_stats, (json.dumps(doc, indent=2) + "\n").encode()))
    with safeio.Transaction() as files:
        if targets is not None:
            batch.make_out_dir(opts.out_dir)
        for target, payload in payloads:
            files.stage(target, payload)
        files.commit()


def expand_inputs(specs: list[str]) -> list[str]:
    """The batch's files, expanded as every command expands inputs (``batch.expand_inputs``); here any
    unusable spec fails the whole run, since the inputs together are the batch."""
    if "-" in specs:
        raise ParameterError("bnorm-stats reads files, directories or glob patterns, not stdin (-)")
    paths = []
    for path, error in batch.expand_inputs(specs):
        if error is not None and "no such file" not in error:   # a missing file fails when it is loaded
            raise InputError(error)
        paths.append(path)
    if not paths:
        raise InputError("the batch is empty: give at least one input")
    return paths


def _check_stats_target(path: str) -> None:
    """--save-stats writes JSON: a .json file, or a stream (/dev/stdout). Where it may be written at
    all (never over an input) is the write guard's to say."""
    if not path.lower().endswith(".json") and not safeio.is_stream(path):
        raise ParameterError(f"--save-stats must name a .json file, got {safeio.printable(path)!r}")


def _plan_outputs(out_dir: str, paths: list[str]) -> list[str]:
    """DIR/<input's file name> for each input; refuse clashes and overwriting an input."""
    batch.check_out_dir(out_dir)
    targets, seen = [], {}
    for p in paths:
        name = os.path.basename(output_name(p, out_dir))   # the batch rule: a .gif input is written as .png
        if name in seen:
            raise OutputError(f"{p} and {seen[name]} would both be written to {os.path.join(out_dir, name)}; "
                              f"rename one or run them separately")
        seen[name] = p
        target = os.path.join(out_dir, name)
        if os.path.isdir(out_dir):
            safeio.check_target(target)          # never an input (by identity), a device node or a directory
        targets.append(target)
    return targets


def _encode(result: np.ndarray, target: str, loaded: imageio.Loaded) -> bytes:
    data = result[:, :, 0] if result.shape[2] == 1 and loaded.data.ndim == 2 else result
    if imageio.output_kind(target) != "image":
        return imageio.encode_result(data, target)
    # display mapping: −3..3 (three standard deviations of ẑ) onto 0..maxval, 0 at mid-gray
    pixels = ((data.astype(np.float64) + DISPLAY_SIGMAS) * (loaded.maxval / (2 * DISPLAY_SIGMAS))).astype(np.float32)
    return imageio.encode_result(pixels, target, maxval=loaded.maxval, range_mode="clip", alpha=loaded.alpha)


def _read_stats(path: str) -> dict:
    from ..statsio import read_stats   # size cap and strict schema: convcli/statsio.py

    return read_stats(path)
