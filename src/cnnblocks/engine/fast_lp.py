"""Drive the compiled Lp-pooling kernels (:mod:`cnnblocks.engine.numba_lp`).

:mod:`cnnblocks.functional.pooling`'s ``lp_pool`` asks :func:`supports` (``p`` of 1 or 2,
float32 and float64, 1-D and 2-D windows, non-empty) and otherwise computes on NumPy. Arrays
arrive and leave in the caller's layout; one stored in the other layout runs in its memory layout
and comes back as a view. The forward returns the pooled values in the input's dtype and the
float64 norms the backward needs (one per output, like max pooling's indices); nothing else is
allocated.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from cnnblocks.engine._layout import empty, in_memory_layout, memory_layout, shape_first, to_caller
from cnnblocks.engine._numba import parallel_for
from cnnblocks.engine.fast_pool import _as_2d, _axis, _covering, _from_4d, _to_4d
from cnnblocks.shapes import PoolGeometry

__all__ = ["backward", "forward", "supports"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


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
        and geometry.rank in (1, 2)
        and x.ndim == geometry.rank + 2
        and x.size > 0
    )


def forward(
    x: np.ndarray, geometry: PoolGeometry, channels_last: bool, p: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(y in x's dtype, y64 in float64)``, both in the caller's layout."""
    ndim = x.ndim
    g = _as_2d(geometry)
    xm, last = memory_layout(_to_4d(x, channels_last), channels_last)
    n, c, h, w = shape_first(xm, last)
    ho, wo = g.output_size
    y = empty((n, c, ho, wo), x.dtype, last)
    y64 = empty((n, c, ho, wo), np.float64, last)
    rows, cols = _axis(g, 0), _axis(g, 1)
    args = (int(p), rows.start, rows.count, g.dilation[0], cols.start, cols.count,
            g.dilation[1])
    k = _kernels()
    if last:
        parallel_for(k.lp_fwd_nhwc, n * ho, xm.size, xm, y, y64, *args)
    else:
        planes = n * c
        parallel_for(
            k.lp_fwd_nchw, planes, xm.size, xm.reshape(planes, h, w),
            y.reshape(planes, ho, wo), y64.reshape(planes, ho, wo), *args,
        )
    return (
        _from_4d(to_caller(y, channels_last, last), channels_last, ndim),
        _from_4d(to_caller(y64, channels_last, last), channels_last, ndim),
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
    g = _as_2d(geometry)
    gym, last = memory_layout(_to_4d(grad_y, channels_last), channels_last)
    norms = in_memory_layout(_to_4d(y64, channels_last), channels_last, last)
    xm = in_memory_layout(_to_4d(x, channels_last), channels_last, last)
    n, c, ho, wo = shape_first(gym, last)
    h, w = g.input_size
    gx = empty((n, c, h, w), grad_y.dtype, last)
    args = (int(p), *_covering(g, 0), *_covering(g, 1))
    k = _kernels()
    if last:
        parallel_for(k.lp_bwd_nhwc, n * h, gx.size, gx, gym, norms, xm, *args)
    else:
        planes = n * c
        parallel_for(
            k.lp_bwd_nchw, planes, gx.size, gx.reshape(planes, h, w),
            gym.reshape(planes, ho, wo), norms.reshape(planes, ho, wo),
            xm.reshape(planes, h, w), *args,
        )
    return _from_4d(to_caller(gx, channels_last, last), channels_last, ndim)
