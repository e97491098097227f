"""``convcli chain``: several ops in one pass, the way a network stacks layers; no intermediate files."""
from __future__ import annotations

import os
import shlex
from typing import Annotated, Optional

import numpy as np
import typer

from ..batch import Outcome
from ..errors import ParameterError
from ..imageio import Loaded, resolve_range
from ..render import make_console
from ..render.summary import print_chain_summary
from . import app
from ._common import (AlphaMode, AlphaOpt, ColormapOpt, FormatOpt, GrayOpt, JobsOpt, JsonOpt, MatrixOpt, MaxPixelsOpt,
                      NameOpt, ShowOpt,
                      OutDirOpt, OutputOpt, QuietOpt, RangeMode, RangeOpt, apply_limits, run_command)


def _builders() -> dict:
    """Each chainable subcommand's step builder: it takes the subcommand's own parsed options."""
    from .activate import activate_step
    from .convolve import convolve_step
    from .pool import pool_step
    from .tconv import tconv_step
    from .upsample import upsample_step

    return {"convolve": convolve_step, "tconv": tconv_step, "activate": activate_step, "pool": pool_step,
            "upsample": upsample_step}


# options that belong to the chain, not to a stage
_IO_PARAMS = ("inputs", "matrix", "output", "out_dir", "json_out", "fmt", "jobs", "quiet", "max_pixels",
              "show_pictures", "colormap")
EPILOG = ('Example:  convcli chain "convolve -k sobel-x --padding same" "activate --fn relu" '
          '"pool --size 2" photos/*.jpg --out-dir out --summary')


def split_stages(args: list[str], pipeline: str | None) -> tuple[list[str], list[str]]:
    """Leading arguments that start with an op name are stages; the rest are inputs."""
    names = _builders()
    stages: list[str] = []
    if pipeline is not None:
        try:
            with open(pipeline, encoding="utf-8") as fh:
                stages = [ln.strip() for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
        except (OSError, UnicodeDecodeError) as exc:
            raise ParameterError(f"{pipeline}: cannot read the pipeline file ({exc})") from None
        return stages, list(args)
    rest = list(args)
    while rest:
        words = rest[0].split()
        if words and words[0] in names and not os.path.exists(rest[0]):
            stages.append(rest.pop(0))
        else:
            break
    return stages, rest


def parse_stage(text: str):
    """Parse one stage with its subcommand's own options and return (label, step)."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise ParameterError(f"stage {text!r}: {exc}") from None
    builders = _builders()
    if not tokens or tokens[0] not in builders:
        raise ParameterError(f"stage {text!r} must start with one of {', '.join(builders)}")
    name = tokens[0]
    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    try:
        ctx = command.make_context(name, tokens[1:])
    except Exception as exc:  # Click's usage errors (vendored by Typer): say which stage
        message = " ".join((exc.format_message() if hasattr(exc, "format_message") else str(exc)).split())
        raise ParameterError(f"stage {text!r}: {message}") from None
    params = dict(ctx.params)
    given = [p for p in _IO_PARAMS if params.get(p) not in (None, False, [], ())]
    if given:
        raise ParameterError(f"stage {text!r}: inputs and outputs ({', '.join(given)}) belong to chain itself")
    return text, builders[name](**params, report=False)


@app.command(epilog=EPILOG)
def chain(
    args: Annotated[Optional[list[str]], typer.Argument(
        metavar="STAGE... INPUT...", show_default=False,
        help='Stages, each one quoted subcommand with its options ("convolve -k sobel-x --padding same", '
             '"activate --fn relu", "tconv -k box -s 2"), then the inputs (files, directories, globs, -).')] = None,
    pipeline: Annotated[Optional[str], typer.Option(
        "--pipeline", "-P", show_default=False,
        help="Read the stages from a file, one per line (# comments); then every argument is an input.")] = None,
    summary: Annotated[bool, typer.Option(
        "--summary", help="Print a model-summary table per input: each stage, the output shape after it with "
                          "the output-size formula, and the value range.")] = False,
    show_pictures: ShowOpt = False,
    colormap: ColormapOpt = None,
    matrix: MatrixOpt = None,
    output: OutputOpt = None,
    gray: GrayOpt = False,
    alpha: AlphaOpt = AlphaMode.keep,
    range_mode: RangeOpt = RangeMode.auto,
    max_pixels: MaxPixelsOpt = None,
    out_dir: OutDirOpt = None,
    fmt: FormatOpt = None,
    name: NameOpt = "{stem}",
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    jobs: JobsOpt = None,
) -> None:
    """Run several ops one after the other on each INPUT, without writing the intermediate results.

    After the first stage, values are feature maps (raw numbers): an `activate` stage then applies g
    to them directly. The result is written with the last stage's range rule (--range overrides).
    """
    apply_limits(max_pixels)
    stage_texts, inputs = split_stages(list(args or []), pipeline)
    if not stage_texts:
        raise ParameterError('no stages: give quoted stages first, e.g. "convolve -k box" "activate --fn relu"')
    stages = [parse_stage(t) for t in stage_texts]
    summary_console = make_console(stderr=json_out or output == "-")

    def step(loaded: Loaded) -> Outcome:
        loaded.pixel_target = None          # every stage's float result is read (statistics, next stage)
        rows = [dict(stage="input", shape=list(loaded.data.shape), formulas=[], **_stats(loaded.data))]
        current, outcome = loaded, None
        for text, stage in stages:
            outcome = stage(current)
            rows.append(dict(stage=text, shape=list(outcome.result.shape), formulas=outcome.formulas,
                             **_stats(outcome.result)))
            current = Loaded(outcome.result, "features", loaded.source,
                             maxval=outcome.maxval if outcome.maxval is not None else current.maxval,
                             mode=loaded.mode, original_mode=loaded.original_mode, alpha=outcome.alpha)
        if summary:
            print_chain_summary(summary_console, loaded.source, rows)
        assert outcome is not None
        if range_mode is not RangeMode.auto:
            outcome.range_mode = resolve_range(range_mode.value, None)
            outcome.for_image = None
        outcome.report = {"stages": rows}
        outcome.title = "result"
        return outcome

    run_command(step, inputs=inputs, matrix=matrix, output=output, out_dir=out_dir, fmt=fmt, name=name,
                json_out=json_out, quiet=quiet, jobs=jobs, gray=gray, alpha=alpha, show=show_pictures,
                colormap=colormap)


def _stats(a: np.ndarray) -> dict:
    finite = a[np.isfinite(a)]
    if not finite.size:
        return dict(min=float("nan"), max=float("nan"), mean=float("nan"))
    return dict(min=float(finite.min()), max=float(finite.max()), mean=float(finite.mean()))
