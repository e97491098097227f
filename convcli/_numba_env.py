"""Make Numba's on-disk kernel cache usable, and quick to load, before any kernel is defined.

``@njit(cache=True)`` writes next to the package's ``__pycache__``. On a read-only install
(a system site-packages, a container image) that fails, so we point NUMBA_CACHE_DIR at a
per-user cache directory instead. A value set by the user always wins.

Loading a cached kernel makes Numba first "refresh" its compiler: it imports and registers every
typing and lowering module it has (linear algebra, random, typed containers, ...), about 0.45 s
of a 1.5 s run here, though a cached kernel needs none of it, only the runtime (NRT) its
allocations call into. ``fast_cache_loads`` skips that refresh for cache *loads*; a kernel that
must be compiled still gets the full refresh from Numba's compiler. Any failure on the quick
path falls back to Numba's own load. CONVCLI_NUMBA_FAST_LOAD=0 turns it off; a Numba outside the
versions it was checked for (convcli/_private_api.py) never gets it.
"""
from __future__ import annotations

import os
import sys
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


def fast_cache_loads() -> bool:
    """Load cached kernels without Numba's full compiler refresh; True if the quick path is in place.

    It replaces a private method of Numba's (``Cache.load_overload``), so it is installed only on
    the Numba versions it was checked for (``convcli._private_api.NUMBA_CHECKED``) and only when the
    private names it calls are there; anywhere else Numba loads its cache its own way.
    """
    if os.environ.get("CONVCLI_NUMBA_FAST_LOAD", "1") == "0":
        return False
    import numba
    from numba.core import caching

    from ._private_api import NUMBA_CHECKED, checked

    if not checked(numba.__version__, NUMBA_CHECKED):
        return False      # a Numba nobody has checked the quick path against: leave it alone
    cache_class = caching.Cache
    if getattr(cache_class.load_overload, "convcli_quick", False):
        return True
    if not all(hasattr(cache_class, name) for name in ("_load_overload", "_guard_against_spurious_io_errors")):
        return False      # a Numba whose cache is laid out differently: leave it alone
    cache_class.load_overload = _quick_load(cache_class.load_overload)
    return True


def _quick_load(full_load):
    """``Cache.load_overload`` without ``target_context.refresh()`` for a kernel found in the cache;
    anything else (not cached, any failure) goes to Numba's own ``full_load``. The wrapper counts
    its quick loads in ``convcli_loads``: it is installed into Numba's class, process-wide by
    Numba's design, and the count lives with it rather than in a global of convcli's."""
    from numba.core.runtime import rtsys

    def load_overload(self, sig, target_context):
        try:
            rtsys.initialize(target_context)      # the runtime the kernels' allocations call
            with self._guard_against_spurious_io_errors():
                result = self._load_overload(sig, target_context)
        except Exception:
            result = None
        if result is None:       # not cached, or the quick path failed: Numba's own way
            return full_load(self, sig, target_context)
        load_overload.convcli_loads += 1
        return result

    load_overload.convcli_quick = True
    load_overload.convcli_loads = 0
    load_overload.__wrapped__ = full_load
    return load_overload


def quick_loads() -> int:
    """How many kernels came from the cache by the quick path in this process (the tests check
    that it is taken)."""
    caching = sys.modules.get("numba.core.caching")
    if caching is None:
        return 0
    return getattr(caching.Cache.load_overload, "convcli_loads", 0)


def __getattr__(name: str):
    if name == "fast_loads":          # the count by its older name
        return quick_loads()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


configure_numba_cache()
fast_cache_loads()
