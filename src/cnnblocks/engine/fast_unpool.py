"""Drive the compiled max-unpooling kernels (:mod:`cnnblocks.engine.numba_unpool`).

:mod:`cnnblocks.functional.pooling`'s ``max_unpool`` asks :func:`supports` (float32 or float64
values, any spatial rank, non-empty) and otherwise scatters with NumPy. Arrays arrive and leave in
the caller's layout; values stored in the other layout run in their memory layout and the result
comes back as a view in the caller's layout, as the pooling kernels do. The only allocation is
the result (the indices are copied only if they are stored in another layout than the values).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from cnnblocks.engine._layout import empty, in_memory_layout, memory_layout, shape_first, to_caller
from cnnblocks.engine._numba import parallel_for

__all__ = ["backward", "forward", "supports"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _kernels() -> ModuleType:
    from cnnblocks.engine import numba_unpool  # imports numba: only when a kernel first runs

    return numba_unpool


def supports(y: np.ndarray) -> bool:
    """Whether the compiled kernels unpool (or take the gradient of) these values."""
    return y.dtype in _FLOATS and y.ndim >= 3 and y.size > 0


def _flat(a: np.ndarray, last: bool) -> np.ndarray:
    """(N, C, *spatial) -> (N·C, cells); (N, *spatial, C) -> (N, cells, C); views."""
    if last:
        return a.reshape(a.shape[0], -1, a.shape[-1])
    return a.reshape(a.shape[0] * a.shape[1], -1)


def forward(
    y: np.ndarray, indices: np.ndarray, channels_last: bool, out_shape: tuple[int, ...]
) -> np.ndarray:
    """Zeros of ``out_shape`` (caller's layout) with each value of ``y`` at its index."""
    ym, last = memory_layout(y, channels_last)
    idx = in_memory_layout(indices, channels_last, last)
    if idx.dtype != np.int64:
        idx = idx.astype(np.int64)
    first = (out_shape[0], out_shape[-1], *out_shape[1:-1]) if channels_last else out_shape
    out = empty(tuple(first), y.dtype, last)
    units = ym.shape[0] if last else ym.shape[0] * ym.shape[1]
    kernel = _kernels().unpool_fwd_nhwc if last else _kernels().unpool_fwd_nchw
    parallel_for(kernel, units, out.size, _flat(out, last), _flat(ym, last), _flat(idx, last))
    return to_caller(out, channels_last, last)


def backward(
    grad_out: np.ndarray, indices: np.ndarray, channels_last: bool
) -> np.ndarray:
    """``grad_y`` (the indices' shape, caller's layout): ``grad_out`` read at each index."""
    gm, last = memory_layout(grad_out, channels_last)
    idx = in_memory_layout(indices, channels_last, last)
    if idx.dtype != np.int64:
        idx = idx.astype(np.int64)
    grad_y = empty(shape_first(idx, last), grad_out.dtype, last)
    units = idx.shape[0] if last else idx.shape[0] * idx.shape[1]
    kernel = _kernels().unpool_bwd_nhwc if last else _kernels().unpool_bwd_nchw
    parallel_for(
        kernel, units, grad_y.size, _flat(grad_y, last), _flat(gm, last), _flat(idx, last)
    )
    return to_caller(grad_y, channels_last, last)
