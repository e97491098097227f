"""Trace exports (--trace-format, --trace-out) checked against the ops' own numbers, and the
--animate / --step players: degradation off a terminal, the step loop with a fake keyboard."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from rich.console import Console

import convcli
from convcli.render.present import (TraceOutput, animate_trace, export_trace, present_trace, step_through,
                                    trace_json, trace_markdown, trace_text)


def _matrix_text(a: np.ndarray) -> str:
    return ";".join(",".join(f"{v:g}" for v in row) for row in a)


def _json(cli, *args):
    code, out, err = cli(*args, "--trace-format", "json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2), (2, 0, 1)])
def test_conv_json_steps_are_the_ops_numbers(cli, rng, stride, padding, dilation):
    x = rng.integers(-9, 10, size=(6, 7)).astype(np.float32)
    k = rng.integers(-3, 4, size=(3, 3)).astype(np.float32)
    want = convcli.convolve(x, k, stride=stride, padding=padding, dilation=dilation, bias=0.5)
    doc = _json(cli, "convolve", "--matrix", _matrix_text(x), "-k", _matrix_text(k), "--stride", stride,
                "--padding", padding, "--dilation", dilation, "--bias", "0.5", "--max-steps", "100")
    assert doc["output_shape"] == list(want.shape)
    assert np.allclose(np.array(doc["output"]), want)
    assert len(doc["steps"]) == want.size == doc["total_steps"]
    padded = np.pad(x, padding)
    for s in doc["steps"]:
        oy, ox = s["output_cell"]
        assert s["sum"] == pytest.approx(float(want[oy, ox]))
        # each window cell's value is the padded input at its input coordinates
        for w in s["window"]:
            iy, ix = w["input"]
            assert w["value"] == padded[iy + padding, ix + padding]
            assert w["padding"] == (not (0 <= iy < 6 and 0 <= ix < 7))
        vals = np.array([w["value"] for w in s["window"]])
        assert np.allclose(s["products"], vals * k.ravel())
        assert sum(s["products"]) + 0.5 == pytest.approx(s["sum"], abs=1e-4)
        assert len(s["terms"]) == k.size


def test_slide_example_json(cli, samples):
    doc = _json(cli, "convolve", samples / "slide_5x5.csv", "-k", "vertical-edge", "--stride", "2")
    first = doc["steps"][0]
    assert first["output_cell"] == [0, 0] and first["sum"] == 150
    assert first["products"] == [50, 0, -0.0, 50, 0, -0.0, 50, 0, -0.0]
    assert first["terms"][0] == "50×1" and first["move"].startswith("start")
    assert doc["formulas"] and "= 2" in doc["formulas"][0]


def test_pool_json_winner_is_the_max(cli, rng):
    x = rng.integers(0, 50, size=(5, 5)).astype(np.float32)
    want = convcli.pool(x, mode="max", size=2, stride=2, ceil_mode=True)
    doc = _json(cli, "pool", "--matrix", _matrix_text(x), "--size", "2", "--ceil-mode")
    assert np.allclose(np.array(doc["output"]), want)
    for s in doc["steps"]:
        inside = [w["value"] for w in s["window"] if not w["padding"]]
        assert s["sum"] == max(inside) == want[tuple(s["output_cell"])]
        assert len(s["marked"]) == 1
        assert "products" not in s


def test_tconv_scatter_json_products(cli):
    k = np.array([[1, 2, 0], [0, -1, 3], [1, 1, 1]], np.float32)
    x = np.array([[1, 2], [3, 4]], np.float32)
    want = convcli.tconv(x, k, stride=2)
    doc = _json(cli, "tconv", "--matrix", "1,2;3,4", "-k", _matrix_text(k), "-s", "2")
    assert np.allclose(np.array(doc["output"]), want)
    for s in doc["steps"]:
        (cell,) = s["window"]
        assert np.allclose(s["products"], cell["value"] * k.ravel())
        assert len(s["output_cells"]) >= 1


def test_upsample_and_activate_json(cli, samples):
    doc = _json(cli, "upsample", samples / "slide_upsample_2x2.csv", "--scale", "2")
    assert doc["output_shape"] == [4, 4] and len(doc["steps"]) >= 1
    doc = _json(cli, "activate", "--matrix", "-1,0,2", "--fn", "relu")
    assert [r["y"] for r in doc["rows"]] == [0.0, 0.0, 2.0]
    assert [r["status"] for r in doc["rows"]][:2] == ["dead", "dead"]


def test_json_trace_keeps_stdout_clean_of_the_activate_report(cli):
    code, out, err = cli("activate", "--matrix", "-1,0,2", "--fn", "relu", "--trace-format", "json")
    assert code == 0
    json.loads(out)
    assert "dead" in err


def test_text_export_equals_the_piped_trace(cli, samples):
    code, piped, _ = cli("convolve", samples / "slide_5x5.csv", "-k", "vertical-edge", "--trace")
    code2, text, _ = cli("convolve", samples / "slide_5x5.csv", "-k", "vertical-edge", "--trace-format", "text")
    assert code == code2 == 0
    strip = lambda t: "\n".join(ln.rstrip() for ln in t.strip().splitlines())  # noqa: E731
    assert strip(piped) == strip(text)
    assert "[50]" in text and "<150>" in text


def test_markdown_export(cli, samples):
    code, out, _ = cli("pool", samples / "slide_pool_4x4.csv", "--trace-format", "markdown")
    assert code == 0
    assert out.startswith("## max pooling")
    assert "| **0** | **[1]** | **[3]** | 2 | 1 |" in out
    assert "**[4*]**" in out and "`max(1, 3, 4, 2) = 4`" in out
    assert "### Output size" in out


def test_svg_and_html_exports(cli, samples, tmp_path):
    svg = tmp_path / "t.svg"
    code, out, _ = cli("convolve", samples / "slide_5x5.csv", "-k", "vertical-edge", "--trace-out", svg)
    assert code == 0 and out == ""
    text = svg.read_text()
    assert text.startswith("<svg") and "150" in text and "Step" in text
    code, out, _ = cli("convolve", samples / "slide_5x5.csv", "-k", "vertical-edge", "--trace-format", "html")
    assert code == 0 and out.lstrip().startswith("<!DOCTYPE html>") and "150" in out


def test_trace_out_extension_picks_the_format(cli, samples, tmp_path):
    for ext, check in ((".json", lambda t: json.loads(t)["steps"]), (".md", lambda t: t.startswith("## ")),
                       (".txt", lambda t: "Step 1 of 9" in t)):
        target = tmp_path / f"trace{ext}"
        code, _, err = cli("convolve", samples / "slide_5x5.csv", "-k", "vertical-edge", "--trace-out", target)
        assert code == 0, err
        assert check(target.read_text())


def test_trace_out_with_json_records(cli, samples, tmp_path):
    target = tmp_path / "t.json"
    code, out, _ = cli("convolve", samples / "slide_5x5.csv", "-k", "box", "--trace-out", target, "--json")
    assert code == 0
    assert json.loads(out)["records"][0]["status"] == "ok"
    assert json.loads(target.read_text())["steps"]


@pytest.mark.parametrize("args,needle,exit_code", [
    (("--trace-format", "pdf"), "pdf", 2),
    (("--trace-out", "/nonexistent-dir/t.json"), "does not exist", 5),
    (("--animate", "--step"), "either --animate or --step", 2),
    (("--animate", "--trace-format", "svg"), "drop --trace-format", 2),
    (("--delay", "-1", "--animate"), "delay", 2),
])
def test_bad_trace_options(cli, samples, tmp_path, args, needle, exit_code):
    before = sorted(tmp_path.iterdir())
    code, out, err = cli("convolve", samples / "slide_5x5.csv", "-k", "box", "-o", tmp_path / "o.png", *args)
    assert code == exit_code
    assert sorted(tmp_path.iterdir()) == before
    assert needle in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_animate_and_step_degrade_to_the_plain_trace_off_a_terminal(cli, samples):
    _, plain, _ = cli("convolve", samples / "slide_5x5.csv", "-k", "vertical-edge", "--trace")
    for flag in ("--animate", "--step"):
        code, out, _ = cli("convolve", samples / "slide_5x5.csv", "-k", "vertical-edge", flag)
        assert code == 0 and out == plain


def _slide_trace():
    from convcli.ops.conv import conv_settings, run_plan
    from convcli.traces.conv import conv_trace
    x = np.array([[50, 50, 0, 0, 0]] * 5, np.float32)   # the slides' 5×5
    plan = conv_settings("vertical-edge", stride=(2, 2)).plan(x.shape)
    return conv_trace(x, plan, run_plan(x, plan))


def _recording() -> Console:
    return Console(record=True, width=120, file=io.StringIO(), color_system=None, no_color=True)


def test_step_loop_with_a_fake_keyboard():
    trace = _slide_trace()
    answers = iter(["\n", "\n", "\n"])
    console = _recording()
    assert step_through(console, trace, lambda: next(answers)) is True
    text = console.export_text()
    assert text.count("Enter: next step · q: quit") == 3
    assert "Step 4 of 4" in text and "Output size" in text


def test_step_loop_quits_on_q_and_on_end_of_input():
    for keys in (["\n", "q\n"], [""]):
        trace = _slide_trace()
        answers = iter(keys)
        console = _recording()
        assert step_through(console, trace, lambda: next(answers)) is False
        text = console.export_text()
        assert f"Step {len(keys) + 1} of 4" not in text and "Output size" not in text


def test_present_uses_the_players_only_on_a_terminal():
    trace = _slide_trace()
    console = _recording()
    keys = iter(["q\n"])
    present_trace(trace, TraceOutput(step=True, console=console, read_line=lambda: next(keys),
                                     is_terminal=lambda: True))
    assert "Step 2 of 4" not in console.export_text()
    console = _recording()
    present_trace(trace, TraceOutput(step=True, console=console, is_terminal=lambda: False))
    assert console.export_text() == trace_text(trace)


def test_animation_shows_every_step_and_the_result():
    trace = _slide_trace()
    console = Console(record=True, width=120, file=io.StringIO(), force_terminal=True, color_system=None)
    slept = []
    animate_trace(console, trace, delay=0.25, sleep=slept.append)
    assert slept == [0.25, 0.25, 0.25]
    text = console.export_text()
    assert "Step 4 of 4" in text and "Output size" in text


def test_exports_are_pure_functions_of_the_trace():
    trace = _slide_trace()
    assert export_trace(trace, "text") == trace_text(trace)
    assert json.loads(export_trace(trace, "json")) == json.loads(json.dumps(trace_json(trace)))
    assert export_trace(trace, "markdown") == trace_markdown(trace)


def test_chain_stages_export_their_traces_and_refuse_pictures(cli, samples):
    code, out, err = cli("chain", "pool --size 2 --trace-format json", samples / "slide_pool_4x4.csv")
    assert code == 0, err
    doc = json.loads(out[: out.rindex("}") + 1])
    assert [s["sum"] for s in doc["steps"]] == [4, 2, 6, 8]
    code, _, err = cli("chain", "pool --size 2 --show", samples / "slide_pool_4x4.csv")
    assert code == 2 and "belong to chain itself" in err
