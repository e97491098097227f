"""A mistyped kernel name or padding word is named as such, with the likely meaning (#14)."""
from __future__ import annotations

import pytest

import convcli
from convcli.kernels import NAMED_KERNELS

M = "1,2,3;4,5,6;7,8,9"
LISTS = "(`convcli kernels` lists the names)"


@pytest.mark.parametrize("spec,message", [
    # used to say "kernel: row 1 has a value that is not a number: 'gausian:5'"
    ("gausian:5", f"unknown kernel 'gausian'; did you mean gaussian? {LISTS}"),
    ("gausian", f"unknown kernel 'gausian'; did you mean gaussian? {LISTS}"),
    ("sobel", f"unknown kernel 'sobel'; did you mean sobel-x / sobel-y? {LISTS}"),
    ("sobel:3", f"unknown kernel 'sobel'; did you mean sobel-x / sobel-y? {LISTS}"),
    ("edge", f"unknown kernel 'edge'; did you mean vertical-edge / horizontal-edge? {LISTS}"),
    ("laplace", f"unknown kernel 'laplace'; did you mean laplacian? {LISTS}"),
    ("qwerty", f"unknown kernel 'qwerty'; `convcli kernels` lists the names ({', '.join(NAMED_KERNELS)})"),
])
def test_unknown_kernel_names(cli, spec, message):
    code, out, err = cli("convolve", "--matrix", M, "-k", spec)
    assert (code, out, err) == (2, "", f"convcli: error: {message}\n")
    with pytest.raises(convcli.ParameterError) as info:
        convcli.parse_kernel(spec)
    assert str(info.value) == message


def test_inline_matrices_and_names_still_work(cli):
    code, out, _ = cli("convolve", "--matrix", M, "-k", "0,0;0,1")
    assert code == 0 and out.split()[-1] == "9"
    code, _, err = cli("convolve", "--matrix", M, "-k", "1,a")
    assert code == 2 and err == "convcli: error: kernel: row 1 has a value that is not a number: 'a'\n"
    assert convcli.parse_kernel("Sobel-X").tolist() == NAMED_KERNELS["sobel-x"].make().tolist()
    assert convcli.parse_kernel("gaussian:3").shape == (3, 3)


def test_kernels_command_and_chain_stage_hint(cli):
    code, _, err = cli("kernels", "sobel")
    assert code == 2 and "did you mean sobel-x / sobel-y?" in err
    code, _, err = cli("chain", "convolve -k gausian:5", "--matrix", M)
    assert code == 2 and "did you mean gaussian?" in err and err.count("\n") == 1


@pytest.mark.parametrize("given,hint", [("sam", " (did you mean same?)"), ("vaild", " (did you mean valid?)"),
                                        ("ful", " (did you mean full?)"), ("xyz", "")])
def test_padding_words(cli, given, hint):
    code, out, err = cli("convolve", "--matrix", M, "-k", "box", "--padding", given)
    assert (code, out) == (2, "")
    assert err == f"convcli: error: --padding must be valid, same, full, P or PY,PX, got {given!r}{hint}\n"


def test_padding_words_and_numbers_still_parse(cli):
    from convcli.cli.options import parse_padding
    assert parse_padding(" Same ") == "same" and parse_padding("full") == "full"
    assert parse_padding("2") == (2, 2) and parse_padding("1,2") == (1, 2)
    code, out, _ = cli("convolve", "--matrix", M, "-k", "box", "--padding", "same")
    assert code == 0 and "result 3×3" in out and out.split()[-4:] == ["2", "2.667", "4.333", "3.111"]
