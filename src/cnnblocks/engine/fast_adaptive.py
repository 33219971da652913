"""Drive the compiled adaptive-pooling kernels (bins of any size) for 1-D to 3-D inputs.

:mod:`cnnblocks.functional.pooling`'s adaptive pooling sends equal bins to the ordinary pooling
kernels and asks :func:`supports` for the rest: float16, float32 and float64, 1-D to 3-D,
non-empty. float16 runs on a float32 copy and is rounded once at the end (maxima are exact). Arrays
arrive and leave in the caller's layout; an array stored in the other layout runs in its memory
layout and comes back as a view (see :mod:`cnnblocks.engine._layout`). The kernels always see
three spatial axes (a 2-D input has ``D = 1``, a 1-D input ``D = H = 1``). Indices are PyTorch's:
int64 flat offsets within each (n, c) plane. The maximum's backward is the same scatter as max
pooling's and reuses its kernels.
"""

from __future__ import annotations

import functools
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from cnnblocks.engine._layout import (
    empty,
    from_three_spatial,
    in_memory_layout,
    memory_layout,
    planes,
    shape_first,
    with_three_spatial,
)
from cnnblocks.engine._numba import channel_blocks, parallel_for
from cnnblocks.shapes import adaptive_bins

__all__ = ["avg_backward", "avg_forward", "max_backward", "max_forward", "supports"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_HALF = np.dtype(np.float16)
_Tables = tuple[NDArray[np.int64], NDArray[np.int64], np.ndarray]


def _kernels() -> ModuleType:
    from cnnblocks.engine import numba_binned  # imports numba: only when a kernel first runs

    return numba_binned


def _pool_kernels() -> ModuleType:
    from cnnblocks.engine import numba_pool

    return numba_pool


def supports(x: np.ndarray, rank: int) -> bool:
    """Whether the compiled kernels handle adaptive pooling of ``x`` over ``rank`` axes.

    Planes of 2**31 cells or more (the NHWC maximum carries int32 indices) stay on NumPy.
    """
    return (
        (x.dtype in _FLOATS or x.dtype == _HALF)
        and rank in (1, 2, 3)
        and x.ndim == rank + 2
        and x.size > 0
        and max(int(np.prod(x.shape[2:])), int(np.prod(x.shape[1:-1]))) < 2**31
    )


@functools.lru_cache(maxsize=256)
def _bins(length: int, out: int, dtype: np.dtype[np.floating]) -> _Tables:
    """:func:`~cnnblocks.shapes.adaptive_bins` and the bins' sizes in ``dtype``; memoised."""
    start, end = adaptive_bins(length, out)
    return start, end, (end - start).astype(dtype)


def _spatial(sizes: tuple[int, ...]) -> tuple[int, int, int]:
    d, h, w = (1,) * (3 - len(sizes)) + tuple(sizes)
    return d, h, w


def _tables(
    in_dhw: tuple[int, ...], out_dhw: tuple[int, ...], dtype: np.dtype[np.floating]
) -> tuple[np.ndarray, ...]:
    """Bin tables for D, H, then W: starts, ends, sizes (in ``dtype``), for each axis."""
    return tuple(
        t for length, out in zip(in_dhw, out_dhw, strict=True) for t in _bins(length, out, dtype)
    )


def max_forward(
    x: np.ndarray, sizes: tuple[int, ...], channels_last: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Each bin's maximum and its int64 flat per-plane index, in the caller's layout."""
    if x.dtype == _HALF:
        y, idx = max_forward(x.astype(np.float32), sizes, channels_last)
        return y.astype(_HALF), idx
    ndim = x.ndim
    xm, last = memory_layout(with_three_spatial(x, channels_last), channels_last)
    n, c, *in_dhw = shape_first(xm, last)
    out_dhw = _spatial(sizes)
    y = empty((n, c, *out_dhw), x.dtype, last)
    idx = empty((n, c, *out_dhw), np.int64, last)
    ds, de, _, hs, he, _, ws, we, _ = _tables(tuple(in_dhw), out_dhw, x.dtype)
    k = _kernels()
    tables = (ds, de, hs, he, ws, we)
    if last:
        rows = n * out_dhw[0] * out_dhw[1]
        parallel_for(k.binned_max_nhwc, rows, xm.size, xm, y, idx, *tables)
    else:
        parallel_for(
            k.binned_max_nchw, n * c, xm.size, planes(xm), planes(y), planes(idx), *tables
        )
    return (
        from_three_spatial(y, channels_last, last, ndim),
        from_three_spatial(idx, channels_last, last, ndim),
    )


def max_backward(
    grad_y: np.ndarray, indices: np.ndarray, channels_last: bool, input_shape: tuple[int, ...]
) -> np.ndarray:
    """Scatter-add ``grad_y`` to the cells the forward's ``indices`` name."""
    if grad_y.dtype == _HALF:
        wide = max_backward(grad_y.astype(np.float32), indices, channels_last, input_shape)
        return wide.astype(_HALF)
    ndim = grad_y.ndim
    gym, last = memory_layout(with_three_spatial(grad_y, channels_last), channels_last)
    idx = in_memory_layout(with_three_spatial(indices, channels_last), channels_last, last)
    if idx.dtype != np.int64:
        idx = idx.astype(np.int64)
    n, c, out_d, out_h, out_w = shape_first(gym, last)
    spatial = input_shape[1:-1] if channels_last else input_shape[2:]
    d, h, w = _spatial(spatial)
    gx = empty((n, c, d, h, w), grad_y.dtype, last)
    k = _pool_kernels()
    if last:
        # The NHWC scatter works on (D·H) x W images; it zeroes input rows just before the first
        # output row reaching them. row_end[r] is one past the last input row (d·H + h) that
        # output row r = od·H_out + oh reads: its bin's last depth slice, last row.
        _, d_end, _ = _bins(d, out_d, grad_y.dtype)
        _, h_end, _ = _bins(h, out_h, grad_y.dtype)
        row_end = ((d_end[:, None] - 1) * h + h_end[None, :]).reshape(-1)
        row_end = np.maximum.accumulate(row_end)
        blocks = channel_blocks(n, c)
        parallel_for(
            k.max_bwd_scatter_nhwc, n * blocks, gx.size, gx.reshape(n, -1), gym.reshape(n, -1),
            idx.reshape(n, -1), c, blocks, w, out_w, row_end,
        )
    else:
        planes = n * c
        parallel_for(
            k.max_bwd_nchw, planes, gx.size, gx.reshape(planes, -1),
            gym.reshape(planes, -1), idx.reshape(planes, -1),
        )
    return from_three_spatial(gx, channels_last, last, ndim)


def avg_forward(x: np.ndarray, sizes: tuple[int, ...], channels_last: bool) -> np.ndarray:
    """Each bin's mean, ``sum / kd / kh / kw``, in the caller's layout."""
    if x.dtype == _HALF:
        return avg_forward(x.astype(np.float32), sizes, channels_last).astype(_HALF)
    ndim = x.ndim
    xm, last = memory_layout(with_three_spatial(x, channels_last), channels_last)
    n, c, *in_dhw = shape_first(xm, last)
    out_dhw = _spatial(sizes)
    y = empty((n, c, *out_dhw), x.dtype, last)
    tables = _tables(tuple(in_dhw), out_dhw, x.dtype)
    k = _kernels()
    if last:
        rows = n * out_dhw[0] * out_dhw[1]
        parallel_for(k.binned_avg_nhwc, rows, xm.size, xm, y, *tables)
    else:
        parallel_for(k.binned_avg_nchw, n * c, xm.size, planes(xm), planes(y), *tables)
    return from_three_spatial(y, channels_last, last, ndim)


def avg_backward(
    grad_y: np.ndarray, channels_last: bool, input_shape: tuple[int, ...]
) -> np.ndarray:
    """Each bin spreads ``grad_y / kd / kh / kw`` over its cells; grad_x in the caller's layout."""
    if grad_y.dtype == _HALF:
        wide = avg_backward(grad_y.astype(np.float32), channels_last, input_shape)
        return wide.astype(_HALF)
    ndim = grad_y.ndim
    gym, last = memory_layout(with_three_spatial(grad_y, channels_last), channels_last)
    n, c, *out_dhw = shape_first(gym, last)
    spatial = input_shape[1:-1] if channels_last else input_shape[2:]
    in_dhw = _spatial(spatial)
    gx = empty((n, c, *in_dhw), grad_y.dtype, last)
    tables = _tables(in_dhw, tuple(out_dhw), grad_y.dtype)
    k = _kernels()
    if last:
        blocks = channel_blocks(n, c)
        parallel_for(k.binned_avg_bwd_nhwc, n * blocks, gx.size, gx, gym, blocks, *tables)
    else:
        parallel_for(k.binned_avg_bwd_nchw, n * c, gx.size, planes(gx), planes(gym), *tables)
    return from_three_spatial(gx, channels_last, last, ndim)
