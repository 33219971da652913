"""Drive the compiled Lp-pooling kernels (:mod:`cnnblocks.engine.numba_lp`).

:mod:`cnnblocks.functional.pooling`'s ``lp_pool`` asks :func:`supports` (``p`` of 1 or 2,
float32 and float64, 1-D to 3-D windows, non-empty) and otherwise computes on NumPy. Arrays
arrive and leave in the caller's layout; one stored in the other layout runs in its memory layout
and comes back as a view. The forward returns the pooled values in the input's dtype and the
float64 norms the backward needs (one per output, like max pooling's indices); nothing else is
allocated.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from cnnblocks.engine._layout import empty, in_memory_layout, memory_layout, shape_first, to_caller
from cnnblocks.engine._numba import parallel_for
from cnnblocks.engine.fast_pool import _axis, _covering
from cnnblocks.shapes import PoolGeometry

__all__ = ["backward", "forward", "supports"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
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
        and x.dtype in _FLOATS
        and geometry.rank in (1, 2, 3)
        and x.ndim == geometry.rank + 2
        and x.size > 0
    )


def _to_5d(a: np.ndarray, channels_last: bool) -> np.ndarray:
    """A view with three spatial axes: missing leading ones get length 1."""
    missing = 5 - a.ndim
    if channels_last:
        return a.reshape(a.shape[0], *(1,) * missing, *a.shape[1:])
    return a.reshape(*a.shape[:2], *(1,) * missing, *a.shape[2:])


def _from_5d(a: np.ndarray, channels_last: bool, ndim: int) -> np.ndarray:
    drop = 5 - ndim
    if channels_last:
        return a.reshape(a.shape[0], *a.shape[1 + drop:])
    return a.reshape(*a.shape[:2], *a.shape[2 + drop:])


def _planes(a: np.ndarray) -> np.ndarray:
    return a.reshape(a.shape[0] * a.shape[1], *a.shape[2:])


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
    ndim = x.ndim
    xm, last = memory_layout(_to_5d(x, channels_last), channels_last)
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
            k.lp_fwd_nchw, n * c, xm.size, _planes(xm), _planes(y), _planes(y64), *args
        )
    return (
        _from_5d(to_caller(y, channels_last, last), channels_last, ndim),
        _from_5d(to_caller(y64, channels_last, last), channels_last, ndim),
    )


def backward(
    grad_y: np.ndarray,
    y64: np.ndarray,
    x: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    p: float,
) -> np.ndarray:
    """grad_x in grad_y's dtype and the caller's layout."""
    ndim = grad_y.ndim
    gym, last = memory_layout(_to_5d(grad_y, channels_last), channels_last)
    norms = in_memory_layout(_to_5d(y64, channels_last), channels_last, last)
    xm = in_memory_layout(_to_5d(x, channels_last), channels_last, last)
    n, c = shape_first(gym, last)[:2]
    spatial = (1,) * (3 - geometry.rank) + tuple(geometry.input_size)
    gx = empty((n, c, *spatial), grad_y.dtype, last)
    args = (int(p), *_cover_tables(geometry))
    k = _kernels()
    if last:
        parallel_for(
            k.lp_bwd_nhwc, n * spatial[0] * spatial[1], gx.size, gx, gym, norms, xm, *args
        )
    else:
        parallel_for(
            k.lp_bwd_nchw, n * c, gx.size, _planes(gx), _planes(gym), _planes(norms),
            _planes(xm), *args,
        )
    return _from_5d(to_caller(gx, channels_last, last), channels_last, ndim)
