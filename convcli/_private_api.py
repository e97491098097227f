"""The library versions convcli's two private-API workarounds were written and checked for.

Two speed-ups reach into a library's private names:

* :func:`convcli._numba_env.fast_cache_loads` replaces ``numba.core.caching.Cache.load_overload``
  (it calls ``Cache._load_overload`` under ``Cache._guard_against_spurious_io_errors`` and
  ``numba.core.runtime.rtsys.initialize``, skipping ``target_context.refresh()``);
* :func:`convcli.imageio._eight_bit_pixels` uses ``PIL.Image._getencoder(mode, "raw", mode)`` and
  the encoder's ``setimage`` / ``encode`` (which returns ``(bytes, status, data)``, status 1 when
  the whole image is out) / ``cleanup``.

Each runs only on the versions below; anywhere else convcli takes the plain public path (Numba's
own cache loading, ``np.asarray(image)``), which computes the same values, only slower.
``tests/test_private_api.py`` fails, saying what to re-check, when the installed library is
outside its range or the private names are gone.

How the ranges were checked: Numba's ``Cache.load_overload``, ``_load_overload`` and
``_guard_against_spurious_io_errors`` read the same in 0.59.0 (convcli's oldest supported Numba)
through 0.68.1; the quick path is run and compared with Numba's own path by tests/test_startup.py
on 0.68.1. Pillow's ``_getencoder`` and the raw encoder's methods read the same in 10.0.0 (the
oldest supported Pillow) through 12.3.0; tests/test_imageio.py runs the path on 13.0.0.
To widen a range: re-read those names in the new release, run tests/test_startup.py and
tests/test_imageio.py on it, then raise the bound here.
"""
from __future__ import annotations

import re

# No library is imported here (Pillow belongs to imageio.py alone): callers pass the version string.

# (oldest, newest) as (major, minor), both ends included
NUMBA_CHECKED = ((0, 59), (0, 68))
PILLOW_CHECKED = ((10, 0), (13, 0))


def major_minor(version: str) -> tuple[int, int] | None:
    """(major, minor) of a version string such as "0.68.1" or "13.0.0.dev0"; None if it has none."""
    found = re.match(r"\s*(\d+)\.(\d+)", str(version))
    return (int(found.group(1)), int(found.group(2))) if found else None


def checked(version: str, bounds: tuple[tuple[int, int], tuple[int, int]]) -> bool:
    """Whether ``version`` lies in the checked ``bounds`` (both ends included)."""
    mm = major_minor(version)
    return mm is not None and bounds[0] <= mm <= bounds[1]
