"""The texts of traces: the symbolic formula and the numbers put in say the same thing (#14)."""
from __future__ import annotations

import itertools
import math
import re

import pytest

from convcli.shapes import (conv_out, conv_out_formula, pool_out, pool_out_formula, tconv_out,
                            tconv_out_formula)
from conftest import SAMPLES


def _evaluate(expr: str) -> int:
    """Evaluate ``⌊(5 + 2·1 − 1·(3 − 1) − 1) / 1⌋ + 1`` exactly: integers, + − · /, ⌊⌋ and ⌈⌉ only."""
    from fractions import Fraction

    assert re.fullmatch(r"[\d\s()+−·/⌊⌋⌈⌉]+", expr), expr
    py = (expr.replace("⌊", "_floor(").replace("⌋", ")").replace("⌈", "_ceil(").replace("⌉", ")")
          .replace("·", "*").replace("−", "-"))
    py = re.sub(r"\d+", lambda m: f"_F({m.group()})", py)
    return int(eval(py, {"_F": Fraction, "_floor": math.floor, "_ceil": math.ceil}))


def _check(formula: str, values: dict[str, int], out: int) -> None:
    """``A = symbolic = numeric = out``: the symbols with their values put in read as the numeric part,
    and the numeric part evaluates to ``out``."""
    parts = formula.split(" = ")
    assert len(parts) == 4, formula
    _, symbolic, numeric, result = parts
    for name in sorted(values, key=len, reverse=True):       # H_in before k, pad_top before p...
        symbolic = re.sub(rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])", str(values[name]), symbolic)
    assert symbolic == numeric, formula
    assert _evaluate(numeric) == out == int(result), formula


GEOMETRIES = list(itertools.product([5, 8], [1, 3, 4], [1, 2], [(0, 0), (1, 1), (0, 1), (2, 3)], [1, 2]))


@pytest.mark.parametrize("n,k,s,pads,d", GEOMETRIES)
def test_conv_formula_reads_as_its_numbers(n, k, s, pads, d):
    lo, hi = pads
    out = conv_out(n, k, s, lo, hi, d)
    for axis, (a, b) in (("H", ("pad_top", "pad_bottom")), ("W", ("pad_left", "pad_right"))):
        formula = conv_out_formula(axis, n, k, s, lo, hi, d)
        values = {f"{axis}_in": n, "k": k, "stride": s, "dilation": d}
        if lo == hi:
            values["padding"] = lo
        else:
            values.update({a: lo, b: hi})
        _check(formula, values, out)


def test_conv_formula_exact_text():
    """It read `H_in + padding` while the numbers put in were `5 + 2·1`."""
    assert conv_out_formula("H", 5, 3, 1, 1, 1, 1) == (
        "H_out = ⌊(H_in + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1 = ⌊(5 + 2·1 − 1·(3 − 1) − 1) / 1⌋ + 1 = 5")
    assert conv_out_formula("W", 4, 2, 1, 0, 1, 1) == (
        "W_out = ⌊(W_in + pad_left + pad_right − dilation·(k − 1) − 1) / stride⌋ + 1 = "
        "⌊(4 + 0 + 1 − 1·(2 − 1) − 1) / 1⌋ + 1 = 4")


@pytest.mark.parametrize("n,k,s,p,d", [(5, 2, 2, 0, 1), (7, 3, 2, 1, 1), (8, 3, 3, 1, 2), (4, 2, 1, 1, 1)])
def test_pool_formula_reads_as_its_numbers(n, k, s, p, d):
    formula = pool_out_formula("H", n, k, s, p, dilation=d)
    values = {"H_in": n, "k": k, "stride": s, "padding": p, "dilation": d}
    _check(formula, values, pool_out(n, k, s, p, d))


@pytest.mark.parametrize("n,k,s,p,op,d", [(2, 3, 2, 0, 0, 1), (4, 3, 2, 1, 1, 1), (3, 4, 2, 1, 0, 2)])
def test_tconv_formula_reads_as_its_numbers(n, k, s, p, op, d):
    formula = tconv_out_formula("H", n, k, s, p, op, d)
    values = {"H_in": n, "k": k, "stride": s, "padding": p, "output_padding": op, "dilation": d}
    _check(formula, values, tconv_out(n, k, s, p, op, d))


def test_conv_trace_prints_the_formula(cli):
    code, out, _ = cli("convolve", str(SAMPLES / "slide_5x5.csv"), "-k", "vertical-edge", "--padding", "1",
                       "--trace", "--max-steps", "1")
    assert code == 0
    assert ("  H_out = ⌊(H_in + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1 = "
            "⌊(5 + 2·1 − 1·(3 − 1) − 1) / 1⌋ + 1 = 5\n") in out


def test_pool_trace_counts_one_cell_in_the_singular(cli):
    code, out, _ = cli("pool", "--matrix", "1,2,3;4,5,6;7,8,9", "--mode", "avg", "--ceil-mode", "--trace")
    assert code == 0
    assert "(9) / 1 = 9  · the 2×2 window runs past the padded input (ceil_mode): only its 1 cell inside count" in out
    assert "(3 + 6) / 2 = 4.5  · the 2×2 window runs past the padded input (ceil_mode): only its 2 cells inside " \
           "count" in out
    assert "1 cells" not in out
