"""How a command line runs: in its own context (its --color, pixel limit and write guard go with it),
with the batch deciding per input whether an op may hand its image output pixels straight away,
and --debug passed down to each failing input of a batch."""
from __future__ import annotations

import contextvars
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import SAMPLES
from convcli import limits
from convcli.batch import Outcome, Step, run_batch
from convcli.cli import run
from convcli.render.console import set_terminal, terminal_settings


def test_a_runs_terminal_settings_go_with_it(capsys):
    assert run(["--color", "always", "convolve", "--matrix", "1,2;3,4", "-k", "1"]) == 0
    assert "\x1b[" in capsys.readouterr().out                  # coloured inside the run
    assert terminal_settings().color == "auto"                 # nothing left behind


def test_a_run_inside_a_run_inherits_the_outer_settings_and_hands_them_back(capsys):
    def outer():
        set_terminal(color="always")
        inherited = run(["convolve", "--matrix", "1,2;3,4", "-k", "1"])
        coloured = "\x1b[" in capsys.readouterr().out
        own = run(["convolve", "--matrix", "1,2;3,4", "-k", "1", "--color", "never"])
        plain = "\x1b[" not in capsys.readouterr().out
        return inherited, coloured, own, plain, terminal_settings().color

    assert contextvars.copy_context().run(outer) == (0, True, 0, True, "always")
    assert terminal_settings().color == "auto"


def test_a_runs_pixel_limit_goes_with_it(cli, tmp_path):
    before = limits.max_pixels()
    code, _, err = cli("convolve", SAMPLES / "gray.png", "-k", "box", "-o", tmp_path / "o.png", "--max-pixels", "10")
    assert code == 6 and "the limit of 10 pixels" in err
    assert limits.max_pixels() == before


def _recording_step(seen: list):
    def step(loaded, pixels: bool) -> Outcome:
        seen.append(pixels)
        return Outcome(loaded.data * 0.5)
    return Step(run=step)


@pytest.mark.parametrize("name, options, wanted", [
    ("o.png", dict(statistics=False, pixel_outputs=True), True),      # an 8-bit image and nothing else
    ("o.jpg", dict(statistics=False, pixel_outputs=True), True),
    ("o.png", dict(statistics=True, pixel_outputs=True), False),      # --json reads the values
    ("o.png", dict(statistics=False, pixel_outputs=False), False),    # a table, picture or colour map reads them
    ("o.npy", dict(statistics=False, pixel_outputs=True), False),     # not an image
    ("o.csv", dict(statistics=False, pixel_outputs=True), False),
])
def test_the_batch_tells_the_step_when_pixels_may_go_straight_to_the_image(tmp_path, name, options, wanted):
    seen: list = []
    (rec,) = run_batch([str(SAMPLES / "gray.png")], _recording_step(seen), output=str(tmp_path / name), **options)
    assert rec.status == "ok" and seen == [wanted]


def test_a_16_bit_image_never_takes_8_bit_pixels(tmp_path):
    seen: list = []
    (rec,) = run_batch([str(SAMPLES / "gray16.png")], _recording_step(seen), output=str(tmp_path / "o.png"),
                       statistics=False, pixel_outputs=True)
    assert rec.status == "ok" and seen == [False]
    assert np.asarray(Image.open(tmp_path / "o.png")).dtype == np.uint16


def test_a_plain_function_is_a_step_that_makes_values(tmp_path):
    (rec,) = run_batch([str(SAMPLES / "gray.png")], lambda im: Outcome(im.data[:4, :6]),
                       output=str(tmp_path / "o.npy"), statistics=False, pixel_outputs=True)
    assert rec.status == "ok" and np.load(tmp_path / "o.npy").shape == (4, 6)


def test_debug_shows_each_failing_inputs_traceback(cli, tmp_path):
    shutil.copy(SAMPLES / "slide_5x5.csv", tmp_path / "good.csv")
    (tmp_path / "bad.csv").write_text("1,2\n3,4\n")          # smaller than the kernel
    args = ("convolve", tmp_path / "good.csv", tmp_path / "bad.csv", "-k", "box", "--out-dir", tmp_path / "out", "-q")
    code, _, err = cli(*args)
    assert code == 4 and "Traceback" not in err and err.count("convcli: error: ") == 1
    code, _, err = cli("--debug", *args)
    assert code == 4 and "Traceback" in err and err.count("convcli: error: ") == 1
    code, _, err = cli(*args, "--debug")
    assert code == 4 and "Traceback" in err
