"""``convcli chain``: several ops in one pass, the way a network stacks layers; no intermediate files."""
from __future__ import annotations

import difflib
import glob
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Annotated, Callable, Optional

import numpy as np
import typer

from ..batch import Outcome, Step
from ..errors import ConvcliError, InputError, LimitError, ParameterError
from ..imageio import Loaded, resolve_range
from ..ops.sinks import RangeRule
from ..render import make_console
from ..render.summary import print_chain_summary
from ..safeio import defer, printable, read_bounded
from .application import app
from .options import (TRACE_PANEL, AlphaMode, AlphaOpt, ColormapOpt, ColorOpt, DebugOpt, FormatOpt, GrayOpt, JobsOpt,
                      JsonOpt, MatrixOpt, MaxPixelsOpt, NameOpt, OutDirOpt, OutputOpt, QuietOpt, RangeMode, RangeOpt,
                      ShowOpt, ShowProtocolOpt, cell as cell_parser)
from .runner import RunOptions, apply_limits, debug_of, run_command

# a pipeline file is a few lines of text: refuse more before reading on (e.g. --pipeline /dev/zero)
PIPELINE_MAX_BYTES = 64 * 1024
MAX_STAGES = 64


def _builders() -> dict:
    """Each chainable subcommand's stage builder: the step from the subcommand's parsed parameters.
    (Imported here, not at the top: the commands are listed in --help in the order they register.)"""
    from .activate import stage_step as activate_stage
    from .convolve import stage_step as convolve_stage
    from .pool import stage_step as pool_stage
    from .tconv import stage_step as tconv_stage
    from .upsample import stage_step as upsample_stage

    return {"convolve": convolve_stage, "tconv": tconv_stage, "activate": activate_stage, "pool": pool_stage,
            "upsample": upsample_stage}


# options that belong to the chain, not to a stage
_IO_PARAMS = ("inputs", "matrix", "output", "out_dir", "json_out", "fmt", "jobs", "quiet", "max_pixels",
              "show_pictures", "colormap")
EPILOG = ('Example:  convcli chain "convolve -k sobel-x --padding same" "activate --fn relu" '
          '"pool --size 2" photos/*.jpg --out-dir out --summary  ·  '
          'convcli chain "convolve -k box" "pool --size 2" --matrix "..." --trace --cell 1,1')

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*$")


def _stage_word(arg: str, names) -> str | None:
    """The op name ``arg`` starts with when it looks like a stage rather than an input, else None.

    An existing path (or a glob that matches one) is an input. Otherwise an argument looks like a
    stage when its first word is a bare word (no dot, slash or wildcard) that is, or is close to, an
    op name ("pool", "pol 2"), or is followed by options ("pol --size 2", "maxpool -k 2").
    """
    if arg == "-" or os.path.exists(arg) or (glob.has_magic(arg) and glob.glob(arg)):
        return None
    words = arg.split()
    if not words or not _WORD.match(words[0]) or os.path.exists(words[0]):
        return None
    if words[0] in names or _close(words[0], names) or any(w.startswith("-") for w in words[1:]):
        return words[0]
    return None


