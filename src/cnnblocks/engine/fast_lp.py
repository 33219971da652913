"""Drive the compiled Lp-pooling kernels (:mod:`cnnblocks.engine.numba_lp`).

:mod:`cnnblocks.functional.pooling`'s ``lp_pool`` asks :func:`supports` (``p`` of 1 or 2,
float16, float32 and float64, 1-D to 3-D windows, non-empty) and otherwise computes on NumPy.
float16 runs on float32 copies; its results are rounded once, from the float64 sums. Arrays
arrive and leave in the caller's layout; one stored in the other layout runs in its memory layout
and comes back as a view. The forward returns the pooled values in the input's dtype and the
float64 norms the backward needs (one per output, like max pooling's indices); nothing else is
allocated.
"""

from __future__ import annotations

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
from cnnblocks.engine._numba import parallel_for
from cnnblocks.engine.fast_pool import _axis, _covering
from cnnblocks.shapes import PoolGeometry

__all__ = ["backward", "forward", "supports"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_HALF = np.dtype(np.float16)
# A missing leading axis (1-D and 2-D windows run as 3-D): one window of one cell, covering it.
_ONE = np.zeros(1, np.int64), np.ones(1, np.int64)
_ONE_COVER = np.zeros((1, 1), np.int64), np.ones(1, np.int64)


def _kernels() -> ModuleType:
    from cnnblocks.engine import numba_lp  # imports numba: only when a kernel first runs

    return numba_lp


def supports(x: np.ndarray, geometry: PoolGeometry, p: float) -> bool:
    """Whether the compiled kernels handle Lp pooling of this input, window and ``p``.

    ``p`` must be 1 or 2: other powers need ``pow`` per cell, which NumPy vectorises and numba
    does not (see :mod:`cnnblocks.engine.numba_lp`).
    """
    return (
        p in (1.0, 2.0)
        and (x.dtype in _FLOATS or x.dtype == _HALF)
        and geometry.rank in (1, 2, 3)
        and x.ndim == geometry.rank + 2
        and x.size > 0
    )


def _window_tables(g: PoolGeometry) -> tuple[NDArray[np.int64] | int, ...]:
    """(first inside tap, taps inside, dilation) for D, H and W."""
    tables: list[NDArray[np.int64] | int] = []
    for _ in range(3 - g.rank):
        tables += [*_ONE, 1]
    for i in range(g.rank):
        axis = _axis(g, i)
        tables += [axis.start, axis.count, g.dilation[i]]
    return tuple(tables)


def _cover_tables(g: PoolGeometry) -> tuple[NDArray[np.int64], ...]:
    """(windows containing each position, their count) for D, H and W."""
    tables: list[NDArray[np.int64]] = []
    for _ in range(3 - g.rank):
        tables += list(_ONE_COVER)
    for i in range(g.rank):
        tables += list(_covering(g, i))
    return tuple(tables)


def forward(
    x: np.ndarray, geometry: PoolGeometry, channels_last: bool, p: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(y in x's dtype, y64 in float64)``, both in the caller's layout."""
    if x.dtype == _HALF:  # round the float64 norms once, not through float32
        _, y64 = forward(x.astype(np.float32), geometry, channels_last, p)
        return y64.astype(_HALF), y64
    ndim = x.ndim
    xm, last = memory_layout(with_three_spatial(x, channels_last), channels_last)
    n, c = shape_first(xm, last)[:2]
    out = (1,) * (3 - geometry.rank) + tuple(geometry.output_size)
    y = empty((n, c, *out), x.dtype, last)
    y64 = empty((n, c, *out), np.float64, last)
    args = (int(p), *_window_tables(geometry))
    k = _kernels()
    if last:
        parallel_for(k.lp_fwd_nhwc, n * out[0] * out[1], xm.size, xm, y, y64, *args)
    else:
        parallel_for(
            k.lp_fwd_nchw, n * c, xm.size, planes(xm), planes(y), planes(y64), *args
        )
    return (
        from_three_spatial(y, channels_last, last, ndim),
        from_three_spatial(y64, channels_last, last, ndim),
    )


def backward(
    grad_y: np.ndarray,
    y64: np.ndarray,
    x: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    p: float,
    out_dtype: np.dtype[np.floating] | None = None,
) -> np.ndarray:
    """grad_x in grad_y's dtype (or ``out_dtype``) and the caller's layout."""
    if grad_y.dtype == _HALF or x.dtype == _HALF:
        # float32 copies (exact), float64 gradients, one rounding to grad_y's dtype
        wide = backward(
            grad_y.astype(np.float32), y64, x.astype(np.float32), geometry, channels_last, p,
            out_dtype=np.dtype(np.float64),
        )
        return wide.astype(grad_y.dtype)
    ndim = grad_y.ndim
    gym, last = memory_layout(with_three_spatial(grad_y, channels_last), channels_last)
    norms = in_memory_layout(with_three_spatial(y64, channels_last), channels_last, last)
    xm = in_memory_layout(with_three_spatial(x, channels_last), channels_last, last)
    n, c = shape_first(gym, last)[:2]
    spatial = (1,) * (3 - geometry.rank) + tuple(geometry.input_size)
    gx = empty((n, c, *spatial), out_dtype or grad_y.dtype, last)
    args = (int(p), *_cover_tables(geometry))
    k = _kernels()
    if last:
        parallel_for(
            k.lp_bwd_nhwc, n * spatial[0] * spatial[1], gx.size, gx, gym, norms, xm, *args
        )
    else:
        parallel_for(
            k.lp_bwd_nchw, n * c, gx.size, planes(gx), planes(gym), planes(norms),
            planes(xm), *args,
        )
    return from_three_spatial(gx, channels_last, last, ndim)
