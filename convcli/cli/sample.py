"""``convcli sample``: copy one of the bundled sample images or matrices to a file, or list them.

The samples ship inside the package, so the README's examples and `convcli tour` work after a
plain ``pip install`` without a source checkout.
"""
from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from .. import samples
from ..errors import OutputError, ParameterError
from .application import app
from .options import ColorOpt, DebugOpt

TEXT_SUFFIXES = (".csv",)


@app.command(epilog="Examples:  convcli sample  ·  convcli sample slide_5x5.csv  ·  "
                    "convcli sample gray.png -o /tmp/gray.png  ·  convcli sample slide_5x5 -o - | head -2")
def sample(
    name: Annotated[Optional[str], typer.Argument(
        metavar="[NAME]", show_default=False,
        help="The sample to copy, by file name (slide_5x5.csv) or without its extension (slide_5x5). "
             "Without NAME: list the samples.")] = None,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help="Where to write it (default: NAME in the current directory; a directory: NAME inside it; "
             "- for stdout). The bytes are exactly the bundled file's; an existing file is replaced.")] = None,
    debug: DebugOpt = False,
    color: ColorOpt = None,
) -> None:
    """Copy a bundled sample image or matrix (the ones the README and `convcli tour` use) to a file,
    or, without NAME, list them with their sizes."""
    from ..imageio import write_atomic

    if name is None:
        if output is not None:
            raise ParameterError("-o needs a NAME: `convcli sample` lists them")
        for sample_name in samples.names():
            typer.echo(f"{sample_name:<24} {samples.describe(sample_name)}")
        return
    source = samples.path_of(name)
    payload = source.read_bytes()
    if output == "-":
        if sys.stdout.isatty() and source.suffix not in TEXT_SUFFIXES:
            raise ParameterError("refusing to write image data to a terminal; redirect stdout (-o - > file)")
        sys.stdout.flush()
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
        return
    target = output if output is not None else source.name
    if os.path.isdir(target):
        target = os.path.join(target, source.name)
    if os.path.exists(target) and os.path.samefile(target, source):
        raise OutputError(f"{target}: is the bundled sample itself; choose another name")
    write_atomic(target, payload, inputs=(str(source),))
    sys.stderr.write(f"convcli: wrote {target} ({len(payload):,} bytes)\n")
