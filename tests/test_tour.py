"""`convcli tour` runs end to end without a terminal, and every command it prints reproduces its output."""
from __future__ import annotations

import io
import shlex

import numpy as np

from rich.console import Console

from convcli.cli.tour import TOPICS, find_topic, run_tour, samples_dir
from conftest import SAMPLES


def _commands(text: str) -> list[str]:
    return [ln[len("$ convcli "):] for ln in text.splitlines() if ln.startswith("$ convcli ")]


def test_tour_runs_end_to_end_and_each_command_reproduces_its_output(cli):
    code, out, err = cli("tour", "--no-pause")
    assert code == 0, err
    for i, topic in enumerate(TOPICS, 1):
        assert f"{i}/{len(TOPICS)} · {topic.title}" in out
    commands = _commands(out)
    assert len(commands) == sum(len(t.lessons) for t in TOPICS)
    for lesson in (lesson for t in TOPICS for lesson in t.lessons):
        assert f"▸ {lesson.render(samples_dir())}" in " ".join(out.split()).replace("▸", "\n▸")
    for command in commands:
        c_code, c_out, c_err = cli(*shlex.split(command))
        assert c_code == 0, (command, c_err)
        assert c_out.strip() and c_out.strip() in out, command
    assert "End of the tour." in out


def test_the_slides_numbers_appear(cli):
    code, out, _ = cli("tour", "padding", "--no-pause")
    assert code == 0
    assert "sample_images/slide_5x5.csv" in out and "<150>" in out
    assert "result 2×2" in out          # stride 2 on the 5×5 slide
    code, out, _ = cli("tour", "pool")  # not a terminal: no pause even without --no-pause
    assert code == 0 and "max(1, 3, 4, 2) = 4" in out and "Enter" not in out


def test_topics_and_aliases(cli):
    assert [t.key for t in find_topic("transposed")] == ["tconv"]
    assert [t.key for t in find_topic("act")] == ["activations"]
    code, _, err = cli("tour", "quantum")
    assert code == 2 and "TOPIC must be one of" in err
    code, out, _ = cli("tour", "--list")
    assert code == 0 and out.count("\n  - ") == sum(len(t.lessons) for t in TOPICS)


def test_pause_waits_for_enter_and_q_quits(capsys):
    answers = iter(["\n", "q\n"])
    console = Console(file=io.StringIO(), width=120, color_system=None)
    failed = run_tour(find_topic("pooling"), pause=True, read_line=lambda: next(answers), console=console)
    assert failed == 0
    text = console.file.getvalue()
    assert text.count("Enter: next step · q: quit") == 2
    assert len(_commands(text)) == 2 and "End of the tour." not in text
    capsys.readouterr()


# ---------------------------------------------------------------- every stated number is computed

def _lessons(cli) -> list[str]:
    code, out, err = cli("tour", "--list")
    assert code == 0, err
    return [line[len("  - "):] for line in out.splitlines() if line.startswith("  - ")]


def _coverage(h: int, w: int, k: int, stride: int, pad: int) -> np.ndarray:
    """How many k×k windows cover each input cell, by sliding them one by one."""
    counts = np.zeros((h, w), dtype=int)
    for top in range(-pad, h + pad - k + 1, stride):
        for left in range(-pad, w + pad - k + 1, stride):
            for y in range(top, top + k):
                for x in range(left, left + k):
                    if 0 <= y < h and 0 <= x < w:
                        counts[y, x] += 1
    return counts


def _n(v) -> str:
    v = float(v)
    return str(int(v)) if v == int(v) else f"{v:.4g}"


def _grid(a) -> str:
    return " / ".join(" ".join(_n(v) for v in row) for row in a)


