"""Drive the compiled pooling kernels: layouts, geometry tables, outputs.

:mod:`cnnblocks.engine.pooling` asks :func:`supports` first and, when it says yes, calls the
functions here with its own signatures. Covered: float32 and float64, 1-D and 2-D windows (1-D runs
as 2-D with ``H = 1``), any stride, dilation, asymmetric padding and ceil mode, NCHW and NHWC.
3-D windows go to :mod:`cnnblocks.engine.fast_pool3d`; other dtypes and empty arrays stay on the
NumPy path.

Memory layout. An input that is C-contiguous in the layout it is declared in runs as is. An input
declared NCHW whose *memory* is NHWC (``x_nhwc.transpose(0, 3, 1, 2)``, PyTorch's
``channels_last``), or the reverse, runs through the kernel for its memory layout, and the output
comes back in the same memory format (a transposed view), as PyTorch does. Any other strides
(slices with steps, negative strides) are first copied into a contiguous array: that copy is the
one extra full-size temporary this module can make, and only for such inputs.

Indices are int64 flat offsets within each (n, c) plane over the unpadded input: PyTorch's
numbering and dtype, which :mod:`cnnblocks.functional` hands out and saves for backward as is
(int32 would save 7–20% of the argmax pass, but a conversion pass would cost more).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
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
from cnnblocks.shapes import PoolGeometry

__all__ = [
    "avg_pool_backward",
    "avg_pool_forward",
    "global_avg_forward_nchw",
    "max_pool_backward",
    "max_pool_forward",
    "supports",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _kernels() -> ModuleType:
    from cnnblocks.engine import numba_pool  # imports numba: only when a kernel first runs

    return numba_pool


def _binned_kernels() -> ModuleType:
    from cnnblocks.engine import numba_binned

    return numba_binned


def supports(x: np.ndarray, geometry: PoolGeometry) -> bool:
    """Whether the compiled kernels handle this input and window."""
    return (
        x.dtype in _FLOATS
        and geometry.rank in (1, 2)
        and x.ndim == geometry.rank + 2
        and x.size > 0
    )


# ---------------------------------------------------------------------------------------------
# Geometry tables
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """Per-axis tables: where each window's first inside tap is and how many taps are inside."""

    size: int
    out: int
    kernel: int
    stride: int
    dilation: int
    pad_before: int
    pad_after: int
    start: NDArray[np.int64]  # first tap inside the input, per output position
    count: NDArray[np.int64]  # taps inside the input, per output position


# Geometry tables are memoised per PoolGeometry (hashable, immutable): building them in NumPy costs
# tens of µs per call, as much as pooling a small array. The cached arrays are only ever read.
@functools.lru_cache(maxsize=256)
def _axis(geometry: PoolGeometry, i: int) -> _Axis:
    size, out = geometry.input_size[i], geometry.output_size[i]
    k, s, d = geometry.kernel_size[i], geometry.stride[i], geometry.dilation[i]
    before, after = geometry.padding[i]
    origin = np.arange(out, dtype=np.int64) * s - before  # window start in input coordinates
    taps = origin[:, None] + np.arange(k, dtype=np.int64) * d  # (out, k)
    inside = (taps >= 0) & (taps < size)
    first = np.argmax(inside, axis=1)  # every window has one (checked by pool_geometry)
    start = origin + first * d
    return _Axis(size, out, k, s, d, before, after, start, inside.sum(axis=1).astype(np.int64))


