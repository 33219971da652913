"""The compiled Lp-pooling kernels (engine/numba_lp.py, p = 1 and 2) against independent sources.

Forward values against the reference loops of :mod:`cnnblocks.reference` (float64 sums); the
backward against central finite differences of those loops in float64; edge cases (a window of
zeros, NaN, ±inf) against the formula worked by hand. Random windows with padding, stride,
dilation and ceil mode, 1-D to 3-D, in NCHW, NHWC, NCHW stored channels-last and strided
views, at 1 and 2 threads; both layouts must give the same bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import cnnblocks.functional as F
from cnnblocks import reference
from cnnblocks.engine import fast_lp
from cnnblocks.errors import ParameterError
from cnnblocks.shapes import pool_geometry
from layout_cases import LAYOUTS, from_nchw, in_layout, to_nchw


def _case(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    rank = 1 + seed % 3
    while True:
        spatial = tuple(int(v) for v in rng.integers(2, 11 if rank < 3 else 6, rank))
        args = {
            "kernel_size": tuple(int(v) for v in rng.integers(1, 4, rank)),
            "stride": tuple(int(v) for v in rng.integers(1, 4, rank)),
            "padding": tuple(int(v) for _ in range(rank) for v in rng.integers(0, 2, 2)),
            "dilation": tuple(int(v) for v in rng.integers(1, 3, rank)),
            "ceil_mode": bool(rng.integers(0, 2)),
        }
        try:
            pool_geometry(spatial, **args)
        except ParameterError:
            continue
        break
    x = rng.standard_normal((2, 3, *spatial))
    x[rng.random(x.shape) < 0.2] = 0.0
    dtype = np.float32 if seed % 3 else np.float64
    return {"x": x.astype(dtype), "p": 1 + (seed // 3) % 2, **args}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("seed", range(10))
def test_lp_forward_matches_reference(seed: int, layout: str, nthreads: int) -> None:
    case = _case(seed)
    x = case.pop("x")
    assert fast_lp.supports(x, pool_geometry(x.shape[2:], case["kernel_size"], case["stride"],
                                             case["padding"], case["dilation"],
                                             case["ceil_mode"]), case["p"])
    arg, fmt = in_layout(x, layout)
    y = to_nchw(F.lp_pool(arg, data_format=fmt, **case), fmt)
    want = reference.lp_pool(x, **case)
    assert y.dtype == x.dtype
    # both round one float64 norm to x's dtype: equal, or one float64 rounding apart
    assert_allclose(y, want, rtol=1e-6 if x.dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("seed", range(10))
def test_lp_backward_matches_finite_differences(seed: int, nthreads: int) -> None:
    case = _case(seed)
    x = case.pop("x").astype(np.float64)
    x[x == 0] = 0.25  # |x| and the norm are not differentiable at 0
    y, ctx = F.lp_pool_forward(x, **case)
    g = np.random.default_rng(seed).standard_normal(y.shape)
    gx = F.lp_pool_backward(g, ctx)
    direction = np.random.default_rng(seed + 1).standard_normal(x.shape)
    eps = 1e-6
    plus = np.vdot(g, reference.lp_pool(x + eps * direction, **case))
    minus = np.vdot(g, reference.lp_pool(x - eps * direction, **case))
    assert np.vdot(gx, direction) == pytest.approx((plus - minus) / (2 * eps), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("layout", LAYOUTS[1:])
@pytest.mark.parametrize("seed", range(10))
def test_lp_layouts_give_the_same_bits(seed: int, layout: str) -> None:
    case = _case(seed)
    x = case.pop("x")
    y, ctx = F.lp_pool_forward(x, **case)
    g = np.random.default_rng(seed).standard_normal(y.shape).astype(x.dtype)
    gx = F.lp_pool_backward(g, ctx)
    arg, fmt = in_layout(x, layout)
    y2, ctx2 = F.lp_pool_forward(arg, data_format=fmt, **case)
    gx2 = F.lp_pool_backward(from_nchw(g, fmt), ctx2)
    assert_array_equal(to_nchw(y2, fmt), y)
    assert_array_equal(to_nchw(gx2, fmt), gx)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lp_edge_cases_by_hand(dtype: Any) -> None:
    """Windows of 2 along W: [0, 0] has norm 0 and gradient 0; [3, -4] has norm 5 (p = 2) and
    gradient x / 5; [NaN, 1] gives NaN; [inf, 1] gives inf with gradient inf · 0 -> NaN for
    the inf cell (x / inf is 0 for the other)."""
    x = np.array([[[0.0, 0.0, 3.0, -4.0, np.nan, 1.0, np.inf, 1.0]]], dtype)
    y, ctx = F.lp_pool_forward(x, 2, 2)
    assert_array_equal(y, np.array([[[0.0, 5.0, np.nan, np.inf]]], dtype))
    gx = F.lp_pool_backward(np.ones_like(y), ctx)
    want = np.array([[[0.0, 0.0, 0.6, -0.8, np.nan, 0.0, np.nan, 0.0]]], dtype)
    assert_allclose(gx, want, rtol=1e-7)
    y1, ctx1 = F.lp_pool_forward(x, 1, 2)
    assert_array_equal(y1, np.array([[[0.0, 7.0, np.nan, np.inf]]], dtype))
    gx1 = F.lp_pool_backward(np.ones_like(y1), ctx1)
    assert_array_equal(gx1, np.array([[[0.0, 0.0, 1.0, -1.0, np.nan, 0.0, 1.0, 1.0]]], dtype))


@pytest.mark.parametrize("seed", range(6))
def test_lp_float16_runs_through_float32(seed: int) -> None:
    """float16 data is exact in float32; the float64 norms are rounded once to float16."""
    case = _case(seed)
    x16 = case.pop("x").astype(np.float16)
    geometry = pool_geometry(x16.shape[2:], case["kernel_size"], case["stride"], case["padding"],
                             case["dilation"], case["ceil_mode"])
    assert fast_lp.supports(x16, geometry, case["p"])
    y, ctx = F.lp_pool_forward(x16, **case)
    assert y.dtype == np.float16
    assert_allclose(y.astype(np.float64), reference.lp_pool(x16.astype(np.float64), **case),
                    rtol=1e-3)
    gx = F.lp_pool_backward(np.ones(y.shape, np.float16), ctx)
    assert gx.dtype == np.float16
    y64, ctx64 = F.lp_pool_forward(x16.astype(np.float64), **case)
    want = F.lp_pool_backward(np.ones(y64.shape), ctx64)  # float64: checked by the test above
    assert_allclose(gx.astype(np.float64), want, rtol=1e-3, atol=1e-4)
