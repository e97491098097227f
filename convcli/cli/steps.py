"""What the op commands share between building a step and running it: the trace options
(:class:`Tracing`) and :func:`op_step`, the per-input step of an op that plans, runs into a sink
and may trace (convolve, pool, upsample; also `convcli chain`'s stages of them)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..batch import Outcome, Step
from ..imageio import Loaded
from ..ops.sinks import Pixels, RangeRule
from ..render.present import DEFAULT_DELAY, TraceOutput, format_for, present_trace
from ..traces.conv import DEFAULT_MAX_STEPS
from .options import AlphaMode


@dataclass(frozen=True)
class Tracing:
    """The trace options, parsed: ``on`` when --trace or any option that implies it was given."""

    on: bool = False
    view: TraceOutput | None = None      # export, animation or stepping; None: print the trace
    region: str | None = None
    max_steps: int = DEFAULT_MAX_STEPS
    channel: int = 0

    def show(self, made) -> None:
        """Print (or export, play, step through) a built trace."""
        present_trace(made, self.view)


def tracing(*, trace: bool = False, region: str | None = None, max_steps: int = DEFAULT_MAX_STEPS,
            channel: int = 0, trace_format=None, trace_out: str | None = None, animate: bool = False,
            delay: float | None = None, step_through: bool = False) -> Tracing:
    """The trace options as given; --trace-format, --trace-out, --animate and --step imply --trace."""
    view = None
    if trace_format is not None or trace_out is not None or animate or step_through:
        view = TraceOutput(format=format_for(trace_format, trace_out), out=trace_out, animate=animate,
                           delay=DEFAULT_DELAY if delay is None else delay, step=step_through)
    return Tracing(on=trace or view is not None, view=view, region=region, max_steps=max_steps, channel=channel)


TRACE_KEYS = ("trace", "region", "max_steps", "channel", "trace_format", "trace_out", "animate", "delay",
              "step_through")


def tracing_of(params: dict) -> Tracing:
    """:func:`tracing` from a command's parsed parameters (a `convcli chain` stage's)."""
    return tracing(**{k: params[k] for k in TRACE_KEYS if k in params})


def pixels_sink(rule: RangeRule, pixels: bool) -> Pixels | None:
    """The sink for an op whose result may go straight to 8-bit pixels (``pixels``): Pixels when
    the rule maps each value on its own, so the strips become pixels as they are made; rescale
    needs the whole float result first, so the values are kept (None)."""
    return Pixels(rule) if pixels and rule.pointwise() is not None else None


def op_step(plan_for: Callable, run: Callable, build_trace: Callable, *, carry: Callable, rule: str,
            alpha: AlphaMode, trace: Tracing, reads_uint8: bool = False, maps: bool = False) -> Step:
    """The per-input step of an op that plans, runs and may trace (convolve, pool, upsample).

    ``plan_for(shape)`` checks the options against the input; ``run(data, plan, sink=None)``
    computes into the sink; ``build_trace(data, plan, result, ...)`` makes the trace;
    ``carry(alpha, plan)`` moves a kept alpha channel through the same geometry.
    ``reads_uint8``: ``run`` takes an 8-bit image as it is (no float32 copy of the input).
    ``maps``: the op mixes channels (a 4-D weight), so its output channels are feature maps.
    """
    keep_alpha = AlphaMode(alpha) == AlphaMode.keep

    def step(loaded: Loaded, pixels: bool) -> Outcome:
        plan = plan_for(loaded.raw.shape)
        moved = carry(loaded.alpha, plan) if loaded.alpha is not None and keep_alpha else None
        formulas = plan.geometry.formulas() if hasattr(plan, "geometry") else plan.formulas()
        data = loaded.raw if reads_uint8 else loaded.data
        range_rule = RangeRule(rule, maxval=loaded.maxval)
        sink = pixels_sink(range_rule, pixels and not trace.on)
        if sink is not None:
            return Outcome(run(data, plan, sink=sink), rule=range_rule, alpha=moved, formulas=formulas,
                           is_pixels=True, maps=maps)
        result = run(data, plan)
        if trace.on:
            trace.show(build_trace(loaded.data, plan, result, channel=trace.channel, region=trace.region,
                                   max_steps=trace.max_steps))
        return Outcome(result, rule=range_rule, alpha=moved, formulas=formulas, maps=maps)

    return Step(run=step, traces=trace.on, prints=trace.on)
