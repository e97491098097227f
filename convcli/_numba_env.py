"""Make Numba's on-disk kernel cache usable, and quick to load, before any kernel is defined.

``@njit(cache=True)`` writes next to the package's ``__pycache__``. On a read-only install
(a system site-packages, a container image) that fails, so we point NUMBA_CACHE_DIR at a
per-user cache directory instead. A value set by the user always wins.

Loading a cached kernel makes Numba first "refresh" its compiler: it imports and registers every
typing and lowering module it has (linear algebra, random, typed containers, ...), about 0.45 s
of a 1.5 s run here, though a cached kernel needs none of it, only the runtime (NRT) its
allocations call into. ``fast_cache_loads`` skips that refresh for cache *loads*; a kernel that
must be compiled still gets the full refresh from Numba's compiler. Any failure on the quick
path falls back to Numba's own load. CONVCLI_NUMBA_FAST_LOAD=0 turns it off.
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


# how many kernels came from the cache by the quick path (the tests check that it is taken)
fast_loads = 0


def fast_cache_loads() -> bool:
    """Load cached kernels without Numba's full compiler refresh; True if the quick path is in place."""
    if os.environ.get("CONVCLI_NUMBA_FAST_LOAD", "1") == "0":
        return False
    from numba.core import caching
    from numba.core.runtime import rtsys

    cache_class = caching.Cache
    full_load = cache_class.load_overload
    if getattr(full_load, "convcli_quick", False):
        return True
    if not all(hasattr(cache_class, name) for name in ("_load_overload", "_guard_against_spurious_io_errors")):
        return False      # a Numba whose cache is laid out differently: leave it alone

    def load_overload(self, sig, target_context):
        global fast_loads
        try:
            rtsys.initialize(target_context)      # the runtime the kernels' allocations call
            with self._guard_against_spurious_io_errors():
                result = self._load_overload(sig, target_context)
        except Exception:
            result = None
        if result is None:       # not cached, or the quick path failed: Numba's own way
            return full_load(self, sig, target_context)
        fast_loads += 1
        return result

    load_overload.convcli_quick = True
    cache_class.load_overload = load_overload
    return True


configure_numba_cache()
fast_cache_loads()
