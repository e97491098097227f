"""Named kernels and kernel-spec parsing."""
from __future__ import annotations

import numpy as np
import pytest

from convcli.errors import ParameterError
from convcli.kernels import NAMED_KERNELS, gaussian_kernel, parse_kernel


def test_every_named_kernel_parses():
    for name in NAMED_KERNELS:
        k = parse_kernel(name)
        assert k.dtype == np.float32 and k.ndim == 2 and np.isfinite(k).all()


def test_known_values():
    np.testing.assert_array_equal(parse_kernel("vertical-edge"), [[1, 0, -1]] * 3)
    np.testing.assert_array_equal(parse_kernel("horizontal-edge"), [[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    np.testing.assert_array_equal(parse_kernel("sobel-x"), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(parse_kernel("sobel-y"), [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    np.testing.assert_array_equal(parse_kernel("scharr-x")[1], [-10, 0, 10])
    np.testing.assert_array_equal(parse_kernel("laplacian"), [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(parse_kernel("identity:5")[2], [0, 0, 1, 0, 0])
    np.testing.assert_allclose(parse_kernel("box:4"), np.full((4, 4), 1 / 16))
    assert parse_kernel("sharpen").sum() == 1 and parse_kernel("emboss").sum() == 1


def test_gaussian():
    g = parse_kernel("gaussian:7,1.5")
    assert g.shape == (7, 7)
    np.testing.assert_allclose(g.sum(), 1, rtol=1e-6)
    np.testing.assert_allclose(g, g.T)
    x = np.arange(7) - 3.0
    row = np.exp(-x ** 2 / (2 * 1.5 ** 2)); row /= row.sum()
    np.testing.assert_allclose(g, np.outer(row, row), rtol=1e-5)
    # default sigma: OpenCV's rule 0.3*((k-1)/2 - 1) + 0.8 = 1.1 for k = 5
    np.testing.assert_allclose(parse_kernel("gaussian"), gaussian_kernel(5, 1.1), rtol=1e-6)


def test_inline_forms():
    np.testing.assert_array_equal(parse_kernel("1,0,-1;1,0,-1"), [[1, 0, -1], [1, 0, -1]])
    np.testing.assert_array_equal(parse_kernel("1 0 -1; 2 0 -2"), [[1, 0, -1], [2, 0, -2]])
    np.testing.assert_array_equal(parse_kernel("0.5,-1e-1"), np.array([[0.5, -0.1]], np.float32))
    np.testing.assert_array_equal(parse_kernel("3"), [[3]])


def test_files(tmp_path):
    np.save(tmp_path / "k.npy", np.eye(3))
    np.testing.assert_array_equal(parse_kernel(str(tmp_path / "k.npy")), np.eye(3))
    (tmp_path / "k.csv").write_text("1,2\n3,4\n")
    np.testing.assert_array_equal(parse_kernel(str(tmp_path / "k.csv")), [[1, 2], [3, 4]])
    np.save(tmp_path / "w.npy", np.ones((2, 3, 3, 3)))
    assert parse_kernel(str(tmp_path / "w.npy")).shape == (2, 3, 3, 3)


@pytest.mark.parametrize("spec, message", [
    ("", "empty"), ("sobel", "unknown kernel"), ("1,2;3", "ragged"), ("1,nan", "not a number"),
    ("box:3,4", "at most 1"), ("gaussian:5,-1", "sigma must be a positive"), ("gaussian:4.5", "whole number"),
    ("identity:4", "must be odd"), ("box:5000", "larger than the limit"), ("missing.npy", "not found"),
    ("gaussian:abc", "not a number"),
])
def test_bad_specs(spec, message):
    with pytest.raises(ParameterError, match=message):
        parse_kernel(spec)


@pytest.mark.parametrize("arr, message", [
    (np.ones((2, 2, 2)), "2-D"), (np.zeros((0, 3)), "empty"), (np.array([[1, np.inf]]), "NaN or infinity"),
    (np.array([["a"]]), "real numbers"),
])
def test_bad_arrays(tmp_path, arr, message):
    with pytest.raises(ParameterError, match=message):
        parse_kernel(arr)
    np.save(tmp_path / "k.npy", arr)
    with pytest.raises(ParameterError):
        parse_kernel(str(tmp_path / "k.npy"))


def test_pickled_kernel_refused(tmp_path):
    np.save(tmp_path / "p.npy", np.array([None, 1], dtype=object), allow_pickle=True)
    with pytest.raises(ParameterError, match="pickled"):
        parse_kernel(str(tmp_path / "p.npy"))
