"""convcli.batch_norm against the plain-Python reference and torch.nn.BatchNorm2d's golden numbers."""
from __future__ import annotations

import numpy as np
import pytest

import convcli
from convcli.errors import InputError, ParameterError
from golden.make_golden import load
from reference import batch_norm_reference

TOL = dict(rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------- PyTorch (golden)

@pytest.mark.parametrize("case", [c for c in load("batchnorm") if c["kind"] == "train"],
                         ids=lambda c: f"bs{c['batch_size']}-m{c['momentum']}")
def test_training_over_minibatches_matches_torch(case):
    x = case["x"]
    y, stats = convcli.batch_norm(x, eps=case["eps"], momentum=case["momentum"], gamma=case["gamma"],
                                  beta=case["beta"], batch_size=case["batch_size"])
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, case["y"], **TOL)
    assert len(stats.batches) == len(case["running_mean"])
    for b, rm, rv in zip(stats.batches, case["running_mean"], case["running_var"]):
        np.testing.assert_allclose(b.running_mean, rm, **TOL)
        np.testing.assert_allclose(b.running_var, rv, **TOL)
    np.testing.assert_allclose(stats.running_mean, case["running_mean"][-1], **TOL)
    np.testing.assert_allclose(stats.running_var, case["running_var"][-1], **TOL)
    # evaluation with the running statistics training left
    y_eval, eval_stats = convcli.batch_norm(case["x_eval"], eps=case["eps"], gamma=case["gamma"], beta=case["beta"],
                                            running_mean=stats.running_mean, running_var=stats.running_var,
                                            training=False)
    np.testing.assert_allclose(y_eval, case["y_eval"], **TOL)
    np.testing.assert_array_equal(eval_stats.running_mean, stats.running_mean)


def test_heterogeneous_sizes_match_torch():
    case = [c for c in load("batchnorm") if c["kind"] == "hetero"][0]
    images = [case[f"x{i}"] for i in range(len(case["sizes"]))]
    ys, stats = convcli.batch_norm(images)
    assert isinstance(ys, list) and [y.shape[:2] for y in ys] == [tuple(s) for s in case["sizes"]]
    np.testing.assert_allclose(np.concatenate([y.reshape(-1, 3) for y in ys]), case["y"], **TOL)
    np.testing.assert_allclose(stats.running_mean, case["running_mean"], **TOL)
    np.testing.assert_allclose(stats.running_var, case["running_var"], **TOL)
    assert stats.count == sum(h * w for h, w in case["sizes"])


# ------------------------------------------------------------------------- property: vs reference

@pytest.mark.parametrize("seed", range(25))
def test_matches_reference(seed):
    rng = np.random.default_rng(300 + seed)
    c = int(rng.integers(1, 4))
    n = int(rng.integers(1, 7))
    hetero = seed % 2 == 0
    images = [(rng.standard_normal((int(rng.integers(1, 6)) if hetero else 3, int(rng.integers(2, 6)) if hetero else 4, c))
               * rng.uniform(0.1, 50) + rng.uniform(-20, 20)).astype(np.float32) for _ in range(n)]
    momentum = [0.1, None, 0.0, 1.0, 0.37][seed % 5]
    eps = [1e-5, 1e-3, 0.5][seed % 3]
    bs = [None, 1, 2, 3][seed % 4]
    if bs == 1 and any(im.shape[0] * im.shape[1] < 2 for im in images):
        bs = None
    gamma = rng.uniform(-2, 2, c) if seed % 3 else None
    beta = rng.uniform(-2, 2, c) if seed % 3 else None
    start_rm = rng.uniform(-1, 1, c) if seed % 7 == 0 else None
    kwargs = dict(eps=eps, momentum=momentum, gamma=gamma, beta=beta, batch_size=bs, running_mean=start_rm)
    ys, stats = convcli.batch_norm(images, **kwargs)
    ref_y, ref = batch_norm_reference(images, **kwargs)
    for y, r in zip(ys, ref_y):
        np.testing.assert_allclose(y, r, rtol=1e-5, atol=1e-5)
    for key in ("mean", "var", "running_mean", "running_var"):
        np.testing.assert_allclose(getattr(stats, key), ref[key], rtol=1e-6, atol=1e-6 * max(1, np.abs(ref[key]).max()))
    assert stats.count == ref["count"]
    for b, rb in zip(stats.batches, ref["batches"], strict=True):
        assert b.count == rb["count"]
        for key in ("mean", "var", "var_unbiased", "running_mean", "running_var"):
            np.testing.assert_allclose(getattr(b, key), rb[key], rtol=1e-6, atol=1e-6 * max(1, np.abs(rb[key]).max()))


