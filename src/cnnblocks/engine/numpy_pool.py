"""Pooling kernels in plain NumPy: one vectorised pass per kernel tap.

A pooling window of ``k_h x k_w`` taps is computed as ``k_h * k_w`` whole-array operations. Tap
``(j_h, j_w)`` of every window reads the input cell

.. math::

    (o_h S_h - p_{h1} + j_h d_h,\\; o_w S_w - p_{w1} + j_w d_w)

for all output positions ``(o_h, o_w)`` at once: a strided *view* of the input. Positions that would
fall in the padding are clipped away per axis (the tap then writes only the matching slice of the
output), so padding is never materialised: no ``np.pad`` copy, no array of all windows, memory
``O(input + output)``. Python loops run over taps only, never over batch, channel or spatial
positions.

Layouts: ``x`` is ``(N, C, *spatial)`` (channels first) or ``(N, *spatial, C)`` (channels last);
results come back in the same layout.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from cnnblocks.shapes import PoolGeometry

__all__ = [
    "avg_pool_backward",
    "avg_pool_divisor",
    "avg_pool_forward",
    "compute_dtype",
    "max_pool_backward",
    "max_pool_forward",
    "plane_positions",
    "scatter_add_to_planes",
]

# One axis of one tap: (tap number j along the axis, output slice, input slice).
_AxisTap = tuple[int, slice, slice]


def compute_dtype(dtype: np.dtype[np.generic]) -> np.dtype[np.generic]:
    """Accumulator dtype for sums: float16 is summed in float32, other floats in themselves."""
    return np.dtype(np.float32) if dtype == np.float16 else np.dtype(dtype)


def _axis_taps(length: int, out: int, kernel: int, stride: int, dilation: int, before: int
               ) -> list[_AxisTap]:
    """For each tap of one axis, the output positions it touches and the input cells it reads.

    Tap ``j`` reads input ``o*S + j*d - p1`` for output ``o``; keep the ``o`` for which that lies
    in ``[0, L)``. Taps that touch no real cell are left out.
    """
    taps: list[_AxisTap] = []
    for j in range(kernel):
        offset = j * dilation - before
        o_lo = max(0, -(offset // stride))  # ceil(-offset / S), at least 0
        o_hi = min(out, (length - 1 - offset) // stride + 1)
        if o_hi <= o_lo:
            continue
        start = o_lo * stride + offset
        taps.append(
            (j, slice(o_lo, o_hi), slice(start, start + (o_hi - o_lo - 1) * stride + 1, stride))
        )
    return taps


def _taps(geometry: PoolGeometry) -> Iterator[tuple[int, tuple[slice, ...], tuple[slice, ...]]]:
    """Every tap with real cells: (row-major tap number, output slices, input slices) per axis.

    Tap numbers follow row-major window order, which is the order the first-maximum rule uses.
    """
    per_axis = [
        _axis_taps(n, o, k, s, d, p[0])
        for n, o, k, s, d, p in zip(
            geometry.input_size, geometry.output_size, geometry.kernel_size, geometry.stride,
            geometry.dilation, geometry.padding, strict=True,
        )
    ]
    for combo in itertools.product(*per_axis):
        number = 0
        for (j, _, _), k in zip(combo, geometry.kernel_size, strict=True):
            number = number * k + j
        yield number, tuple(t[1] for t in combo), tuple(t[2] for t in combo)


def _full_index(spatial: tuple[slice, ...], channels_last: bool) -> tuple[slice, ...]:
    """Index tuple selecting ``spatial`` slices with batch and channel axes whole."""
    every = slice(None)
    if channels_last:
        return (every, *spatial, every)
    return (every, every, *spatial)


def _spatial_shape(shape: tuple[int, ...], channels_last: bool) -> tuple[int, ...]:
    return shape[1:-1] if channels_last else shape[2:]


def _broadcastable(arr: np.ndarray, channels_last: bool) -> np.ndarray:
    """Reshape a per-position array of shape ``spatial`` so it broadcasts against the data."""
    return arr[None, ..., None] if channels_last else arr[None, None, ...]


def _lowest(dtype: np.dtype[np.generic]) -> float | int:
    """Value that never beats a real cell: -inf for floats, the minimum for integers."""
    if np.issubdtype(dtype, np.floating):
        return -np.inf
    return int(np.iinfo(dtype).min)  # type: ignore[type-var]


def _first_real_tap(geometry: PoolGeometry) -> np.ndarray:
    """Row-major number of the first tap of each window that lies on a real cell.

    It is each window's answer before any tap has been seen: the first real cell wins ties,
    including a window whose every real cell equals the initial value (-inf, or the integer
    minimum). Shape: the output's spatial shape.
    """
    number = np.zeros((1,) * geometry.rank, dtype=np.int64)
    for axis, (o, s, d, p) in enumerate(
        zip(geometry.output_size, geometry.stride, geometry.dilation, geometry.padding, strict=True)
    ):
        start = np.arange(o) * s - p[0]
        # smallest j with start + j*d >= 0; < k because no window lies wholly in padding
        first = np.maximum(0, -(start // d))
        shape = [1] * geometry.rank
        shape[axis] = o
        number = number * geometry.kernel_size[axis] + first.reshape(shape)
    return number


def _tap_to_index(geometry: PoolGeometry, taps: np.ndarray, channels_last: bool) -> np.ndarray:
    """Turn per-output tap numbers into PyTorch's flat index per (n, c) plane (int64).

    index = sum over axes of (o*S - p1 + j*d) * plane_stride: a per-position base plus a per-tap
    offset, both small tables.
    """
    plane_strides = [int(np.prod(geometry.input_size[a + 1:])) for a in range(geometry.rank)]
    base = np.zeros((1,) * geometry.rank, dtype=np.int64)
    for axis, (o, s, p) in enumerate(
        zip(geometry.output_size, geometry.stride, geometry.padding, strict=True)
    ):
        shape = [1] * geometry.rank
        shape[axis] = o
        base = base + ((np.arange(o) * s - p[0]) * plane_strides[axis]).reshape(shape)
    grids = np.indices(geometry.kernel_size).reshape(geometry.rank, -1)  # (rank, taps)
    offsets = sum(
        (grids[a] * geometry.dilation[a] * plane_strides[a] for a in range(geometry.rank)),
        start=np.zeros(grids.shape[1], dtype=np.int64),
    )
    return np.asarray(offsets[taps] + _broadcastable(base, channels_last), dtype=np.int64)


def max_pool_forward(
    x: np.ndarray, geometry: PoolGeometry, channels_last: bool, with_indices: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Max over each window; padding never wins. Optionally PyTorch's flat per-plane indices.

    NaN propagates (the value is NaN; the index is the last NaN in the window, as PyTorch);
    ties go to the first maximum in row-major window order (comparison is strict ``>``).
    """
    n_c = (x.shape[0], x.shape[-1]) if channels_last else x.shape[:2]
    out_shape = (
        (n_c[0], *geometry.output_size, n_c[1])
        if channels_last
        else (n_c[0], n_c[1], *geometry.output_size)
    )
    y = np.full(out_shape, _lowest(x.dtype), dtype=x.dtype)
    if not with_indices:
        for _, out_sl, in_sl in _taps(geometry):
            view = y[_full_index(out_sl, channels_last)]
            # np.maximum propagates NaN, which is the rule we want
            np.maximum(view, x[_full_index(in_sl, channels_last)], out=view)
        return y, None

    n_taps = int(np.prod(geometry.kernel_size))
    tap_dtype = np.int16 if n_taps < 2**15 else np.int32
    taps = np.empty(out_shape, dtype=tap_dtype)
    taps[...] = _broadcastable(_first_real_tap(geometry), channels_last)
    # One pass to find out whether NaN handling is needed at all beats a test per tap.
    # (The sum is NaN if any cell is NaN, or inf - inf: then the careful path is merely slower.)
    has_nan = False
    if np.issubdtype(x.dtype, np.floating):
        with np.errstate(over="ignore", invalid="ignore"):
            has_nan = bool(np.isnan(np.sum(x, dtype=np.float64)))
    for number, out_sl, in_sl in _taps(geometry):
        out_idx = _full_index(out_sl, channels_last)
        current = y[out_idx]
        candidate = x[_full_index(in_sl, channels_last)]
        wins = candidate > current
        if has_nan:
            wins |= np.isnan(candidate)  # a later NaN takes over: PyTorch's last-NaN index
        np.maximum(current, candidate, out=current)  # same winner, NaN included
        # taps = where(wins, number, taps) without a masked copy: branch-free arithmetic is
        # faster on unpredictable masks
        chosen = taps[out_idx]
        step = np.subtract(number, chosen, dtype=tap_dtype)
        step *= wins
        chosen += step
    return y, _tap_to_index(geometry, taps, channels_last)


