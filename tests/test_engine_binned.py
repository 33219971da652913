"""The windows-from-tables kernels (engine/numba_binned.py) against cnnblocks.reference.

Two callers use them: adaptive pooling with bins of unequal size, and max pooling with indices at
W stride >= 3. Random shapes in every memory layout the engine takes, at 1 and 2 threads, float32
and float64, with ties, NaN, -inf and signed zeros on purpose. Maxima and indices must match the
reference loops exactly (they pick, they do not compute); means to rounding; gradients against
the reference's indices (max) and the adjoint identity <A x, g> = <x, A^T g> (mean).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import cnnblocks.functional as F
from cnnblocks import reference
from cnnblocks.engine import fast_adaptive
from cnnblocks.errors import ParameterError
from cnnblocks.shapes import pool_geometry
from layout_cases import LAYOUTS, in_layout, to_nchw


def _data(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Small integers (many ties) with some NaN, -inf and -0 among them."""
    x = rng.integers(-3, 4, shape).astype(dtype)
    x[rng.random(shape) < 0.15] = -0.0
    x[rng.random(shape) < 0.04] = np.nan
    x[rng.random(shape) < 0.1] = -np.inf
    return x


def _unequal_case(seed: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """A random input and an output size that some axis does not divide (unequal bins)."""
    rng = np.random.default_rng(seed)
    rank = 1 + seed % 3
    while True:
        spatial = tuple(int(v) for v in rng.integers(1, 14 if rank < 3 else 7, rank))
        out = tuple(int(v) for v in rng.integers(1, 9 if rank < 3 else 5, rank))
        if any(length % o for length, o in zip(spatial, out, strict=True)):
            break
    dtype = np.float32 if seed % 3 else np.float64
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 6))
    return _data(rng, (n, c, *spatial), dtype), out


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("seed", range(12))
def test_adaptive_max_matches_reference(seed: int, layout: str, nthreads: int) -> None:
    x, out = _unequal_case(seed)
    assert fast_adaptive.supports(x, x.ndim - 2)
    want_y, want_idx = reference.adaptive_max_pool(x, out)
    arg, fmt = in_layout(x, layout)
    y, idx = F.adaptive_max_pool(arg, out, return_indices=True, data_format=fmt)
    y, idx = to_nchw(y, fmt), to_nchw(idx, fmt)
    assert y.dtype == x.dtype
    assert idx.dtype == np.int64
    assert_array_equal(y, want_y)
    assert_array_equal(np.signbit(y), np.signbit(want_y))  # the first of +0/-0 ties
    assert_array_equal(idx, want_idx)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("seed", range(12))
