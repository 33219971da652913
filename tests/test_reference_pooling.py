"""The fast pooling code equals the readable loops in cnnblocks.reference, on random configurations.

The reference loops are themselves pinned to hand-computed values at the top of this file, so the
comparison is not circular.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from cnnblocks import functional as F
from cnnblocks import reference as R
from pooling_cases import pool_kwargs, random_case, tie_free

# --------------------------------------------------------------------------- the reference by hand


def test_reference_max_pool_hand_values() -> None:
    # d2l: [[0..8]] pooled 2x2 stride 1 -> [[4, 5], [7, 8]]; indices are the same flat positions
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    y, idx = R.max_pool(x, 2, 1)
    assert_array_equal(y[0, 0], [[4, 5], [7, 8]])
    assert_array_equal(idx[0, 0], [[4, 5], [7, 8]])


def test_reference_asymmetric_padding_by_hand() -> None:
    # 1x3 row [1, 5, 2], k=2, s=2, padding (left, right) = (1, 0): windows [pad, 1], [5, 2]
    x = np.array([[[1.0, 5.0, 2.0]]])
    y, idx = R.max_pool(x, (2,), (2,), (1, 0))
    assert_array_equal(y, [[[1.0, 5.0]]])
    assert_array_equal(idx, [[[0, 1]]])
    # average with count_include_pad: (0 + 1)/2, (5 + 2)/2; without: 1/1, 7/2
    assert_allclose(R.avg_pool(x, (2,), (2,), (1, 0)), [[[0.5, 3.5]]])
    assert_allclose(R.avg_pool(x, (2,), (2,), (1, 0), count_include_pad=False), [[[1.0, 3.5]]])


def test_reference_backward_by_hand() -> None:
    x = np.array([[[1.0, 3.0, 2.0, 0.0]]])
    assert_array_equal(R.max_pool_backward(np.ones((1, 1, 3)), x, 2, 1), [[[0, 2, 1, 0]]])
    g = R.avg_pool_backward(np.array([[[3.0, 6.0]]]), (1, 1, 4), 2)
    assert_allclose(g, [[[1.5, 1.5, 3.0, 3.0]]])


def test_reference_adaptive_by_hand() -> None:
    x = np.arange(10.0).reshape(1, 1, 10)
    y, idx = R.adaptive_max_pool(x, (4,))
    # bins [0,3) [2,5) [5,8) [7,10)
    assert_array_equal(y, [[[2, 4, 7, 9]]])
    assert_array_equal(idx, [[[2, 4, 7, 9]]])
    assert_allclose(R.adaptive_avg_pool(x, (4,)), [[[1, 3, 6, 8]]])


# --------------------------------------------------------------------------- fast == reference

CASES = [random_case(np.random.default_rng(seed)) for seed in range(40)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['shape']}-k{c['kernel_size']}")
def test_max_pool_matches_reference(case: dict) -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, case["shape"]).astype(np.float64)  # many ties on purpose
    y, idx = F.max_pool(x, **pool_kwargs(case), return_indices=True)
    y_ref, idx_ref = R.max_pool(x, **pool_kwargs(case))
    assert_array_equal(y, y_ref)
    assert_array_equal(idx, idx_ref)
    grad_y = rng.standard_normal(y.shape)
    _, ctx = F.max_pool_forward(x, **pool_kwargs(case))
    assert_allclose(F.max_pool_backward(grad_y, ctx),
                    R.max_pool_backward(grad_y, x, **pool_kwargs(case)), atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['shape']}-k{c['kernel_size']}")
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_matches_reference(case: dict, count_include_pad: bool) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal(case["shape"])
    kw = pool_kwargs(case)
    y, ctx = F.avg_pool_forward(x, **kw, count_include_pad=count_include_pad)
    assert_allclose(y, R.avg_pool(x, **kw, count_include_pad=count_include_pad), atol=1e-12)
    grad_y = rng.standard_normal(y.shape)
    assert_allclose(
        F.avg_pool_backward(grad_y, ctx),
        R.avg_pool_backward(grad_y, x.shape, **kw, count_include_pad=count_include_pad),
        atol=1e-12,
    )


@pytest.mark.parametrize("case", CASES[:10], ids=lambda c: f"{c['shape']}-k{c['kernel_size']}")
def test_avg_pool_divisor_override_matches_reference(case: dict) -> None:
    x = np.random.default_rng(3).standard_normal(case["shape"])
    kw = pool_kwargs(case)
    assert_allclose(F.avg_pool(x, **kw, divisor_override=3),
                    R.avg_pool(x, **kw, divisor_override=3), atol=1e-12)


@pytest.mark.parametrize("case", CASES[:15], ids=lambda c: f"{c['shape']}-k{c['kernel_size']}")
@pytest.mark.parametrize("p", [1, 2, 3.5])
def test_lp_pool_matches_reference(case: dict, p: float) -> None:
    x = np.random.default_rng(4).standard_normal(case["shape"])
    kw = pool_kwargs(case)
    assert_allclose(F.lp_pool(x, p, **kw), R.lp_pool(x, p, **kw), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("spatial", "out"),
    [((10,), (4,)), ((3,), (5,)), ((7, 5), (3, 2)), ((4, 6), (4, 4)), ((5, 4, 3), (2, 3, 2)),
     ((6, 6), (6, 6)), ((2, 9), (3, 4))],
)
def test_adaptive_matches_reference(spatial: tuple[int, ...], out: tuple[int, ...]) -> None:
    rng = np.random.default_rng(5)
    shape = (2, 3, *spatial)
    x = rng.integers(-2, 3, shape).astype(np.float64)  # ties
    x.reshape(-1)[::7] = np.nan  # and NaNs: the last NaN of a bin wins, as PyTorch
    y, idx = F.adaptive_max_pool(x, out, return_indices=True)
    y_ref, idx_ref = R.adaptive_max_pool(x, out)
    assert_array_equal(y, y_ref)
    assert_array_equal(idx, idx_ref)
    z = rng.standard_normal(shape)
    assert_allclose(F.adaptive_avg_pool(z, out), R.adaptive_avg_pool(z, out), atol=1e-12)


def test_max_pool_nan_matches_reference() -> None:
    rng = np.random.default_rng(6)
    for seed in range(10):
        case = random_case(np.random.default_rng(100 + seed))
        x = tie_free(rng, case["shape"])
        x.reshape(-1)[rng.integers(0, x.size, 3)] = np.nan
        y, idx = F.max_pool(x, **pool_kwargs(case), return_indices=True)
        y_ref, idx_ref = R.max_pool(x, **pool_kwargs(case))
        assert_array_equal(y, y_ref)
        assert_array_equal(idx, idx_ref)