@functools.lru_cache(maxsize=256)
def _covering(g: PoolGeometry, i: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Windows containing each input position along axis ``i``, in increasing order.

    Returns ``(windows, count)``: ``windows[p, :count[p]]`` are the outputs ``o`` with a tap
    ``j`` at ``p = o·S - p1 + j·d`` (``0 <= j < k``); a position in no window has count 0.
    """
    axis = _axis(g, i)
    window = np.repeat(np.arange(axis.out, dtype=np.int64), axis.kernel)
    position = (
        window * axis.stride - axis.pad_before
        + np.tile(np.arange(axis.kernel, dtype=np.int64) * axis.dilation, axis.out)
    )
    inside = (position >= 0) & (position < axis.size)
    window, position = window[inside], position[inside]
    order = np.argsort(position, kind="stable")  # by position, windows still increasing
    window, position = window[order], position[order]
    count = np.bincount(position, minlength=axis.size).astype(np.int64)
    slot = np.arange(position.size) - (np.cumsum(count) - count)[position]
    windows = np.zeros((axis.size, max(int(count.max()), 1)), np.int64)
    windows[position, slot] = window
    return windows, count


# the binned kernels' depth tables for a 2-D window: one slice, [0, 1)
_ONE_SLICE = (np.zeros(1, np.int64), np.ones(1, np.int64))


def _clipped(axis: _Axis) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Each window's cells inside the input as ``[start, end)`` (dilation 1 only)."""
    return axis.start, axis.start + axis.count


@functools.lru_cache(maxsize=256)
def _mean_cover(g: PoolGeometry) -> float:
    """Mean number of windows containing an input cell (1 or less when windows do not overlap)."""
    return float(np.prod([_covering(g, i)[1].mean() for i in range(2)]))


def _divisor(axis: _Axis, count_include_pad: bool, dtype: np.dtype[Any]) -> NDArray[Any]:
    """Per-axis divisor: taps inside [-p1, L + p2) with count_include_pad, else inside [0, L)."""
    if not count_include_pad:
        return axis.count.astype(dtype)
    origin = np.arange(axis.out, dtype=np.int64) * axis.stride - axis.pad_before
    taps = origin[:, None] + np.arange(axis.kernel, dtype=np.int64) * axis.dilation
    inside = (taps >= -axis.pad_before) & (taps < axis.size + axis.pad_after)
    counts: NDArray[Any] = inside.sum(axis=1).astype(dtype)
    return counts


def _padded_row(g: PoolGeometry) -> tuple[int, int, int, int, int]:
    """(S_w, d_w, k_w, p_w1, length): a row padded so that every W tap of every window is in it."""
    w, wo = g.input_size[1], g.output_size[1]
    k, s, d, before = g.kernel_size[1], g.stride[1], g.dilation[1], g.padding[1][0]
    length = max((wo - 1) * s + (k - 1) * d + 1, w + before)
    return s, d, k, before, length + length % 2  # even: splits into two equal halves


def _phased_rows(
    g: PoolGeometry, rows: _Axis
) -> tuple[int, int, int, int, int, NDArray[Any]]:
    """The argmax kernel's H layout: (S_h, d_h, k_h, p_h1, slots per phase, first real cell of
    each window as a flat int32 index).

    Padded row ``r`` is stored at phase ``r mod S_h``, slot ``r div S_h``; every tap of every
    window must have a slot.
    """
    (h, w), ho = g.input_size, g.output_size[0]
    k, s, d, before = g.kernel_size[0], g.stride[0], g.dilation[0], g.padding[0][0]
    length = max((ho - 1) * s + (k - 1) * d + 1, h + before)
    cols = _axis(g, 1)
    first_cell = (rows.start[:, None] * w + cols.start[None, :]).astype(np.int32).reshape(-1)
    return s, d, k, before, -(-length // s), first_cell


def _scratch_row(g: PoolGeometry) -> tuple[int, int, int, int, int]:
    """(S_w, d_w, k_w, p_w1, width): the argmax kernel's padded rows, a multiple of S_w wide."""
    s, d, k, before, length = _padded_row(g)
    return s, d, k, before, -(-length // s) * s


def _as_2d(geometry: PoolGeometry) -> PoolGeometry:
    """A 1-D window as a 2-D one over a height of 1."""
    if geometry.rank == 2:
        return geometry
    return PoolGeometry(
        input_size=(1, *geometry.input_size),
        output_size=(1, *geometry.output_size),
        kernel_size=(1, *geometry.kernel_size),
        stride=(1, *geometry.stride),
        dilation=(1, *geometry.dilation),
        padding=((0, 0), *geometry.padding),
        ceil_mode=geometry.ceil_mode,
    )


def _is_global(g: PoolGeometry) -> bool:
    return (
        g.output_size == (1, 1)
        and g.kernel_size == g.input_size
        and g.dilation == (1, 1)
        and all(p == (0, 0) for p in g.padding)
    )


# ---------------------------------------------------------------------------------------------
# Layouts (the rank-generic helpers are in cnnblocks.engine._layout)
# ---------------------------------------------------------------------------------------------

def _to_4d(a: np.ndarray, channels_last: bool) -> np.ndarray:
    """(N, C, L) -> (N, C, 1, L) and (N, L, C) -> (N, 1, L, C); 4-D arrays unchanged."""
    if a.ndim == 4:
        return a
    return a[:, :, None, :] if not channels_last else a[:, None, :, :]


def _from_4d(a: np.ndarray, channels_last: bool, ndim: int) -> np.ndarray:
    if ndim == 4:
        return a
    return a[:, :, 0, :] if not channels_last else a[:, 0, :, :]


# ---------------------------------------------------------------------------------------------
# Entry points (same signatures as cnnblocks.engine.pooling)
# ---------------------------------------------------------------------------------------------


def max_pool_forward(
    x: np.ndarray, geometry: PoolGeometry, channels_last: bool, with_indices: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Max pooling; ``(y, int64 indices or None)`` in the caller's layout."""
    ndim = x.ndim
    g = _as_2d(geometry)
    xm, last = memory_layout(_to_4d(x, channels_last), channels_last)
    n, c, _, w = shape_first(xm, last)
    ho, wo = g.output_size
    y = empty((n, c, ho, wo), x.dtype, last)
    idx = empty((n, c, ho, wo), np.int64, last) if with_indices else None
    k = _kernels()
    rows, cols = _axis(g, 0), _axis(g, 1)
    if last:
        args = (rows.start, rows.count, g.dilation[0], cols.start, cols.count, g.dilation[1])
        if idx is None:
            parallel_for(k.max_fwd_nhwc, n * ho, xm.size, xm, y, *args)
        elif xm.shape[1] * w < 2**31:
            # int32 winners, widened once per output pixel (see max_idx_fwd_nhwc_i32)
            parallel_for(k.max_idx_fwd_nhwc_i32, n * ho, xm.size, xm, y, idx, *args)
        else:
            parallel_for(k.max_idx_fwd_nhwc, n * ho, xm.size, xm, y, idx, *args)
    elif _is_global(g):
        planes = n * c
        if idx is None:
            parallel_for(
                k.global_max_fwd_nchw, planes, xm.size, xm.reshape(planes, -1), y.reshape(planes)
            )
        else:
            parallel_for(
                k.global_max_idx_fwd_nchw, planes, xm.size, xm.reshape(planes, -1),
                y.reshape(planes), idx.reshape(planes),
            )
    else:
        planes = n * c
        x3 = xm.reshape(planes, xm.shape[2], w)
        y3 = y.reshape(planes, ho, wo)
        head = (-np.inf, rows.start, rows.count, g.dilation[0], *_padded_row(g))
        if idx is None:
            # the integer view lets the kernel find −0 (see max_fwd_nchw); a view, not a copy
            bits_type = np.int32 if xm.dtype == np.float32 else np.int64
            minus_zero = bits_type(np.array(-0.0, xm.dtype).view(bits_type))
            parallel_for(
                k.max_fwd_nchw, planes, xm.size, x3, y3, *head, x3.view(bits_type), minus_zero,
                cols.start, cols.count,
            )
        elif g.kernel_size[1] == 3 and g.kernel_size[0] <= 3 and g.stride[1] <= 2:
            # 3-wide windows (ResNet's 3x3/2, 3x3/1, 1-D): PyTorch's scan in registers. Narrower
            # windows stay on the separable kernel: its nine taps would be mostly -inf filler
            sw, dw, _, pw, width = _scratch_row(g)
            sh, dh, kh, ph = g.stride[0], g.dilation[0], g.kernel_size[0], g.padding[0][0]
            padded_h = max((ho - 1) * sh + (kh - 1) * dh + 1, ph + xm.shape[2])
            parallel_for(
                k.max_idx_fwd_nchw_small, planes, xm.size, x3, y3, idx.reshape(planes, ho, wo),
                -np.inf, sh, dh, kh, ph, padded_h, sw, dw, pw, width, rows.start, cols.start,
            )
        elif g.stride[1] >= 3 and g.dilation == (1, 1):
            # each window clipped to the input, scanned directly (numba_binned explains why
            # that beats the separable kernel at these strides)
            parallel_for(
                _binned_kernels().binned_max_nchw, planes, xm.size, x3[:, None], y3[:, None],
                idx.reshape(planes, 1, ho, wo), *_ONE_SLICE, *_clipped(rows), *_clipped(cols),
            )
        else:
            parallel_for(
                k.max_idx_fwd_nchw, planes, xm.size, x3, y3, idx.reshape(planes, ho, wo),
                -np.inf, *_phased_rows(g, rows), *_scratch_row(g),
            )
    y_out = _from_4d(to_caller(y, channels_last, last), channels_last, ndim)
    if idx is None:
        return y_out, None
    return y_out, _from_4d(to_caller(idx, channels_last, last), channels_last, ndim)


def max_pool_backward(
    grad_y: np.ndarray,
    indices: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    input_shape: tuple[int, ...],
) -> np.ndarray:
    """Scatter ``grad_y`` to the argmax ``indices``; returns grad_x in the caller's layout."""
    ndim = grad_y.ndim
    g = _as_2d(geometry)
    gym, last = memory_layout(_to_4d(grad_y, channels_last), channels_last)
    idx = in_memory_layout(_to_4d(indices, channels_last), channels_last, last)
    if idx.dtype != np.int64:
        idx = idx.astype(np.int64)
    n, c, ho, wo = shape_first(gym, last)
    h, w = g.input_size
    gx = empty((n, c, h, w), grad_y.dtype, last)
    k = _kernels()
    if last and h * w < 2**31 and _mean_cover(g) <= 4:
        # gather by input row: grad_x written once, in order, with no zeroing pass; its cost grows
        # with the windows per cell (one check each), the scatter's does not. Measured at 1
        # thread: 1.8-2.8x faster than the scatter for non-overlapping windows (2x2/2), 1.2-1.4x
        # for 3x3/2 (2.25 windows per cell), 1.2x slower for 3x3/1 (7.8). Input rows are
        # independent units for any batch. Relies on the forward's indices (inside their window)
        parallel_for(
            k.max_bwd_gather_nhwc, n * h, gx.size, gx, gym, idx, *_covering(g, 0),
            *_covering(g, 1), grad_y.dtype.type(0),
        )
    elif last:
        # one image per unit (race-free); (image, channel block) units only when there are
        # fewer images than threads
        blocks = channel_blocks(n, c)
        rows = _axis(g, 0)
        row_end = np.maximum.accumulate(rows.start + (rows.count - 1) * g.dilation[0] + 1)
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


@functools.lru_cache(maxsize=256)
def _divisors(
    g: PoolGeometry,
    count_include_pad: bool,
    divisor_override: int | None,
    dtype: np.dtype[Any],
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Per-row and per-column divisors (their product divides each window's sum); memoised."""
    rows, cols = _axis(g, 0), _axis(g, 1)
    if divisor_override is not None:
        return np.full(rows.out, divisor_override, dtype), np.ones(cols.out, dtype)
    return _divisor(rows, count_include_pad, dtype), _divisor(cols, count_include_pad, dtype)


def avg_pool_forward(
    x: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> np.ndarray:
    """Average pooling in the caller's layout."""
    ndim = x.ndim
    g = _as_2d(geometry)
    xm, last = memory_layout(_to_4d(x, channels_last), channels_last)
    n, c, h, w = shape_first(xm, last)
    ho, wo = g.output_size
    y = empty((n, c, ho, wo), x.dtype, last)
    k = _kernels()
    rows, cols = _axis(g, 0), _axis(g, 1)
    div_h, div_w = _divisors(g, count_include_pad, divisor_override, x.dtype)
    if last:
        parallel_for(
            k.avg_fwd_nhwc, n * ho, xm.size, xm, y, rows.start, rows.count, g.dilation[0],
            cols.start, cols.count, g.dilation[1], div_h, div_w,
        )
    elif _is_global(g):
        planes = n * c
        parallel_for(
            k.global_avg_fwd_nchw, planes, xm.size, xm.reshape(planes, h * w), y.reshape(planes),
            div_h[0] * div_w[0], x.dtype.type(0),
        )
    else:
        planes = n * c
        parallel_for(
            k.avg_fwd_nchw, planes, xm.size, xm.reshape(planes, h, w), y.reshape(planes, ho, wo),
            rows.start, rows.count, g.dilation[0], *_padded_row(g), div_h, div_w,
        )
    return _from_4d(to_caller(y, channels_last, last), channels_last, ndim)


def global_avg_forward_nchw(x: np.ndarray) -> np.ndarray | None:
    """Mean of each (n, c) plane of a C-contiguous NCHW-style array (any spatial rank), shape
    ``(N, C, 1, ...)``; None when this shortcut does not apply.

    The common case of global pooling without building a window geometry: that and its tables
    cost about a quarter of the whole call on a (32, 2048, 7, 7) input.
    """
    if x.dtype not in _FLOATS or x.ndim < 3 or x.size == 0 or not x.flags.c_contiguous:
        return None
    planes = x.shape[0] * x.shape[1]
    size = x.size // planes
    y = np.empty((x.shape[0], x.shape[1]) + (1,) * (x.ndim - 2), x.dtype)
    parallel_for(
        _kernels().global_avg_fwd_nchw, planes, x.size, x.reshape(planes, size),
        y.reshape(planes), x.dtype.type(size), x.dtype.type(0),
    )
    return y


def avg_pool_backward(
    grad_y: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    count_include_pad: bool,
    divisor_override: int | None,
    input_shape: tuple[int, ...],
) -> np.ndarray:
    """Gradient of average pooling with respect to its input, in the caller's layout."""
    ndim = grad_y.ndim
    g = _as_2d(geometry)
    gym, last = memory_layout(_to_4d(grad_y, channels_last), channels_last)
    n, c, ho, wo = shape_first(gym, last)
    h, w = g.input_size
    gx = empty((n, c, h, w), grad_y.dtype, last)
    k = _kernels()
    rows = _axis(g, 0)
    div_h, div_w = _divisors(g, count_include_pad, divisor_override, grad_y.dtype)
    (kh, kw), (sh, sw), (dh, dw) = g.kernel_size, g.stride, g.dilation
    ph0, pw0 = g.padding[0][0], g.padding[1][0]
    if last:
        parallel_for(
            k.avg_bwd_nhwc, n * h, gx.size, gx, gym, kh, sh, dh, ph0, kw, sw, dw, pw0, div_h, div_w,
        )
    elif _is_global(g):
        planes = n * c
        parallel_for(
            k.global_avg_bwd_nchw, planes, gx.size, gx.reshape(planes, h * w), gym.reshape(planes),
            div_h[0] * div_w[0],
        )
    else:
        planes = n * c
        parallel_for(
            k.avg_bwd_nchw, planes, gx.size, gx.reshape(planes, h, w), gym.reshape(planes, ho, wo),
            rows.start, rows.count, dh, *_padded_row(g), div_h, div_w,
        )
    return _from_4d(to_caller(gx, channels_last, last), channels_last, ndim)