def test_adaptive_max_backward_scatters_to_reference_argmax(
    seed: int, layout: str, nthreads: int
) -> None:
    x, out = _unequal_case(seed)
    _, want_idx = reference.adaptive_max_pool(x, out)
    g = np.random.default_rng(seed).standard_normal(want_idx.shape).astype(x.dtype)
    want = np.zeros(x.shape, x.dtype).reshape(*x.shape[:2], -1)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            np.add.at(want[n, c], want_idx[n, c].ravel(), g[n, c].ravel())
    arg, fmt = in_layout(x, layout)
    _, ctx = F.adaptive_max_pool_forward(arg, out, data_format=fmt)
    g_arg = np.ascontiguousarray(np.moveaxis(g, 1, -1)) if fmt == "NHWC" else g
    gx = to_nchw(F.adaptive_max_pool_backward(g_arg, ctx), fmt)
    assert gx.dtype == x.dtype
    assert_allclose(gx, want.reshape(x.shape), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("seed", range(12))
def test_adaptive_avg_and_its_adjoint(seed: int, layout: str, nthreads: int) -> None:
    x, out = _unequal_case(seed)
    x = np.nan_to_num(x, nan=0.5, neginf=-2.5)
    arg, fmt = in_layout(x, layout)
    y = to_nchw(F.adaptive_avg_pool(arg, out, data_format=fmt), fmt)
    tol = 1e-6 if x.dtype == np.float32 else 1e-13
    assert y.dtype == x.dtype
    assert_allclose(y, reference.adaptive_avg_pool(x, out), rtol=tol, atol=tol)
    # backward: <A x, g> = <x, A^T g>, with A x from the reference loops in float64
    g = np.random.default_rng(seed).standard_normal(y.shape).astype(x.dtype)
    _, ctx = F.adaptive_avg_pool_forward(arg, out, data_format=fmt)
    g_arg = np.ascontiguousarray(np.moveaxis(g, 1, -1)) if fmt == "NHWC" else g
    gx = to_nchw(F.adaptive_avg_pool_backward(g_arg, ctx), fmt)
    assert gx.dtype == x.dtype
    assert gx.shape == x.shape
    probe = np.random.default_rng(seed + 99).standard_normal(x.shape)
    forward = reference.adaptive_avg_pool(probe, out)
    assert np.vdot(forward, g.astype(np.float64)) == pytest.approx(
        np.vdot(probe, gx.astype(np.float64)), rel=tol * 10, abs=tol * 10
    )


@pytest.mark.torch
@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "NHWC"])
@pytest.mark.parametrize(
    ("shape", "out"), [((4, 8, 13, 11), (5, 4)), ((2, 4, 7, 9, 5), (3, 4, 2))], ids=["2d", "3d"]
)
def test_adaptive_avg_rounds_like_torch_nchw(
    channels_last: bool, shape: tuple[int, ...], out: tuple[int, ...]
) -> None:
    """sum / kd / kh / kw, as PyTorch's NCHW kernels (its channels-last 2-D kernel divides once
    by kh·kw)."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_()
    yt = getattr(torch.nn.functional, f"adaptive_avg_pool{len(out)}d")(xt, out)
    g = np.random.default_rng(6).standard_normal(yt.shape).astype(np.float32)
    yt.backward(torch.from_numpy(g))
    fmt = "NHWC" if channels_last else "NCHW"
    arg = np.ascontiguousarray(np.moveaxis(x, 1, -1)) if channels_last else x
    y, ctx = F.adaptive_avg_pool_forward(arg, out, data_format=fmt)
    g_arg = np.ascontiguousarray(np.moveaxis(g, 1, -1)) if channels_last else g
    gx = F.adaptive_avg_pool_backward(g_arg, ctx)
    assert_array_equal(to_nchw(y, fmt), yt.detach().numpy())
    assert_array_equal(to_nchw(gx, fmt), xt.grad.numpy())


def _strided_case(seed: int) -> dict[str, Any]:
    """A max pooling configuration with W stride >= 3 and no dilation, clipped windows common."""
    rng = np.random.default_rng(1000 + seed)
    rank = 1 + seed % 2
    while True:
        spatial = tuple(int(v) for v in rng.integers(3, 16, rank))
        kernel = tuple(int(v) for v in rng.integers(2, 6, rank))
        stride = tuple(int(v) for v in rng.integers(1, 6, rank))
        stride = (*stride[:-1], max(3, stride[-1]))
        padding = tuple(int(v) for _ in range(rank) for v in rng.integers(0, 3, 2))
        ceil_mode = bool(rng.integers(0, 2))
        try:
            pool_geometry(spatial, kernel, stride, padding, 1, ceil_mode)
        except ParameterError:
            continue
        dtype = np.float32 if seed % 2 else np.float64
        x = _data(rng, (2, 3, *spatial), dtype)
        return {"x": x, "kernel_size": kernel, "stride": stride, "padding": padding,
                "ceil_mode": ceil_mode}


@pytest.mark.parametrize("layout", ["nchw", "strided"])
@pytest.mark.parametrize("seed", range(16))
def test_max_pool_stride_three_and_more_matches_reference(
    seed: int, layout: str, nthreads: int
) -> None:
    case = _strided_case(seed)
    x = case.pop("x")
    want_y, want_idx = reference.max_pool(x, **case)
    arg, fmt = in_layout(x, layout)
    y, idx = F.max_pool(arg, return_indices=True, data_format=fmt, **case)
    assert_array_equal(y, want_y)
    assert_array_equal(np.signbit(y), np.signbit(want_y))
    assert_array_equal(idx, want_idx)


@pytest.mark.parametrize("seed", range(6))
def test_adaptive_float16_runs_through_float32(seed: int) -> None:
    """Maxima and indices exact; means rounded once from float32 (one float16 rounding of the
    reference's float64 mean, at most)."""
    x, out = _unequal_case(seed)
    x16 = np.nan_to_num(x, nan=0.5, neginf=-2.5).astype(np.float16)
    assert fast_adaptive.supports(x16, x16.ndim - 2)
    y, idx = F.adaptive_max_pool(x16, out, return_indices=True)
    want_y, want_idx = reference.adaptive_max_pool(x16, out)
    assert y.dtype == np.float16
    assert_array_equal(y, want_y)
    assert_array_equal(idx, want_idx)
    a, ctx = F.adaptive_avg_pool_forward(x16, out)
    assert a.dtype == np.float16
    assert_allclose(a.astype(np.float64), reference.adaptive_avg_pool(x16.astype(np.float64), out),
                    rtol=1e-3, atol=1e-3)
    g = np.ones(a.shape, np.float16)
    assert F.adaptive_avg_pool_backward(g, ctx).dtype == np.float16
