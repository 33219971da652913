"""Properties of pooling that must hold for every configuration (Hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from cnnblocks import functional as F
from cnnblocks import reference as R
from pooling_cases import pool_cases, pool_kwargs

SMALL = settings(max_examples=40)


def _data(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


@SMALL
@given(pool_cases(), st.integers(0, 2**16), st.floats(-3, 3), st.floats(-3, 3),
       st.booleans())
def test_avg_pool_is_linear(case: dict, seed: int, a: float, b: float, cip: bool) -> None:
    x, z = _data(seed, case["shape"]), _data(seed + 1, case["shape"])
    kw = pool_kwargs(case)
    left = F.avg_pool(a * x + b * z, **kw, count_include_pad=cip)
    right = a * F.avg_pool(x, **kw, count_include_pad=cip) + b * F.avg_pool(
        z, **kw, count_include_pad=cip)
    assert_allclose(left, right, rtol=1e-10, atol=1e-10)


@SMALL
@given(pool_cases(), st.integers(0, 2**16))
def test_max_pool_commutes_with_increasing_maps(case: dict, seed: int) -> None:
    # integer-valued data: ties abound, and 2x + 1 is exact
    x = np.random.default_rng(seed).integers(-5, 6, case["shape"]).astype(np.float64)
    kw = pool_kwargs(case)
    y, idx = F.max_pool(x, **kw, return_indices=True)
    for f in (lambda v: 2 * v + 1, np.exp, np.arctan):
        fy, fidx = F.max_pool(f(x), **kw, return_indices=True)
        assert_array_equal(fy, f(y))
        assert_array_equal(fidx, idx)  # the same cell wins, ties included


@SMALL
@given(pool_cases(), st.integers(0, 2**16))
def test_fast_equals_reference(case: dict, seed: int) -> None:
    x = np.random.default_rng(seed).integers(-3, 4, case["shape"]).astype(np.float64)
    kw = pool_kwargs(case)
    y, idx = F.max_pool(x, **kw, return_indices=True)
    y_ref, idx_ref = R.max_pool(x, **kw)
    assert_array_equal(y, y_ref)
    assert_array_equal(idx, idx_ref)
    for cip in (True, False):
        assert_allclose(F.avg_pool(x, **kw, count_include_pad=cip),
                        R.avg_pool(x, **kw, count_include_pad=cip), atol=1e-12)


@SMALL
@given(pool_cases(), st.integers(0, 2**16))
def test_channels_last_is_the_transpose(case: dict, seed: int) -> None:
    x = _data(seed, case["shape"])
    x_last = np.moveaxis(x, 1, -1)
    kw = pool_kwargs(case)
    y, idx = F.max_pool(x, **kw, return_indices=True)
    y_last, idx_last = F.max_pool(x_last, **kw, return_indices=True, data_format="NHWC")
    assert_array_equal(np.moveaxis(y_last, -1, 1), y)
    assert_array_equal(np.moveaxis(idx_last, -1, 1), idx)
    assert_allclose(np.moveaxis(F.avg_pool(x_last, **kw, data_format="NHWC"), -1, 1),
                    F.avg_pool(x, **kw), atol=1e-12)
    g = _data(seed + 2, y.shape)
    _, ctx = F.max_pool_forward(x, **kw)
    _, ctx_last = F.max_pool_forward(x_last, **kw, data_format="NHWC")
    assert_array_equal(np.moveaxis(ctx_last.backward(np.moveaxis(g, 1, -1)), -1, 1),
                       ctx.backward(g))
    _, ctx = F.avg_pool_forward(x, **kw)
    _, ctx_last = F.avg_pool_forward(x_last, **kw, data_format="NHWC")
    assert_allclose(np.moveaxis(ctx_last.backward(np.moveaxis(g, 1, -1)), -1, 1),
                    ctx.backward(g), atol=1e-12)


@SMALL
@given(pool_cases(), st.integers(0, 2**16))
def test_max_backward_conserves_gradient_mass(case: dict, seed: int) -> None:
    # every output gradient lands on exactly one input cell
    x = _data(seed, case["shape"])
    y, ctx = F.max_pool_forward(x, **pool_kwargs(case))
    g = _data(seed + 3, y.shape)
    assert_allclose(ctx.backward(g).sum(), g.sum(), atol=1e-9)


@SMALL
@given(st.lists(st.integers(1, 9), min_size=1, max_size=3), st.data())
def test_adaptive_pools_equal_reference(spatial: list[int], data: st.DataObject) -> None:
    out = tuple(data.draw(st.integers(1, 6)) for _ in spatial)
    x = np.random.default_rng(len(spatial)).integers(-3, 4, (1, 2, *spatial)).astype(float)
    y, idx = F.adaptive_max_pool(x, out, return_indices=True)
    y_ref, idx_ref = R.adaptive_max_pool(x, out)
    assert_array_equal(y, y_ref)
    assert_array_equal(idx, idx_ref)
    assert_allclose(F.adaptive_avg_pool(x, out), R.adaptive_avg_pool(x, out), atol=1e-12)
    x_last = np.moveaxis(x, 1, -1)
    assert_array_equal(np.moveaxis(F.adaptive_max_pool(x_last, out, data_format="NHWC"), -1, 1),
                       y)