def _close(word: str, names) -> str | None:
    found = difflib.get_close_matches(word.lower(), list(names), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_stage(word: str, text: str, names) -> ParameterError:
    guess = _close(word, names)
    hint = f", did you mean {guess}?" if guess else f"; stages start with one of {', '.join(names)}"
    return ParameterError(f"unknown stage {printable(word)!r}{hint} ({printable(text)!r} is not an existing input "
                          "either)")


def strip_comment(line: str) -> str:
    """The line without a ``# comment``: a ``#`` that starts a word outside quotes (as in a shell);
    a ``#`` inside quotes or inside a word stays."""
    quote = None
    escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def read_pipeline(path: str) -> list[str]:
    """The stages of a --pipeline file: one per line, blank lines and # comments skipped; at most
    :data:`PIPELINE_MAX_BYTES` bytes and :data:`MAX_STAGES` stages."""
    try:
        raw = read_bounded(path, PIPELINE_MAX_BYTES, what="pipeline file")
    except InputError as exc:          # a pipeline file is a parameter, like a kernel file
        raise ParameterError(str(exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParameterError(f"{printable(path)}: the pipeline file is not UTF-8 text") from None
    stages = [s for s in (strip_comment(line).strip() for line in text.splitlines()) if s]
    if len(stages) > MAX_STAGES:
        raise LimitError(f"{printable(path)}: {len(stages)} stages, over the limit of {MAX_STAGES}")
    return stages


def split_stages(args: list[str], pipeline: str | None) -> tuple[list[str], list[str]]:
    """Stages first, then the inputs. Every argument that is not an existing input but looks like a
    stage must be a known op given before the inputs (and not beside --pipeline): a typo such as
    "pol --size 2" is an error, never an input file that silently drops the stage."""
    names = _builders()
    stages: list[str] = read_pipeline(pipeline) if pipeline is not None else []
    inputs: list[str] = []
    for arg in args:
        word = _stage_word(arg, names)
        if word is None:
            inputs.append(arg)
            continue
        if word not in names:
            raise unknown_stage(word, arg, names)
        if pipeline is not None:
            raise ParameterError(f"stage {printable(arg)!r} given with --pipeline: put it in the pipeline file "
                                 "(with --pipeline every argument is an input)")
        if inputs:
            raise ParameterError(f"stage {printable(arg)!r} comes after the input {printable(inputs[-1])!r}: "
                                 "give the stages first, then the inputs")
        stages.append(arg)
    if len(stages) > MAX_STAGES:
        raise LimitError(f"{len(stages)} stages, over the limit of {MAX_STAGES}")
    return stages, inputs


@dataclass
class Stage:
    """One parsed stage: its text, op name, the subcommand's parsed options and its per-input step."""

    text: str
    name: str
    params: dict
    step: Step
    _geometry: Callable | None = field(default=None, repr=False)

    def geometry(self, shape):
        """How this stage reads an input of ``shape`` (:class:`~convcli.traces.receptive.StageGeometry`);
        ``shape`` None only checks that the stage can be traced."""
        if self._geometry is None:
            self._geometry = _geometry_builder(self)
        return None if shape is None else self._geometry(shape)


def parse_stage(text: str) -> Stage:
    """Parse one stage with its subcommand's own options."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise ParameterError(f"stage {text!r}: {exc}") from None
    builders = _builders()
    if not tokens:
        raise ParameterError(f"stage {text!r} is empty; it must start with one of {', '.join(builders)}")
    if tokens[0] not in builders:
        raise unknown_stage(tokens[0], text, builders)
    name = tokens[0]
    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    try:
        ctx = command.make_context(name, tokens[1:])
    except ConvcliError:      # a value's own check (an option's parser): its message as it is
        raise
    except Exception as exc:  # Click's usage errors (vendored by Typer): say which stage
        message = " ".join((exc.format_message() if hasattr(exc, "format_message") else str(exc)).split())
        raise ParameterError(f"stage {text!r}: {message}") from None
    params = dict(ctx.params)
    given = [p for p in _IO_PARAMS if params.get(p) not in (None, False, [], ())]
    if given:
        raise ParameterError(f"stage {text!r}: inputs and outputs ({', '.join(given)}) belong to chain itself")
    return Stage(text, name, params, builders[name](params, report=False))


def _geometry_builder(stage: Stage):
    """shape -> StageGeometry, through the op's own planner (the same checks as running it)."""
    from ..ops.pool import plan_pool
    from ..ops.tconv import plan_tconv, remedy_padding
    from ..ops.upsample import plan_upsample
    from ..traces import receptive as rf
    from .convolve import GEOMETRY as CONV, convolve_settings
    from .pool import GEOMETRY as POOL, pool_geometry
    from .upsample import GEOMETRY as UPSAMPLE, upsample_geometry

    p, label = stage.params, stage.text
    if stage.name == "convolve":
        settings = convolve_settings(**{k: p[k] for k in CONV})
        return lambda shape: rf.conv_geometry(label, settings.plan(shape))
    if stage.name == "pool":
        geometry = pool_geometry(**{k: p[k] for k in POOL})
        return lambda shape: rf.pool_geometry(label, plan_pool(shape, **geometry))
    if stage.name == "upsample":
        geometry = upsample_geometry(**{k: p[k] for k in UPSAMPLE})
        return lambda shape: rf.upsample_geometry(label, plan_upsample(shape, **geometry))
    if stage.name == "tconv":
        if p["overlap"]:
            raise ParameterError(f"--trace: stage {label!r} writes tap counts, which depend on no input value")
        from ..kernels import parse_kernel
        k = parse_kernel(p["kernel"])
        geometry = {key: p[key] for key in ("stride", "padding", "output_padding", "dilation")}

        def tconv_geometry(shape):
            plan = plan_tconv(shape, k, **geometry)
            if p["remedy"]:
                return rf.tconv_geometry(label, plan, remedy=True, remedy_pad=remedy_padding(plan))
            return rf.tconv_geometry(label, plan)
        return tconv_geometry
    return lambda shape: rf.pointwise_geometry(label, shape, stage.name)


ChainArgs = Annotated[Optional[list[str]], typer.Argument(
    metavar="STAGE... INPUT...", show_default=False,
    help='Stages, each one quoted subcommand with its options ("convolve -k sobel-x --padding same", '
         '"activate --fn relu", "tconv -k box -s 2"), then the inputs (files, directories, globs, -). '
         'An argument that is not an existing input but looks like a stage must be a known op '
         '("pol --size 2" is an error).')]
PipelineOpt = Annotated[Optional[str], typer.Option(
    "--pipeline", "-P", show_default=False,
    help=f"Read the stages from a file, one per line (# starts a comment, except inside quotes; at most "
         f"{MAX_STAGES} stages and {PIPELINE_MAX_BYTES // 1024} KiB); then every argument is an input.")]
SummaryOpt = Annotated[bool, typer.Option(
    "--summary", help="Print a model-summary table per input: each stage, the output shape after it with "
                      "the output-size formula, and the value range.")]
ChainTraceOpt = Annotated[bool, typer.Option(
    "--trace", "-t", rich_help_panel=TRACE_PANEL,
    help="Receptive field: follow one output cell of the last stage (--cell, default the centre) back "
         "through every stage to the input, printing at each stage the rows and columns that influence "
         "it, with a small grid picture when it fits.")]
CellOpt = Annotated[Optional[object], typer.Option(
    "--cell", rich_help_panel=TRACE_PANEL, metavar="Y,X", show_default=False, parser=cell_parser("--cell"),
    help="The output cell --trace follows, 0-based (default: the centre, H_out // 2, W_out // 2). "
         "Implies --trace.")]
ChainTraceOutOpt = Annotated[Optional[str], typer.Option(
    "--trace-out", rich_help_panel=TRACE_PANEL, metavar="FILE", show_default=False,
    help="Write the --trace to FILE instead of stdout (implies --trace): .json (every level's row and "
         "column indices), .md (markdown), anything else plain text. One input only.")]


@dataclass(frozen=True)
class Receptive:
    """chain --trace: which output cell to follow back (None: the centre), and where to write it."""

    on: bool = False
    cell: tuple[int, int] | None = None
    out: str | None = None


@app.command(epilog=EPILOG)
def chain(
    ctx: typer.Context,
    args: ChainArgs = None,
    pipeline: PipelineOpt = None,
    summary: SummaryOpt = False,
    trace: ChainTraceOpt = False,
    cell: CellOpt = None,
    trace_out: ChainTraceOutOpt = None,
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
    debug: DebugOpt = False,
    color: ColorOpt = None,
    show_protocol: ShowProtocolOpt = None,
) -> None:
    """Run several ops one after the other on each INPUT, without writing the intermediate results.

    After the first stage, values are feature maps (raw numbers): an `activate` stage then applies g
    to them directly. The result is written with the last stage's range rule (--range overrides).
    --trace shows the receptive field of one output cell, stage by stage (with --json it goes into
    each record's report.receptive instead; with -o - to stderr).
    """
    apply_limits(max_pixels)
    stages, inputs = parse_chain(list(args or []), pipeline)
    receptive = Receptive(on=trace or cell is not None or trace_out is not None, cell=cell, out=trace_out)
    io = RunOptions(inputs=inputs, matrix=matrix, output=output, out_dir=out_dir, fmt=fmt, name=name,
                    json_out=json_out, quiet=quiet, jobs=jobs, gray=gray, alpha=alpha, show=show_pictures,
                    colormap=colormap, trace_out=trace_out, debug=debug_of(ctx))
    run_command(chain_step(stages, io, summary=summary, receptive=receptive, range_mode=range_mode), io)


def parse_chain(args: list[str], pipeline: str | None) -> tuple[list[Stage], list[str]]:
    """The parsed stages (at least one) and the inputs."""
    stage_texts, inputs = split_stages(args, pipeline)
    if not stage_texts:
        raise ParameterError('no stages: give quoted stages first, e.g. "convolve -k box" "activate --fn relu"')
    return [parse_stage(t) for t in stage_texts], inputs


def chain_step(stages: list[Stage], io: RunOptions, *, summary: bool, receptive: Receptive,
               range_mode: RangeMode) -> Step:
    """The per-input step: every stage in turn, each stage's shape and range recorded (the
    --summary table and the --json report), then the receptive field when asked. It always makes
    values: every stage's result is read (its statistics, the next stage)."""
    if receptive.on:
        for stage in stages:            # a stage that cannot be traced is refused before any input is read
            stage.geometry(None)
    if receptive.out is not None:
        _check_trace_out(receptive.out, io.inputs or [], io.matrix)
        defer(receptive.out)            # written only when the whole run succeeds
    summary_console = make_console(stderr=io.report_to_stderr)
    trace_console = make_console(stderr=io.output == "-")

    def step(loaded: Loaded, pixels: bool) -> Outcome:
        outcome, rows, in_shapes = run_stages(stages, loaded)
        if summary:
            print_chain_summary(summary_console, loaded.source, rows)
        report: dict = {"stages": rows}
        if receptive.on:
            report["receptive"] = _receptive(stages, in_shapes, outcome.data.shape, loaded.source, receptive,
                                             trace_console, quiet=io.json_out)
        if range_mode is not RangeMode.auto:
            outcome.rule = RangeRule(resolve_range(range_mode.value, None), maxval=loaded.maxval)
        outcome.report = report
        outcome.title = "result"
        return outcome

    return Step(run=step)


def run_stages(stages: list[Stage], loaded: Loaded) -> tuple[Outcome, list[dict], list[tuple]]:
    """The last stage's outcome, a row per stage (the input first), and each stage's input shape."""
    rows = [dict(stage="input", shape=list(loaded.data.shape), formulas=[], **_stats(loaded.data))]
    current, outcome, in_shapes = loaded, None, []
    for stage in stages:
        in_shapes.append(current.data.shape)
        outcome = stage.step.run(current, False)
        rows.append(dict(stage=stage.text, shape=list(outcome.data.shape), formulas=outcome.formulas,
                         **_stats(outcome.data)))
        current = Loaded(outcome.data, "features", loaded.source,
                         maxval=outcome.maxval if outcome.maxval is not None else current.maxval,
                         mode=loaded.mode, original_mode=loaded.original_mode, alpha=outcome.alpha)
    assert outcome is not None
    return outcome, rows, in_shapes


def _receptive(stages: list[Stage], in_shapes: list[tuple], out_shape: tuple, source: str, receptive: Receptive,
               console, *, quiet: bool) -> dict:
    """Follow the cell back through the stages; print or write it (``quiet``: --json holds it alone)."""
    from ..render.receptive import export_format, export_receptive, print_receptive
    from ..traces.receptive import default_cell, trace_back

    geometries = [stage.geometry(shape) for stage, shape in zip(stages, in_shapes)]
    made = trace_back(geometries, receptive.cell or default_cell(out_shape), source=source)
    if receptive.out is not None:
        from ..imageio import write_atomic
        write_atomic(receptive.out, export_receptive(made, export_format(receptive.out)).encode("utf-8"))
    elif not quiet:
        print_receptive(console, made)
    return made.as_dict()


def _check_trace_out(path: str, inputs: list[str], matrix: str | None) -> None:
    from .. import batch
    from ..errors import OutputError

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OutputError(f"{path}: directory {directory} does not exist")
    if os.path.isdir(path):
        raise OutputError(f"{path}: is a directory; give a file name")
    if matrix is None and len(batch.expand_inputs(inputs)) > 1:
        raise ParameterError("--trace-out holds the trace of one input; give one input (or drop --trace-out)")


def _stats(a: np.ndarray) -> dict:
    finite = a[np.isfinite(a)]
    if not finite.size:
        return dict(min=float("nan"), max=float("nan"), mean=float("nan"))
    return dict(min=float(finite.min()), max=float(finite.max()), mean=float(finite.mean()))
