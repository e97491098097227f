"""`convcli tour` runs end to end without a terminal, and every command it prints reproduces its output."""
from __future__ import annotations

import io
import shlex

from rich.console import Console

from convcli.cli.tour import TOPICS, find_topic, run_tour


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
        assert f"▸ {lesson.text}" in out
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
