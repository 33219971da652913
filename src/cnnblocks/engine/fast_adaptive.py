"""Drive the compiled adaptive-pooling kernels (bins of any size) for 1-D and 2-D inputs.

:mod:`cnnblocks.functional.pooling`'s adaptive pooling sends equal bins to the ordinary pooling
kernels and asks :func:`supports` for the rest: float32 and float64, 1-D and 2-D, non-empty. Arrays
arrive and leave in the caller's layout; an array stored in the other layout runs in its memory
layout and comes back as a view (see :mod:`cnnblocks.engine._layout`). Indices are PyTorch's:
int64 flat offsets within each (n, c) plane. The maximum's backward is the same scatter as max
pooling's and reuses its kernels.
"""

from __future__ import annotations

import functools
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from cnnblocks._threads import get_num_threads
from cnnblocks.engine._layout import empty, in_memory_layout, memory_layout, shape_first, to_caller
from cnnblocks.engine._numba import parallel_for

__all__ = ["avg_backward", "avg_forward", "max_backward", "max_forward", "supports"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
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
        x.dtype in _FLOATS
        and rank in (1, 2)
        and x.ndim == rank + 2
        and x.size > 0
        and max(int(np.prod(x.shape[2:])), int(np.prod(x.shape[1:-1]))) < 2**31
    )


