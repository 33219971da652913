"""Drive the compiled 3-D pooling kernels: layouts, geometry tables, outputs.

The 3-D sibling of :mod:`cnnblocks.engine.fast_pool`, with the same entry points and the same
rules: :mod:`cnnblocks.engine.pooling` asks :func:`supports` first and, when it says yes, calls
the functions here. Covered: float32 and float64 5-D arrays with 3-D windows, any kernel, stride,
dilation, asymmetric padding and ceil mode that :func:`~cnnblocks.shapes.pool_geometry` accepts,
NCDHW and NDHWC. Other dtypes and empty arrays stay on the NumPy path.

Routes (each chosen by measurement, float32, 1 thread, (4, 32, 16, 56, 56)):

- Max forward, NCDHW, overlapping windows: one plane at a time, separably, W then H then D with
  int32 tap codes (:func:`~cnnblocks.engine.numba_pool3d.max_sep_ncdhw`), each depth slice
  pooled once into a small per-thread ring: 3x faster than visiting the ``k_d·k_h·k_w`` taps of
  every output for 3×3×3/1. Non-overlapping windows (2×2×2/2) visit each output's taps directly,
  reading every input cell once (2×2×2/2 without W padding in one pass per output row).
  NDHWC: the direct kernels, each tap a vector of C channels. Both are exact about PyTorch's
  first maximum, down to which of +0 and -0 is returned. (Pooling every depth slice with
  :mod:`cnnblocks.engine.fast_pool`'s 2-D kernels and taking the max along D was as fast, but
  needs the pooled slices in NumPy arrays: more than the output in temporaries.)
- Max backward scatters the gradient to the indices: NCDHW with the 2-D kernel on
  ``(planes, D·H·W)``, NDHWC with a flat-indexed scatter per image (1.6-2x the 2-D NHWC kernel,
  which still serves batches with fewer images than threads). NDHWC windows that never
  overlap take a gather kernel instead that writes grad_x once, with no zeroing pass (2x).
- Average: each output row's input rows are summed at full width, then its W taps are read
  (``k_d·k_h + k_w`` passes per output instead of ``k_d·k_h·k_w``; in NDHWC 3x for 3×3×3/1,
  forward and backward); NDHWC windows that do not overlap read every input cell once, directly.

Memory layout. An input that is C-contiguous in the layout it is declared in runs as is; one
declared NCDHW whose memory is NDHWC (PyTorch's ``channels_last_3d``), or the reverse, runs
through the kernel for its memory layout and the output comes back in the same memory format (a
transposed view). Any other strides are first copied into a contiguous array (the one full-size
temporary this module can make, and only for such inputs). Kernels' scratch is per thread and at
most a few pooled slices or rows.

Indices are int64 flat offsets within each (n, c) volume over the unpadded input,
``(i_d·H + i_h)·W + i_w``: PyTorch's numbering and dtype.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cnnblocks.engine._layout import (
    empty,
    in_memory_layout,
    memory_layout,
    shape_first,
    to_caller,
)
from cnnblocks.engine._numba import channel_blocks, parallel_for
from cnnblocks.engine.fast_pool import _axis, _divisor
from cnnblocks.shapes import PoolGeometry

__all__ = [
    "avg_pool_backward",
    "avg_pool_forward",
    "max_pool_backward",
    "max_pool_forward",
    "supports",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _kernels() -> ModuleType:
    from cnnblocks.engine import numba_pool3d  # imports numba: only when a kernel first runs

    return numba_pool3d


def _kernels_2d() -> ModuleType:
    from cnnblocks.engine import numba_pool

    return numba_pool


def supports(x: np.ndarray, geometry: PoolGeometry) -> bool:
    """Whether the compiled 3-D kernels handle this input and window."""
    return x.dtype in _FLOATS and geometry.rank == 3 and x.ndim == 5 and x.size > 0


# ---------------------------------------------------------------------------------------------
# Geometry tables (memoised per PoolGeometry; the cached arrays are only ever read)
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _w_taps(g: PoolGeometry) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Per W tap ``e``: the first output column it reaches inside the input, how many columns it
    reaches, and the input column the first of them reads.

    Tap ``e`` of output column ``j`` reads ``j·S_w - p_w1 + e·d_w``; it is inside ``[0, W)`` for
    ``ceil((p_w1 - e·d_w) / S_w) <= j <= floor((W - 1 + p_w1 - e·d_w) / S_w)``.
    """
    w, wo = g.input_size[2], g.output_size[2]
    k, s, d, before = g.kernel_size[2], g.stride[2], g.dilation[2], g.padding[2][0]
    offset = np.arange(k, dtype=np.int64) * d - before
    first = np.maximum(0, -(offset // s))
    last = np.minimum(wo, (w - 1 - offset) // s + 1)
    count = np.maximum(0, last - first)
    column = np.where(count > 0, first * s + offset, 0)
    return first, count, column


@functools.lru_cache(maxsize=256)
def _tap_offsets(g: PoolGeometry) -> NDArray[np.int64]:
    """Flat offset of tap ``t = (a·k_h + b)·k_w + e`` from the window's first real row:
    ``(a·d_d·H + b·d_h)·W + e·d_w``, where ``a`` and ``b`` count from the first real D and H tap."""
    _, h, w = g.input_size
    (kd, kh, kw), (dd, dh, dw) = g.kernel_size, g.dilation
    a, b, e = np.meshgrid(np.arange(kd), np.arange(kh), np.arange(kw), indexing="ij")
    return ((a * dd * h + b * dh) * w + e * dw).astype(np.int64).reshape(-1)


def _padded_w(g: PoolGeometry) -> tuple[int, int, int, int, int]:
    """(S_w, d_w, k_w, p_w1, length): a row padded so that every W tap of every window is in it."""
    w, wo = g.input_size[2], g.output_size[2]
    k, s, d, before = g.kernel_size[2], g.stride[2], g.dilation[2], g.padding[2][0]
    return s, d, k, before, max((wo - 1) * s + (k - 1) * d + 1, w + before)


@functools.lru_cache(maxsize=256)
def _divisors(
    g: PoolGeometry,
    count_include_pad: bool,
    divisor_override: int | None,
    dtype: np.dtype[Any],
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Per-axis divisors; their product divides each window's sum."""
    axes = [_axis(g, i) for i in range(3)]
    if divisor_override is not None:
        return (
            np.full(axes[0].out, divisor_override, dtype),
            np.ones(axes[1].out, dtype),
            np.ones(axes[2].out, dtype),
        )
    d, h, w = (_divisor(a, count_include_pad, dtype) for a in axes)
    return d, h, w


def _tiled(g: PoolGeometry) -> bool:
    """Whether no two windows share an input cell (each window's extent at most its stride)."""
    return all((k - 1) * d + 1 <= s for k, d, s in zip(g.kernel_size, g.dilation, g.stride,
                                                        strict=True))


@functools.lru_cache(maxsize=256)
def _owner(g: PoolGeometry, i: int) -> NDArray[np.int64]:
    """For non-overlapping windows: the window holding each input position along axis ``i``
    (−1 for none). Position ``p`` is tap ``j`` of window ``o`` when ``p + p1 = o·S + j·d``."""
    size, out = g.input_size[i], g.output_size[i]
    k, s, d, before = g.kernel_size[i], g.stride[i], g.dilation[i], g.padding[i][0]
    owner = np.full(size, -1, np.int64)
    for o in range(out):
        taps = o * s - before + np.arange(k) * d
        inside = taps[(taps >= 0) & (taps < size)]
        owner[inside] = o
    return owner


def _window_args(g: PoolGeometry) -> tuple[Any, ...]:
    """(D start, D count, d_d, H start, H count, d_h): the clipped D and H taps per output."""
    depth, rows = _axis(g, 0), _axis(g, 1)
    return depth.start, depth.count, g.dilation[0], rows.start, rows.count, g.dilation[1]


# ---------------------------------------------------------------------------------------------
# Entry points (same signatures as cnnblocks.engine.pooling; layouts: cnnblocks.engine._layout)
# ---------------------------------------------------------------------------------------------


def max_pool_forward(
    x: np.ndarray, geometry: PoolGeometry, channels_last: bool, with_indices: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Max pooling; ``(y, int64 indices or None)`` in the caller's layout."""
    g = geometry
    xm, last = memory_layout(x, channels_last)
    n, c, d, h, w = shape_first(xm, last)
    do, ho, wo = g.output_size
    y = empty((n, c, do, ho, wo), x.dtype, last)
    idx = empty((n, c, do, ho, wo), np.int64, last) if with_indices else None
    k = _kernels()
    window = _window_args(g)
    if last:
        cols = _axis(g, 2)
        tail = (*window, cols.start, cols.count, g.dilation[2])
        if idx is None:
            parallel_for(k.max_fwd_ndhwc, n * do * ho, xm.size, xm, y, -np.inf, *tail)
        else:
            parallel_for(
                k.max_idx_fwd_ndhwc, n * do * ho, xm.size, xm, y, idx, -np.inf, *tail,
                g.kernel_size[1], g.kernel_size[2], _tap_offsets(g),
            )
    elif not _tiled(g):
        planes = n * c
        ring = (g.kernel_size[0] - 1) * g.dilation[0] + 1
        dummy = np.empty((1, 1, 1, 1), np.int64)
        parallel_for(
            k.max_sep_ncdhw, planes, xm.size, xm.reshape(planes, d, h, w),
            y.reshape(planes, do, ho, wo),
            dummy if idx is None else idx.reshape(planes, do, ho, wo), idx is not None,
            -np.inf, *window, _axis(g, 2).start, g.kernel_size[1], g.stride[2],
            g.padding[2][0], *_w_taps(g), _tap_offsets(g), ring,
        )
    else:
        planes = n * c
        x4 = xm.reshape(planes, d, h, w)
        y4 = y.reshape(planes, do, ho, wo)
        if idx is None:
            parallel_for(
                k.max_fwd_ncdhw, planes * do * ho, xm.size, x4, y4, -np.inf, *window,
                g.stride[2], *_w_taps(g),
            )
        else:
            parallel_for(
                k.max_idx_fwd_ncdhw, planes * do * ho, xm.size, x4, y4,
                idx.reshape(planes, do, ho, wo), -np.inf, *window, _axis(g, 2).start,
                g.kernel_size[1], g.stride[2], g.padding[2][0], *_w_taps(g), _tap_offsets(g),
            )
    y_out = to_caller(y, channels_last, last)
    return y_out, None if idx is None else to_caller(idx, channels_last, last)


def max_pool_backward(
    grad_y: np.ndarray,
    indices: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    input_shape: tuple[int, ...],
) -> np.ndarray:
    """Scatter ``grad_y`` to the argmax ``indices``; returns grad_x in the caller's layout."""
    gym, last = memory_layout(grad_y, channels_last)
    idx = in_memory_layout(indices, channels_last, last)
    if idx.dtype != np.int64:
        idx = idx.astype(np.int64)
    n, c, do, ho, wo = shape_first(gym, last)
    d, h, w = geometry.input_size
    gx = empty((n, c, d, h, w), grad_y.dtype, last)
    k = _kernels_2d()
    k3 = _kernels()
    volume, outs = d * h * w, do * ho * wo
    if last and _tiled(geometry):
        owners = [_owner(geometry, i) for i in range(3)]
        parallel_for(
            k3.max_bwd_tiled_ndhwc, n * d * h, gx.size, gx, gym, idx, *owners,
            grad_y.dtype.type(0),
        )
    elif last:
        # one image per unit, race-free; (image, channel block) units of the 2-D kernel (half
        # as fast) only when there are fewer images than threads
        blocks = channel_blocks(n, c)
        if blocks == 1:
            parallel_for(
                k3.max_bwd_ndhwc, n, gx.size, gx.reshape(n, -1), gym.reshape(n, -1),
                idx.reshape(n, -1), c,
            )
        else:
            parallel_for(
                k.max_bwd_nhwc, n * blocks, gx.size, gx.reshape(n, volume, c),
                gym.reshape(n, outs, c), idx.reshape(n, outs, c), blocks,
            )
    else:
        planes = n * c
        parallel_for(
            k.max_bwd_nchw, planes, gx.size, gx.reshape(planes, volume),
            gym.reshape(planes, outs), idx.reshape(planes, outs),
        )
    return to_caller(gx, channels_last, last)


def avg_pool_forward(
    x: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> np.ndarray:
    """Average pooling in the caller's layout."""
    g = geometry
    xm, last = memory_layout(x, channels_last)
    n, c, d, h, w = shape_first(xm, last)
    do, ho, wo = g.output_size
    y = empty((n, c, do, ho, wo), x.dtype, last)
    k = _kernels()
    divs = _divisors(g, count_include_pad, divisor_override, x.dtype)
    window = _window_args(g)
    if last and not _tiled(g):
        cols = _axis(g, 2)
        parallel_for(
            k.avg_fwd_ndhwc_separable, n * do * ho, xm.size, xm.reshape(n, d, h, w * c), y,
            *window,
            cols.start, cols.count, g.dilation[2], *divs,
        )
    elif last:
        cols = _axis(g, 2)
        parallel_for(
            k.avg_fwd_ndhwc, n * do * ho, xm.size, xm, y, *window, cols.start, cols.count,
            g.dilation[2], *divs,
        )
    else:
        planes = n * c
        parallel_for(
            k.avg_fwd_ncdhw, planes * do * ho, xm.size, xm.reshape(planes, d, h, w),
            y.reshape(planes, do, ho, wo), *window, *_padded_w(g), *divs,
        )
    return to_caller(y, channels_last, last)


def avg_pool_backward(
    grad_y: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    count_include_pad: bool,
    divisor_override: int | None,
    input_shape: tuple[int, ...],
) -> np.ndarray:
    """Gradient of average pooling with respect to its input, in the caller's layout."""
    g = geometry
    gym, last = memory_layout(grad_y, channels_last)
    n, c, do, ho, wo = shape_first(gym, last)
    d, h, w = g.input_size
    gx = empty((n, c, d, h, w), grad_y.dtype, last)
    k = _kernels()
    divs = _divisors(g, count_include_pad, divisor_override, grad_y.dtype)
    if last:
        per_axis = [
            value
            for i in range(3)
            for value in (g.kernel_size[i], g.stride[i], g.dilation[i], g.padding[i][0])
        ]
        if _tiled(g):
            parallel_for(k.avg_bwd_ndhwc, n * d * h, gx.size, gx, gym, *per_axis, *divs)
        else:
            parallel_for(
                k.avg_bwd_ndhwc_separable, n * d * h, gx.size, gx,
                gym.reshape(n, do, ho, wo * c),
                *per_axis, *divs,
            )
    else:
        planes = n * c
        parallel_for(
            k.avg_bwd_ncdhw, planes, gx.size, gx.reshape(planes, d, h, w),
            gym.reshape(planes, do, ho, wo), *_window_args(g), *_padded_w(g), *divs,
        )
    return to_caller(gx, channels_last, last)