@pytest.mark.parametrize("seed", range(6))
def test_eval_matches_reference(seed):
    rng = np.random.default_rng(900 + seed)
    c = 1 + seed % 3
    images = [rng.standard_normal((3, 2 + seed, c)).astype(np.float32) * 4 for _ in range(3)]
    rm, rv = rng.uniform(-1, 1, c), rng.uniform(0.1, 3, c)
    ys, stats = convcli.batch_norm(images, running_mean=rm, running_var=rv, training=False, gamma=2.0, beta=-1.0)
    ref_y, _ = batch_norm_reference(images, running_mean=rm, running_var=rv, training=False,
                                    gamma=[2.0] * c, beta=[-1.0] * c)
    for y, r in zip(ys, ref_y):
        np.testing.assert_allclose(y, r, rtol=1e-5, atol=1e-5)
    assert stats.num_batches_tracked == 0 and not stats.training


def test_slide_formula_small_example():
    # two 1×2 inputs, one channel: μ = 4, σ² = 5, unbiased 20/3; running after one step of 0.1
    out, stats = convcli.batch_norm(np.array([[[1.0, 3.0]], [[5.0, 7.0]]]))
    assert out.shape == (2, 1, 2)
    np.testing.assert_allclose(out.ravel(), (np.array([1, 3, 5, 7]) - 4) / np.sqrt(5 + 1e-5), rtol=1e-6)
    assert stats.mean.tolist() == [4.0] and stats.var.tolist() == [5.0]
    np.testing.assert_allclose(stats.var_unbiased, [20 / 3])
    np.testing.assert_allclose(stats.running_mean, [0.4])
    np.testing.assert_allclose(stats.running_var, [0.9 + 0.1 * 20 / 3])


def test_accuracy_with_a_large_offset():
    # float64 two-pass sums: a big constant offset must not swamp a small variance
    rng = np.random.default_rng(7)
    x = (1000.0 + rng.standard_normal((4, 64, 64, 1))).astype(np.float32)
    _, stats = convcli.batch_norm(x)
    ref = x.astype(np.float64)
    np.testing.assert_allclose(stats.var, [ref.var()], rtol=1e-9)
    np.testing.assert_allclose(stats.mean, [ref.mean()], rtol=1e-12)


def test_stats_as_dict_is_json_ready():
    import json

    _, stats = convcli.batch_norm(np.arange(24, dtype=np.float32).reshape(2, 3, 4), batch_size=1, momentum=None)
    doc = json.loads(json.dumps(stats.as_dict()))
    assert doc["channels"] == 1 and doc["count"] == 24 and len(doc["batches"]) == 2
    assert doc["batches"][1]["momentum"] == 0.5 and doc["momentum"] is None


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(eps=0), ParameterError, "eps"),
    (dict(momentum=1.5), ParameterError, "momentum"),
    (dict(batch_size=0), ParameterError, "batch_size"),
    (dict(gamma=[1, 2]), ParameterError, "gamma has 2 values"),
    (dict(running_var=[-1]), ParameterError, "running_var"),
])
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        convcli.batch_norm(np.ones((2, 2, 2)), **kwargs)


def test_bad_batches():
    with pytest.raises(InputError, match="empty"):
        convcli.batch_norm([])
    with pytest.raises(InputError, match="same number of channels"):
        convcli.batch_norm([np.ones((2, 2, 3)), np.ones((2, 2))])
    with pytest.raises(InputError, match="more than one"):
        convcli.batch_norm(np.ones((2, 1, 1)), batch_size=1)
    with pytest.raises(InputError, match="shape"):
        convcli.batch_norm(np.ones((2, 2)))
