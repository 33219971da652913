"""The compiled max-unpooling kernels (engine/numba_unpool.py) against plain loops.

The expected output is built cell by cell in Python (zeros, then each value written at its
index in input order, so the last of duplicates stays); the gradient is read back at each index.
1-D to 3-D, every layout the engine takes, 1 and 2 threads, float32 and float64, with duplicate
indices (overlapping windows) on purpose.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import cnnblocks.functional as F
from cnnblocks.engine import fast_unpool
from layout_cases import LAYOUTS, in_layout, to_nchw


def _case(seed: int) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Values, indices (duplicates included) and the unpooled spatial size."""
    rng = np.random.default_rng(seed)
    rank = 1 + seed % 3
    pooled = tuple(int(v) for v in rng.integers(1, 5, rank))
    out = tuple(int(v) for v in rng.integers(2, 7, rank))
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    dtype = np.float32 if seed % 2 else np.float64
    y = rng.standard_normal((n, c, *pooled)).astype(dtype)
    idx = rng.integers(0, int(np.prod(out)), y.shape)
    return y, idx, out


def _expected(y: np.ndarray, idx: np.ndarray, out: tuple[int, ...]) -> np.ndarray:
    n, c = y.shape[:2]
    want = np.zeros((n, c, int(np.prod(out))), y.dtype)
    for a, b in itertools.product(range(n), range(c)):
        for value, where in zip(y[a, b].ravel(), idx[a, b].ravel(), strict=True):
            want[a, b, where] = value
    return want.reshape(n, c, *out)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("seed", range(9))
def test_unpool_and_its_gradient_match_loops(seed: int, layout: str, nthreads: int) -> None:
    y, idx, out = _case(seed)
    assert fast_unpool.supports(y)
    arg, fmt = in_layout(y, layout)
    idx_arg, _ = in_layout(idx, layout)
    rank = y.ndim - 2
    unpooled, ctx = F.max_unpool_forward(arg, idx_arg, (2,) * rank, output_size=out,
                                         data_format=fmt)
    want = _expected(y, idx, out)
    assert unpooled.dtype == y.dtype
    assert_array_equal(to_nchw(unpooled, fmt), want)
    grad_out = np.random.default_rng(seed).standard_normal(want.shape).astype(y.dtype)
    grad_arg = np.ascontiguousarray(np.moveaxis(grad_out, 1, -1)) if fmt == "NHWC" else grad_out
    grad_y = to_nchw(F.max_unpool_backward(grad_arg, ctx), fmt)
    n, c = y.shape[:2]
    flat = grad_out.reshape(n, c, -1)
    want_grad = np.array(
        [[flat[a, b][idx[a, b].ravel()] for b in range(c)] for a in range(n)]
    ).reshape(y.shape)
    assert grad_y.dtype == y.dtype
    assert_array_equal(grad_y, want_grad)


@pytest.mark.parametrize("dtype", [np.float16, np.int32])
def test_other_dtypes_stay_on_numpy_with_the_same_rule(dtype: Any) -> None:
    y = np.array([[[1, 2, 3]]], dtype)
    idx = np.array([[[4, 0, 4]]])
    assert not fast_unpool.supports(y)
    assert_array_equal(F.max_unpool(y, idx, 2, output_size=(5,)), np.array([[[2, 0, 0, 0, 3]]]))