def plane_positions(
    indices: np.ndarray, channels_last: bool, shape: tuple[int, ...]
) -> np.ndarray:
    """Positions in ``ravel()`` of a C-contiguous array of ``shape`` named by per-plane indices.

    ``indices[n, c, ...]`` (or ``[n, ..., c]`` channels last) is a flat offset inside plane
    ``(n, c)`` of that array, as PyTorch's pooling indices are.
    """
    spatial = _spatial_shape(shape, channels_last)
    plane = int(np.prod(spatial))
    n = shape[0]
    c = shape[-1] if channels_last else shape[1]
    idx = indices.astype(np.int64, copy=False)
    if channels_last:
        # element (n, pos, c) of an (N, P, C) array sits at n*P*C + pos*C + c
        batch = np.arange(n, dtype=np.int64).reshape((n,) + (1,) * (idx.ndim - 1)) * (plane * c)
        return np.asarray(batch + idx * c + np.arange(c, dtype=np.int64))
    planes = np.arange(n * c, dtype=np.int64).reshape((n, c) + (1,) * (idx.ndim - 2))
    return np.asarray(planes * plane + idx)


def scatter_add_to_planes(
    values: np.ndarray,
    indices: np.ndarray,
    channels_last: bool,
    input_shape: tuple[int, ...],
) -> np.ndarray:
    """Add each value into the input cell its per-plane flat index names (duplicates accumulate).

    ``values`` and ``indices`` share a shape in the caller's layout; the result has ``input_shape``
    and ``values``' dtype. Accumulation runs in float64 (``np.bincount``).
    """
    where = plane_positions(indices, channels_last, input_shape)
    total = np.bincount(
        where.ravel(), weights=values.ravel().astype(np.float64, copy=False),
        minlength=int(np.prod(input_shape)),
    )
    return total.reshape(input_shape).astype(values.dtype, copy=False)


