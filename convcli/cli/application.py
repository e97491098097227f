"""The Typer application every command registers on. It imports nothing of the commands, so a
command module and the entry point (``convcli.cli.main``) can both import it without a cycle."""
from __future__ import annotations

import typer

from .._version import __version__
from .options import ColorOpt, DebugOpt

app = typer.Typer(
    name="convcli",
    help="Run images and small matrices through the building blocks of convolutional networks, "
         "and see, step by step, how every output number is computed.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"convcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    debug: DebugOpt = False,
    color: ColorOpt = None,
) -> None:
    """convcli: convolution, pooling, upsampling, transposed convolution, activations, batch norm."""
