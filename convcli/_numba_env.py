"""Make Numba's on-disk kernel cache usable before Numba is imported.

``@njit(cache=True)`` writes next to the package's ``__pycache__``. On a read-only install
(a system site-packages, a container image) that fails, so we point NUMBA_CACHE_DIR at a
per-user cache directory instead. A value set by the user always wins.
"""
from __future__ import annotations

import os
import tempfile


def _writable(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".convcli-probe-", delete=True)
        probe.close()
        return True
    except OSError:
        return False


def configure_numba_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    package_cache = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    if _writable(package_cache):
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for candidate in (os.path.join(base, "convcli", "numba"),
                      os.path.join(tempfile.gettempdir(), f"convcli-numba-{os.getuid()}")):
        if _writable(candidate):
            os.environ["NUMBA_CACHE_DIR"] = candidate
            return


configure_numba_cache()
