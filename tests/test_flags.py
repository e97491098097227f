"""Every command's flags mean one thing, and Click's usage errors print as one plain line.

The commands are enumerated from the Typer app itself (Click's command objects), so a subcommand
added later is checked too.
"""
from __future__ import annotations

import pytest
import typer

from convcli.cli import app

ROOT = typer.main.get_command(app)


def _commands(cmd=ROOT, path=("convcli",)):
    yield " ".join(path), cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from _commands(sub, path + (name,))


COMMANDS = dict(_commands())
SUBCOMMANDS = {path.split(" ", 1)[1]: cmd for path, cmd in COMMANDS.items() if " " in path}


def _options(cmd):
    return [p for p in cmd.params if p.param_type_name == "option"]


def test_every_command_is_enumerated():
    expected = {"convolve", "pool", "upsample", "tconv", "activate", "bnorm-stats", "chain", "shape", "tour",
                "kernels", "sample"}
    assert expected <= set(SUBCOMMANDS), expected - set(SUBCOMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_no_flag_has_two_meanings(path):
    owners: dict[str, list[str]] = {}
    for p in _options(COMMANDS[path]):
        for flag in list(p.opts) + list(p.secondary_opts):
            owners.setdefault(flag, []).append(p.name)
    shared = {flag: names for flag, names in owners.items() if len(names) > 1}
    assert not shared, f"{path}: flags given to more than one option: {shared}"


def test_activate_short_f_is_format_only(cli):
    """-f used to be both --fn and --format: `-f relu` then failed with a message full of tabs."""
    cmd = SUBCOMMANDS["activate"]
    by_flag = {flag: p.name for p in _options(cmd) for flag in p.opts}
    assert by_flag["-f"] == "fmt" and by_flag["--fn"] == "fn"
    code, out, err = cli("activate", "--matrix", "-1,2", "--fn", "relu")
    assert code == 0 and "2" in out
    code, out, err = cli("activate", "--matrix", "-1,2", "-f", "relu")
    assert code == 2
    assert err == ("convcli: error: Missing option '--fn'. Choose from: relu, leaky-relu, sigmoid, tanh, elu, "
                   "gelu, silu, softplus (see: convcli activate --help)\n")


def _one_plain_line(err: str) -> None:
    assert err.startswith("convcli: error: ") and err.endswith("\n")
    body = err[:-1]
    assert "\n" not in body and "\t" not in body
    assert "\\t" not in body and "\\n" not in body, body     # no escaped control characters either
    assert "  " not in body, body


def _choice_options():
    for name, cmd in sorted(SUBCOMMANDS.items()):
        for p in _options(cmd):
            if hasattr(p.type, "choices"):
                yield name, p.opts[0]


@pytest.mark.parametrize("command,flag", list(_choice_options()))
def test_bad_choice_is_one_line(cli, command, flag):
    code, _, err = cli(command, flag, "no-such-choice")
    assert code == 2
    _one_plain_line(err)
    assert "no-such-choice" in err


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_unknown_option_is_one_line(cli, command):
    code, _, err = cli(command, "--no-such-option")
    assert code == 2
    _one_plain_line(err)
    assert "--no-such-option" in err


@pytest.mark.parametrize("argv", [
    ("activate", "--matrix", "1,2"),                                  # missing --fn, whose help lists choices
    ("chain", "activate", "--matrix", "1,2"),                           # the same inside a chain stage
    ("chain", "activate --fn nope", "--matrix", "1,2"),
    ("pool", "--matrix", "1,2", "--mode"),                              # option without its value
    ("convolve", "--matrix", "1,2", "-k", "box", "--stride", "x"),
])
def test_usage_errors_are_one_line(cli, argv):
    code, _, err = cli(*argv)
    assert code == 2
    _one_plain_line(err)
