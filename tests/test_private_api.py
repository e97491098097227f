"""The two private-API workarounds (convcli/_private_api.py) run only on the library versions they
were checked for, and this file fails loudly when the installed Numba or Pillow leaves that range
or the private names they use are gone: then re-check them before widening the range."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from convcli import _numba_env, _private_api, imageio
from convcli._private_api import NUMBA_CHECKED, PILLOW_CHECKED, checked

RECHECK_NUMBA = ("re-check numba.core.caching.Cache.load_overload / _load_overload / "
                 "_guard_against_spurious_io_errors and numba.core.runtime.rtsys.initialize against "
                 "convcli/_numba_env.py, run tests/test_startup.py, then widen NUMBA_CHECKED in "
                 "convcli/_private_api.py")
RECHECK_PILLOW = ("re-check PIL.Image._getencoder(mode, 'raw', mode) and the raw encoder's setimage / "
                  "encode (bytes, status, data) / cleanup against convcli/imageio.py _eight_bit_pixels, run "
                  "tests/test_imageio.py, then widen PILLOW_CHECKED in convcli/_private_api.py")


def _span(bounds) -> str:
    (a, b), (c, d) = bounds
    return f"{a}.{b} to {c}.{d}"


def test_the_installed_numba_is_one_the_quick_cache_load_was_checked_for():
    import numba

    assert checked(numba.__version__, NUMBA_CHECKED), (
        f"Numba {numba.__version__} is outside the checked range {_span(NUMBA_CHECKED)}: convcli now loads its "
        f"kernels Numba's own (slower) way; {RECHECK_NUMBA}")


def test_numbas_private_cache_names_are_still_there_and_do_what_the_quick_path_skips():
    from numba.core import caching
    from numba.core.runtime import rtsys

    missing = [n for n in ("load_overload", "_load_overload", "_guard_against_spurious_io_errors")
               if not hasattr(caching.Cache, n)]
    assert not missing, f"numba.core.caching.Cache lost {missing}; {RECHECK_NUMBA}"
    assert callable(getattr(rtsys, "initialize", None)), f"rtsys.initialize is gone; {RECHECK_NUMBA}"
    original = getattr(caching.Cache.load_overload, "__wrapped__", caching.Cache.load_overload)
    source = inspect.getsource(original)
    for step in ("target_context.refresh()", "_guard_against_spurious_io_errors", "_load_overload(sig, target_context)"):
        assert step in source, f"Numba's Cache.load_overload no longer does {step!r}; {RECHECK_NUMBA}"
    params = list(inspect.signature(caching.Cache._load_overload).parameters)
    assert params == ["self", "sig", "target_context"], f"Cache._load_overload{params}; {RECHECK_NUMBA}"


def test_the_quick_cache_load_is_in_place_on_a_checked_numba():
    from numba.core import caching

    assert getattr(caching.Cache.load_overload, "convcli_quick", False)
    assert _numba_env.quick_loads() == _numba_env.fast_loads >= 0


def test_an_unchecked_numba_keeps_its_own_cache_loading(monkeypatch):
    import numba

    monkeypatch.setattr(numba, "__version__", "0.99.0")
    assert _numba_env.fast_cache_loads() is False
    monkeypatch.setattr(numba, "__version__", "0.58.1")
    assert _numba_env.fast_cache_loads() is False


def test_the_installed_pillow_is_one_the_raw_encoder_path_was_checked_for():
    import PIL

    assert checked(PIL.__version__, PILLOW_CHECKED), (
        f"Pillow {PIL.__version__} is outside the checked range {_span(PILLOW_CHECKED)}: convcli now reads "
        f"8-bit pixels through np.asarray (slower); {RECHECK_PILLOW}")


def test_pillows_raw_encoder_still_works_as_the_quick_path_expects():
    from PIL import Image

    assert callable(getattr(Image, "_getencoder", None)), f"PIL.Image._getencoder is gone; {RECHECK_PILLOW}"
    pixels = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    im = Image.fromarray(pixels)
    encoder = Image._getencoder(im.mode, "raw", im.mode)
    for name in ("setimage", "encode", "cleanup"):
        assert hasattr(encoder, name), f"the raw encoder has no {name}(); {RECHECK_PILLOW}"
    try:
        encoder.setimage(im.im, (0, 0, 7, 5))
        answer = encoder.encode(7 * 5 * 3)
    finally:
        encoder.cleanup()
    assert isinstance(answer, tuple) and len(answer) == 3, f"encode() returned {answer!r}; {RECHECK_PILLOW}"
    assert answer[1] == 1 and answer[2] == pixels.tobytes(), f"encode() returned {answer[:2]}; {RECHECK_PILLOW}"
    assert imageio._raw_encoder_checked()


def test_an_unchecked_pillow_reads_pixels_the_public_way(monkeypatch, rng):
    import PIL
    from PIL import Image

    def private(im):
        raise AssertionError("the raw-encoder path ran on an unchecked Pillow")

    pixels = rng.integers(0, 256, (6, 9, 4), dtype=np.uint8)
    im = Image.fromarray(pixels, "RGBA")
    monkeypatch.setattr(imageio, "_raw_encode", private)
    monkeypatch.setattr(PIL, "__version__", "99.1.0")
    assert not imageio._raw_encoder_checked()
    got = imageio._eight_bit_pixels(im)
    np.testing.assert_array_equal(got, pixels)
    assert got.dtype == np.uint8
    monkeypatch.setattr(PIL, "__version__", "9.5.0")
    np.testing.assert_array_equal(imageio._eight_bit_pixels(im), pixels)


def test_a_checked_pillow_takes_the_raw_encoder_path(monkeypatch, rng):
    calls = []
    real = imageio._raw_encode
    monkeypatch.setattr(imageio, "_raw_encode", lambda im: calls.append(im.mode) or real(im))
    from PIL import Image

    pixels = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(imageio._eight_bit_pixels(Image.fromarray(pixels)), pixels)
    assert calls == ["RGB"]


@pytest.mark.parametrize("version, bounds, inside", [
    ("0.68.1", ((0, 59), (0, 68)), True), ("0.59.0", ((0, 59), (0, 68)), True),
    ("0.69.0rc1", ((0, 59), (0, 68)), False), ("0.58.9", ((0, 59), (0, 68)), False),
    ("13.0.0.dev0", ((10, 0), (13, 0)), True), ("13.1.0", ((10, 0), (13, 0)), False),
    ("9.5.0", ((10, 0), (13, 0)), False), ("unknown", ((10, 0), (13, 0)), False),
])
def test_version_ranges_include_both_ends_by_major_and_minor(version, bounds, inside):
    assert _private_api.checked(version, bounds) is inside
