"""bnorm-stats --show: per-channel histograms of the inputs and of the normalized values, with the
mean and the standard deviation marked; checked against numpy.histogram on the same data."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from rich.console import Console

from convcli.render.batchnorm import (HIST_ROWS, channel_histogram, print_histograms, shown_mean)
from convcli.traces.model import fmt

BLOCK_EIGHTHS = {" ": 0, "▁": 1, "▂": 2, "▃": 3, "▄": 4, "▅": 5, "▆": 6, "▇": 7, "█": 8}
STATS = re.compile(r"n = (\d+), (μ = \S+|μ ≈ 0), σ = (\S+)")


def _record(width: int) -> Console:
    return Console(record=True, width=width, file=io.StringIO(), color_system=None, no_color=True,
                   highlight=False, emoji=False)


def parse_panel(lines: list[str]) -> dict:
    """Read one histogram back from its text: statistics, bar heights (eighths), marks, range."""
    title, stats = lines[0].strip(), STATS.search(lines[1])
    bars = [ln for ln in lines[2:] if "┤" in ln]
    assert len(bars) == HIST_ROWS
    top_label = bars[0].split("┤")[0].strip()
    cells = [ln.split("┤", 1)[1] for ln in bars]
    bins = len(next(ln for ln in lines if "└" in ln).split("└", 1)[1].rstrip())
    heights = np.zeros(bins, dtype=int)
    for row in cells:
        for i, ch in enumerate(row[:bins].ljust(bins)):
            heights[i] += BLOCK_EIGHTHS[ch]
    axis_at = next(i for i, ln in enumerate(lines) if "└" in ln)
    start = lines[axis_at].index("└") + 1
    marks_line = lines[axis_at + 1][start:start + bins]
    marks = {i: ch for i, ch in enumerate(marks_line) if ch in "μσ"}
    lo, hi = lines[axis_at + 2].split()
    return dict(title=title, n=int(stats.group(1)), mean=stats.group(2), std=stats.group(3),
                top=int(top_label), heights=heights, marks=marks, lo=lo, hi=hi, bins=bins)


def split_side_by_side(text: str, right_title: str) -> tuple[list[str], list[str]]:
    lines = text.split("\n")
    start = next(i for i, ln in enumerate(lines) if right_title in ln)
    cut = lines[start].index(right_title)
    block = lines[start:start + HIST_ROWS + 5]
    return [ln[:cut] for ln in block], [ln[cut:] for ln in block]


def expected_heights(counts: np.ndarray) -> np.ndarray:
    """Bar heights in eighths of a row, worked out independently: tallest = every row full."""
    full = HIST_ROWS * 8
    h = np.rint(counts / counts.max() * full).astype(int)
    return np.where(counts > 0, np.maximum(h, 1), 0)


def expected_bin(value: float, lo: float, hi: float, bins: int) -> int | None:
    if not lo <= value <= hi:
        return None
    return min(int((value - lo) / (hi - lo) * bins), bins - 1)


def check_panel(panel: dict, data: np.ndarray) -> None:
    data = np.asarray(data, dtype=np.float64).ravel()
    lo, hi = data.min(), data.max()
    counts, _ = np.histogram(data, bins=panel["bins"], range=(lo, hi))
    assert panel["n"] == data.size
    assert panel["top"] == counts.max()
    assert panel["heights"].tolist() == expected_heights(counts).tolist()
    mean, std = data.mean(), data.std()
    assert panel["mean"] == shown_mean(mean, std) and panel["std"] == fmt(std, 4)
    assert panel["lo"] == fmt(lo, 4) and panel["hi"] == fmt(hi, 4)
    want = {}
    for value, ch in ((mean - std, "σ"), (mean + std, "σ"), (mean, "μ")):
        b = expected_bin(value, lo, hi, panel["bins"])
        if b is not None:
            want[b] = ch
    assert panel["marks"] == want


def test_channel_histogram_matches_numpy_over_several_arrays(rng):
    arrays = [rng.normal(3.0, 2.0, size=(7, 5, 2)), rng.normal(-1.0, 0.5, size=(4, 9, 2))]
    for c in range(2):
        h = channel_histogram(arrays, c, 17, "x")
        joined = np.concatenate([a[..., c].ravel() for a in arrays])
        counts, edges = np.histogram(joined, bins=17)
        assert h.counts.tolist() == counts.tolist()
        np.testing.assert_allclose(h.edges, edges)
        assert h.mean == pytest.approx(joined.mean(), rel=1e-12)
        assert h.std == pytest.approx(joined.std(), rel=1e-12)
        assert h.count == joined.size


def test_constant_channel_has_a_range_and_only_the_mean_marked():
    h = channel_histogram([np.full((3, 3, 1), 5.0)], 0, 10, "const")
    assert h.edges[0] == 4.5 and h.edges[-1] == 5.5 and h.counts.sum() == 9 and h.std == 0
    console = _record(80)
    print_histograms(console, [np.full((3, 3, 1), 5.0)], [np.zeros((3, 3, 1))])
    text = console.export_text()
    assert "σ = 0" in text and text.count("σ\n") == 0


def test_rendered_histograms_match_numpy(rng):
    inputs = [rng.normal(10.0, 3.0, size=(20, 30, 1)), rng.gamma(2.0, 2.0, size=(15, 10, 1)) + 5]
    joined = np.concatenate([a.ravel() for a in inputs])
    mu, sd = joined.mean(), joined.std()
    outputs = [(a - mu) / np.sqrt(sd ** 2 + 1e-5) for a in inputs]
    console = _record(130)
    print_histograms(console, inputs, outputs)
    left, right = split_side_by_side(console.export_text(), "channel 0 · normalized")
    before, after = parse_panel(left), parse_panel(right)
    assert before["title"] == "channel 0 · inputs" and after["title"] == "channel 0 · normalized"
    check_panel(before, joined)
    check_panel(after, np.concatenate([o.ravel() for o in outputs]))
    assert after["mean"] == "μ ≈ 0" and float(after["std"]) == pytest.approx(1.0, abs=1e-3)
    assert before["heights"].max() == HIST_ROWS * 8
    # the same histograms stacked on a narrow terminal
    narrow = _record(50)
    print_histograms(narrow, inputs, outputs)
    lines = narrow.export_text().split("\n")
    at = lines.index("channel 0 · normalized")
    check_panel(parse_panel(lines[:at]), joined)


def test_bnorm_stats_show_on_the_cli(cli, tmp_path, rng):
    a = rng.normal(4.0, 2.0, size=(6, 8, 2)).astype(np.float32)
    b = rng.normal(1.0, 0.5, size=(5, 7, 2)).astype(np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    code, out, err = cli("bnorm-stats", tmp_path / "a.npy", tmp_path / "b.npy", "--show")
    assert code == 0, err
    for c in range(2):
        data = np.concatenate([a[..., c].ravel(), b[..., c].ravel()]).astype(np.float64)
        left, right = split_side_by_side(out[out.index(f"channel {c} · inputs"):], f"channel {c} · normalized ẑ")
        check_panel(parse_panel(left), data)
        mean, var = data.mean(), data.var()
        normalized = (data.astype(np.float32) - np.float32(mean)) / np.float32(np.sqrt(var + 1e-5))
        after = parse_panel(right)
        assert after["mean"] in ("μ ≈ 0", f"μ = {fmt(normalized.astype(np.float64).mean(), 4)}")
        assert float(after["std"]) == pytest.approx(normalized.std(), rel=1e-4)
        assert set(after["marks"].values()) == {"μ", "σ"}
    # the pictures still follow, and nothing ends in a space
    assert "a.npy: input 6×8×2" in out
    assert not [ln for ln in out.split("\n") if ln.endswith(" ")]
    code, out, err = cli("bnorm-stats", tmp_path / "a.npy", "--gamma", "2", "--beta", "1", "--show")
    assert code == 0 and "channel 0 · normalized γ·ẑ + β" in out