def max_pool_backward(
    grad_y: np.ndarray,
    indices: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    input_shape: tuple[int, ...],
) -> np.ndarray:
    """Route each output gradient to its window's maximum; overlapping windows accumulate."""
    del geometry  # the indices already say where every gradient goes
    return scatter_add_to_planes(grad_y, indices, channels_last, input_shape)


def avg_pool_divisor(
    geometry: PoolGeometry, count_include_pad: bool, divisor_override: int | None
) -> np.ndarray:
    """Per-output-position divisor, shape = the output's spatial shape (float64).

    Per axis, count the window's taps ``o*S - p1 + j*d`` that fall in ``[-p1, L + p2)`` (declared
    padding counts, ceil-mode overhang does not) with ``count_include_pad``, in ``[0, L)``
    without; the window is a product of axes, so the divisor is the product of the counts.
    """
    if divisor_override is not None:
        return np.full(geometry.output_size, float(divisor_override))
    divisor = np.ones((1,) * geometry.rank)
    for axis, (n, o, k, s, d, p) in enumerate(
        zip(geometry.input_size, geometry.output_size, geometry.kernel_size, geometry.stride,
            geometry.dilation, geometry.padding, strict=True)
    ):
        positions = (np.arange(o) * s - p[0])[:, None] + np.arange(k) * d  # (o, k)
        low, high = (-p[0], n + p[1]) if count_include_pad else (0, n)
        count = ((positions >= low) & (positions < high)).sum(axis=1)
        shape = [1] * geometry.rank
        shape[axis] = o
        divisor = divisor * count.reshape(shape)
    return divisor


def avg_pool_forward(
    x: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> np.ndarray:
    """Sum of the real cells of each window divided by :func:`avg_pool_divisor` (padding adds 0)."""
    acc_dtype = compute_dtype(x.dtype)
    out_shape = (
        (x.shape[0], *geometry.output_size, x.shape[-1])
        if channels_last
        else (x.shape[0], x.shape[1], *geometry.output_size)
    )
    acc = np.zeros(out_shape, dtype=acc_dtype)
    for _, out_sl, in_sl in _taps(geometry):
        view = acc[_full_index(out_sl, channels_last)]
        np.add(view, x[_full_index(in_sl, channels_last)], out=view, casting="same_kind")
    divisor = avg_pool_divisor(geometry, count_include_pad, divisor_override).astype(acc_dtype)
    acc /= _broadcastable(divisor, channels_last)
    return acc.astype(x.dtype, copy=False)


def avg_pool_backward(
    grad_y: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    count_include_pad: bool,
    divisor_override: int | None,
    input_shape: tuple[int, ...],
) -> np.ndarray:
    """Spread ``grad_y / divisor`` back over every real cell of its window; overlaps add up."""
    acc_dtype = compute_dtype(grad_y.dtype)
    divisor = avg_pool_divisor(geometry, count_include_pad, divisor_override).astype(acc_dtype)
    scaled = grad_y.astype(acc_dtype, copy=True)
    scaled /= _broadcastable(divisor, channels_last)
    grad_x = np.zeros(input_shape, dtype=acc_dtype)
    for _, out_sl, in_sl in _taps(geometry):
        view = grad_x[_full_index(in_sl, channels_last)]
        view += scaled[_full_index(out_sl, channels_last)]
    return grad_x.astype(grad_y.dtype, copy=False)