def test_stated_numbers_equal_independent_computations(cli):
    """#14: the padding lesson said the corners are visited as often as the centre (false: 4 against 9
    windows with p = 1); every number a lesson states now comes from its example."""
    from reference import (activation_reference, conv2d_reference, interpolate_reference, pool2d_reference,
                           tconv2d_reference)
    from PIL import Image

    slide = np.loadtxt(SAMPLES / "slide_5x5.csv", delimiter=",")
    pool4 = np.loadtxt(SAMPLES / "slide_pool_4x4.csv", delimiter=",")
    up2 = np.loadtxt(SAMPLES / "slide_upsample_2x2.csv", delimiter=",")
    edge_k = np.array([[1, 0, -1]] * 3, dtype=float)
    ones3 = np.ones((3, 3))
    lessons = _lessons(cli)
    text = "\n".join(lessons)
    assert "as often as the centre" not in text

    relu = [activation_reference(x, "relu") for x in (-2, -0.5, 0, 0.5, 2)]
    dead = sum(1 for g, d in relu if g == 0 and d == 0)
    assert f"here {dead} of the 5 inputs are dead units" in lessons[0] and dead == 3
    g, d = activation_reference(-2, "leaky-relu")
    assert f"α = 0.01 through for negatives (g'(-2) = {_n(d)}), so no unit dies: 0 of 5 here" in lessons[1]
    d6, d0 = activation_reference(6, "sigmoid")[1], activation_reference(0, "sigmoid")[1]
    assert f"σ'(6) = {d6:.2g}, against σ'(0) = {d0:.2g}." in lessons[2] and f"{d6:.2g}" == "0.0025"

    vals = pool4.ravel()
    mean, var = vals.sum() / vals.size, ((vals - vals.mean()) ** 2).sum() / vals.size
    assert f"(μ = {_n(mean)} over these {vals.size} values)" in text and f"(σ² = {_n(var)})" in text
    assert (_n(mean), _n(var)) == ("2.875", "5.734")

    conv = conv2d_reference(slide, edge_k)
    assert f"50×1 + 50×0 + 0×(-1) + … (3 rows) = {_n(conv[0, 0])}." in text
    flat = {_n(conv[i, j]) for i in range(3) for j in range(3) if np.ptp(slide[i:i + 3, j:j + 3]) == 0}
    assert f"{_n(np.abs(conv).max())} at the edge, {' and '.join(sorted(flat))} in flat areas" in text

    strided = conv2d_reference(slide, edge_k, stride=(2, 2))
    assert f"Stride 2 moves the window 2 pixels at a time: the 5×5 input gives a " \
           f"{strided.shape[0]}×{strided.shape[1]} output." in text
    padded = conv2d_reference(slide, edge_k, pad=(1, 1, 1, 1))
    cov1, cov0 = _coverage(5, 5, 3, 1, 1), _coverage(5, 5, 3, 1, 0)
    assert (cov1[0, 0], cov1[2, 2], cov0[0, 0], cov0[2, 2]) == (4, 9, 1, 9)
    assert (f"the 5×5 input gives a {padded.shape[0]}×{padded.shape[1]} output. A corner cell is now in "
            f"{cov1[0, 0]} windows and the centre in {cov1[2, 2]} (without padding: {cov0[0, 0]} and "
            f"{cov0[2, 2]})") in text

    sizes, n = ["5×5"], 5
    for k, s, p in ((3, 1, 0), (3, 1, 1), (3, 2, 0)):
        n = (n + 2 * p - k) // s + 1
        sizes.append(f"{n}×{n}")
    assert f"⌊(n + 2p − k) / s⌋ + 1: here {' → '.join(sizes)}." in text

    mx, mn, av = (pool2d_reference(pool4, mode=m) for m in ("max", "min", "avg"))
    assert f"the 4×4 input becomes {mx.shape[0]}×{mx.shape[1]}, {_grid(mx)}." in text
    assert f"(1 + 3 + 4 + 2) / 4 = {_n(av[0, 0])}, and in all {_grid(av)}." in text
    assert f"the smallest value of each window, {_grid(mn)}." in text
    with Image.open(SAMPLES / "gray.png") as im:
        w, h = im.size
    assert f"with 4×4 windows shrinks it ({h}×{w} → {h // 4}×{w // 4})" in text

    near = interpolate_reference(up2, scale=(2, 2))
    lin = interpolate_reference(up2, scale=(2, 2), mode="bilinear")
    assert f"into a 2×2 block: 2×2 → {near.shape[0]}×{near.shape[1]}." in text
    assert f"output[0, 1] = {_n(lin[0, 1])}, between {_n(up2[0, 0])} and {_n(up2[0, 1])}." in text
    assert up2[0, 0] < lin[0, 1] < up2[0, 1]

    stamped = tconv2d_reference(np.array([[1.0, 2.0], [3.0, 4.0]]), ones3, stride=(2, 2))
    assert f"where stamps overlap they add: output[0, 2] = 1 + 2 = {_n(stamped[0, 2])}." in text
    taps = np.zeros(11, dtype=int)               # 5 rows, kernel 3, stride 2: (5 − 1)·2 + 3 = 11
    for i in range(5):
        taps[2 * i:2 * i + 3] += 1
    assert f"Kernel 3 with stride 2 overlaps unevenly — {', '.join(map(str, taps))} taps per output row" in text
    remedy = tconv2d_reference(up2, ones3, stride=(2, 2)).shape
    assert f"a {remedy[0]}×{remedy[1]} output, the transposed convolution's size ({remedy[0]}×{remedy[1]})" in text
    n1 = (2 - 1) * 2 + (3 - 1) + 1
    n2 = (n1 - 1) * 2 - 2 * 1 + (3 - 1) + 1 + 1
    assert n2 == 2 * n1
    assert (f"here 2×2 → {n1}×{n1} → {n2}×{n2}; with p = 1 and output_padding = 1 the last layer exactly doubles "
            f"the size ({n1}×{n1} → {n2}×{n2}).") in text


def test_no_number_in_a_lesson_is_typed_by_hand():
    """Digits in a lesson's own text are only those of formulas and of functions' ranges; the numbers
    about the example are placeholders filled by its facts()."""
    import re
    allowed = ["(n + 2p − k) / s⌋ + 1", "(n − 1)·s − 2p + d·(k − 1) + output_padding + 1", "0..1", "−1..1", "far from 0",
               "where it is 0 its gradient is 0"]
    for topic in TOPICS:
        for lesson in topic.lessons:
            literal = re.sub(r"\{[a-z_0-9]+\}", "", lesson.text)
            for fragment in allowed:
                literal = literal.replace(fragment, "")
            assert not re.search(r"\d", literal), lesson.text
            if "{" in lesson.text:
                assert lesson.facts is not None