@functools.lru_cache(maxsize=256)
def _bins(length: int, out: int, dtype: np.dtype[np.floating]) -> _Tables:
    """PyTorch's bins ``[floor(i L / O), ceil((i + 1) L / O))`` and their sizes in ``dtype``."""
    i = np.arange(out, dtype=np.int64)
    start = (i * length) // out
    end = -(-((i + 1) * length) // out)
    return start, end, (end - start).astype(dtype)


def _to_4d(a: np.ndarray, channels_last: bool) -> np.ndarray:
    """(N, C, L) -> (N, C, 1, L) and (N, L, C) -> (N, 1, L, C); 4-D arrays unchanged."""
    if a.ndim == 4:
        return a
    return a[:, None, :, :] if channels_last else a[:, :, None, :]


def _from_4d(a: np.ndarray, channels_last: bool, ndim: int) -> np.ndarray:
    if ndim == 4:
        return a
    return a[:, 0, :, :] if channels_last else a[:, :, 0, :]


def _tables(
    in_hw: tuple[int, int], out_hw: tuple[int, int], dtype: np.dtype[np.floating]
) -> tuple[np.ndarray, ...]:
    """Bin tables for H then W: starts, ends, sizes (in ``dtype``), for each axis."""
    return (*_bins(in_hw[0], out_hw[0], dtype), *_bins(in_hw[1], out_hw[1], dtype))


def max_forward(
    x: np.ndarray, sizes: tuple[int, ...], channels_last: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Each bin's maximum and its int64 flat per-plane index, in the caller's layout."""
    ndim = x.ndim
    xm, last = memory_layout(_to_4d(x, channels_last), channels_last)
    n, c, h, w = shape_first(xm, last)
    out_hw = (1, sizes[0]) if ndim == 3 else (sizes[0], sizes[1])
    y = empty((n, c, *out_hw), x.dtype, last)
    idx = empty((n, c, *out_hw), np.int64, last)
    hs, he, _, ws, we, _ = _tables((h, w), out_hw, x.dtype)
    k = _kernels()
    if last:
        parallel_for(k.binned_max_nhwc, n * out_hw[0], xm.size, xm, y, idx, hs, he, ws, we)
    else:
        planes = n * c
        parallel_for(
            k.binned_max_nchw, planes, xm.size, xm.reshape(planes, h, w),
            y.reshape(planes, *out_hw), idx.reshape(planes, *out_hw), hs, he, ws, we,
        )
    return (
        _from_4d(to_caller(y, channels_last, last), channels_last, ndim),
        _from_4d(to_caller(idx, channels_last, last), channels_last, ndim),
    )


def max_backward(
    grad_y: np.ndarray, indices: np.ndarray, channels_last: bool, input_shape: tuple[int, ...]
) -> np.ndarray:
    """Scatter-add ``grad_y`` to the cells the forward's ``indices`` name."""
    ndim = grad_y.ndim
    gym, last = memory_layout(_to_4d(grad_y, channels_last), channels_last)
    idx = in_memory_layout(_to_4d(indices, channels_last), channels_last, last)
    if idx.dtype != np.int64:
        idx = idx.astype(np.int64)
    n, c, ho, wo = shape_first(gym, last)
    spatial = input_shape[1:-1] if channels_last else input_shape[2:]
    h, w = (1, spatial[0]) if ndim == 3 else (spatial[0], spatial[1])
    gx = empty((n, c, h, w), grad_y.dtype, last)
    k = _pool_kernels()
    if last:
        # the NHWC scatter zeroes input rows just before the first output row reaching them:
        # row_end[oh] is one past the last input row bin row oh reads (the bins' ends)
        _, row_end, _ = _bins(h, ho, grad_y.dtype)
        blocks = _channel_blocks(n, c)
        parallel_for(
            k.max_bwd_scatter_nhwc, n * blocks, gx.size, gx.reshape(n, -1), gym.reshape(n, -1),
            idx.reshape(n, -1), c, blocks, w, wo, row_end,
        )
    else:
        planes = n * c
        parallel_for(
            k.max_bwd_nchw, planes, gx.size, gx.reshape(planes, h * w),
            gym.reshape(planes, ho * wo), idx.reshape(planes, ho * wo),
        )
    return _from_4d(to_caller(gx, channels_last, last), channels_last, ndim)


def _channel_blocks(n: int, c: int) -> int:
    """Channel blocks per image for race-free NHWC accumulation: 1 unless images are too few."""
    threads = get_num_threads()
    return 1 if n >= threads else max(1, min(max(c // 16, 1), -(-2 * threads // n)))


def avg_forward(x: np.ndarray, sizes: tuple[int, ...], channels_last: bool) -> np.ndarray:
    """Each bin's mean, ``sum / kh / kw``, in the caller's layout."""
    ndim = x.ndim
    xm, last = memory_layout(_to_4d(x, channels_last), channels_last)
    n, c, h, w = shape_first(xm, last)
    out_hw = (1, sizes[0]) if ndim == 3 else (sizes[0], sizes[1])
    y = empty((n, c, *out_hw), x.dtype, last)
    tables = _tables((h, w), out_hw, x.dtype)
    k = _kernels()
    if last:
        parallel_for(k.binned_avg_nhwc, n * out_hw[0], xm.size, xm, y, *tables)
    else:
        planes = n * c
        parallel_for(
            k.binned_avg_nchw, planes, xm.size, xm.reshape(planes, h, w),
            y.reshape(planes, *out_hw), *tables,
        )
    return _from_4d(to_caller(y, channels_last, last), channels_last, ndim)


def avg_backward(
    grad_y: np.ndarray, channels_last: bool, input_shape: tuple[int, ...]
) -> np.ndarray:
    """Each bin spreads ``grad_y / kh / kw`` over its cells; grad_x in the caller's layout."""
    ndim = grad_y.ndim
    gym, last = memory_layout(_to_4d(grad_y, channels_last), channels_last)
    n, c, ho, wo = shape_first(gym, last)
    spatial = input_shape[1:-1] if channels_last else input_shape[2:]
    h, w = (1, spatial[0]) if ndim == 3 else (spatial[0], spatial[1])
    gx = empty((n, c, h, w), grad_y.dtype, last)
    tables = _tables((h, w), (ho, wo), grad_y.dtype)
    k = _kernels()
    if last:
        blocks = _channel_blocks(n, c)
        parallel_for(k.binned_avg_bwd_nhwc, n * blocks, gx.size, gx, gym, blocks, *tables)
    else:
        planes = n * c
        parallel_for(
            k.binned_avg_bwd_nchw, planes, gx.size, gx.reshape(planes, h, w),
            gym.reshape(planes, ho, wo), *tables,
        )
    return _from_4d(to_caller(gx, channels_last, last), channels_last, ndim)
