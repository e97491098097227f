"""The sample images and matrices shipped inside the package (``convcli/sample_images``).

In a source checkout ``convcli/sample_images`` is a symlink to the top-level ``sample_images/``
(the README's examples use that path); an installed package holds the files themselves, so
``convcli tour`` and ``convcli sample`` work without a checkout.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from .errors import InputError, ParameterError

# what each file is for; the shapes are read from the files themselves (see describe())
PURPOSES = {
    "slide_5x5.csv": "the slides' convolution example (columns 50 50 0 0 0)",
    "slide_pool_4x4.csv": "the slides' pooling example",
    "slide_upsample_2x2.csv": "the slides' upsampling example",
    "gray.png": "a grayscale photo (a cameraman)",
    "rgb.jpg": "a colour photo (a cat)",
    "alpha.png": "a logo on a transparent background",
    "gray16.png": "a 16-bit grayscale portrait",
}
DATA_SUFFIXES = (".csv", ".png", ".jpg")


def samples_dir() -> Path:
    """The directory holding the sample files (a real path: the package is installed unzipped)."""
    folder = resources.files("convcli") / "sample_images"
    path = Path(os.fspath(folder)) if isinstance(folder, os.PathLike) else None
    if path is None or not (path / "slide_5x5.csv").is_file():
        raise InputError("the sample images are missing from this convcli installation "
                         "(reinstall it: pip install --force-reinstall convcli)")
    return path.resolve()


def names() -> list[str]:
    """The sample files, slides' matrices first, then the images, each group sorted."""
    found = [p.name for p in samples_dir().iterdir() if p.is_file() and p.suffix in DATA_SUFFIXES]
    return sorted(found, key=lambda n: (not n.startswith("slide_"), n))


def path_of(name: str) -> Path:
    """The path of sample ``name`` (its file name, or its name without the extension)."""
    available = names()
    key = name.strip()
    hits = [n for n in available if n == key] or [n for n in available if os.path.splitext(n)[0] == key]
    if len(hits) != 1:
        raise ParameterError(f"unknown sample {name!r}; the samples are {', '.join(available)}")
    return samples_dir() / hits[0]


def describe(name: str) -> str:
    """``5×5 matrix``, ``512×512 pixels, mode L`` ...: the size as the loader sees it, and the purpose."""
    from .imageio import load_input

    loaded = load_input(str(path_of(name)))
    h, w = loaded.raw.shape[:2]
    if loaded.kind == "matrix":
        shape = f"{h}×{w} matrix"
    else:     # width × height, as image sizes are usually given
        shape = f"{w}×{h} pixels, mode {loaded.original_mode or loaded.mode}"
    purpose = PURPOSES.get(name)
    return f"{shape}, {purpose}" if purpose else shape
