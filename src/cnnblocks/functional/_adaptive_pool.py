"""Adaptive pooling (average and max) to a requested output size, with PyTorch's bins.

Part of :mod:`cnnblocks.functional.pooling`, which re-exports these names (and
:func:`adaptive_bins`). float32 and float64 inputs run compiled: when every output size divides
its input size (a 14×14 map to 7×7, any map to 1×1) the bins are equal windows and go to the
ordinary pooling kernels; other bins (1-D to 3-D) go to :mod:`cnnblocks.engine.fast_adaptive`,
which matches PyTorch's NCHW kernels bit for bit. float16 and integers run on NumPy here,
vectorised over bins: Python-level loops run over the taps of a bin (about ``L/O + 1``), never
over output positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnnblocks import _checks
from cnnblocks._checks import fail
from cnnblocks.autograd import Context
from cnnblocks.engine import fast_adaptive
from cnnblocks.engine import pooling as engine
from cnnblocks.errors import ParameterError
from cnnblocks.functional._global_pool import _argmax_last_nan, _may_hold_nan
from cnnblocks.functional._pool_args import (
    _backward_args,
    _check_bool,
    _check_numeric,
    _check_spatial_not_empty,
    _spatial_rank,
    _split,
)
from cnnblocks.shapes import PoolGeometry, adaptive_bins, parse_data_format, pool_geometry

__all__ = [
    "adaptive_avg_pool",
    "adaptive_avg_pool_backward",
    "adaptive_avg_pool_forward",
    "adaptive_bins",
    "adaptive_max_pool",
    "adaptive_max_pool_backward",
    "adaptive_max_pool_forward",
]


def _on_axis(values: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """``values`` (one per position along ``axis``) shaped to broadcast against an ndim array."""
    shape = [1] * ndim
    shape[axis] = values.size
    return values.reshape(shape)


def _adaptive_prepare(
    x: Any, output_size: Any, data_format: Any, func: str
) -> tuple[np.ndarray, bool, tuple[int, ...], tuple[int, ...]]:
    """Return the array, its layout, the spatial axes and the resolved output size."""
    arr = _checks.as_array(x, func=func)
    _check_numeric(arr, func)
    rank = _spatial_rank(arr, output_size, "output_size", func)
    channels_last = parse_data_format(data_format, rank, func=func)
    _, _, spatial = _split(arr.shape, channels_last)
    _check_spatial_not_empty(arr, spatial, rank, func)
    rule = f"an int >= 1 or a tuple of {rank} entries, each an int >= 1 or None (keep that size)"
    if isinstance(output_size, Sequence) and not isinstance(output_size, str):
        entries = tuple(output_size)
    else:
        entries = (output_size,) * rank
    sizes: list[int] = []
    for entry, length in zip(entries, spatial, strict=True):
        if entry is None:
            sizes.append(length)
            continue
        try:
            sizes.append(_checks.as_int_tuple(entry, 1, func=func, name="output_size")[0])
        except ParameterError:
            raise fail(func, "output_size", rule, output_size) from None
    first = 1 if channels_last else 2
    axes = tuple(range(first, first + rank))
    return arr, channels_last, axes, tuple(sizes)


def _equal_bins(
    arr: np.ndarray, axes: tuple[int, ...], sizes: tuple[int, ...]
) -> PoolGeometry | None:
    """The ordinary pooling window equal to these adaptive bins, if the compiled engine runs it.

    When every output size divides its input size, bin ``i`` along an axis is exactly
    ``[i·k, (i+1)·k)`` with ``k = L / L_out``: a window of ``k`` with stride ``k`` and no padding,
    the same cells, divisor and first-maximum order (ResNet's 7×7 head on 14×14 or 7×7 maps,
    global pooling). Those go to the compiled pooling kernels; other bins stay on the NumPy path.
    """
    lengths = tuple(arr.shape[a] for a in axes)
    if any(length % out for length, out in zip(lengths, sizes, strict=True)):
        return None
    kernel = tuple(length // out for length, out in zip(lengths, sizes, strict=True))
    geometry = pool_geometry(lengths, kernel, kernel, 0)
    if engine.compiled(arr, geometry):
        return geometry
    return None


def _along(ndim: int, axis: int, index: slice | np.ndarray) -> tuple[slice | np.ndarray, ...]:
    full: list[slice | np.ndarray] = [slice(None)] * ndim
    full[axis] = index
    return tuple(full)


# Adaptive bins are contiguous windows of K = max(ends - starts) <= L/O + 2 cells, pooled one axis
# at a time without a loop over bins or cells. The mean adds tap j of every bin at once (K
# vectorised passes, and their transpose for the gradient); the maximum lays each bin's cells out
# as an (O, K) block and takes one argmax over it. Memory stays O(input + output).

def _bin_taps(starts: np.ndarray, ends: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per tap ``j``: the bins with more than ``j`` cells and the cell each reads, ``start + j``.

    Within one tap the bins are distinct, so ``out[bins] += x[cells]`` adds each term once.
    """
    sizes = ends - starts
    taps = []
    for j in range(int(sizes.max())):
        bins = np.flatnonzero(sizes > j)
        taps.append((bins, starts[bins] + j))
    return taps


def _cell_taps(
    starts: np.ndarray, ends: np.ndarray, length: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The transpose of :func:`_bin_taps`: per tap ``r``, cells and the ``r``-th bin covering each.

    Bins covering cell ``t`` are consecutive, from the first with ``end > t`` to the last with
    ``start <= t``; within one tap the cells are distinct.
    """
    cells = np.arange(length)
    first = np.searchsorted(ends, cells, side="right")
    last = np.searchsorted(starts, cells, side="right") - 1
    count = last - first + 1
    taps = []
    for r in range(int(count.max())):
        covered = np.flatnonzero(count > r)
        taps.append((covered, first[covered] + r))
    return taps


def _bin_cells(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``(O, K)`` cell numbers: row ``i`` lists bin ``i``'s cells, its last cell repeated to K.

    For a maximum the repeats are harmless: a cell cannot beat itself, and a repeated NaN
    names the same cell. ``O * K <= L + 2 O``: about one copy of the input, never more.
    """
    sizes = ends - starts
    cells: np.ndarray = np.minimum(starts[:, None] + np.arange(int(sizes.max())), ends[:, None] - 1)
    return cells


def _binned(x: np.ndarray, axis: int, cells: np.ndarray) -> np.ndarray:
    """``x`` with ``axis`` replaced by the two axes ``(O, K)`` of ``cells``.

    Bins that tile the axis exactly (``L = O K``) need no copy: a reshape; otherwise one gather.
    """
    out, width = cells.shape
    shape = (*x.shape[:axis], out, width, *x.shape[axis + 1:])
    if out * width == x.shape[axis] and np.array_equal(cells.ravel(), np.arange(out * width)):
        return x.reshape(shape)
    return np.take(x, cells.ravel(), axis=axis).reshape(shape)


def _on_axes(cells: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """``(O, K)`` ``cells`` shaped to broadcast against an array whose axes ``axis, axis+1`` are
    ``(O, K)``."""
    return cells.reshape((1,) * axis + cells.shape + (1,) * (ndim - axis - 2))


def _add_taps(
    dst: np.ndarray, src: np.ndarray, axis: int, taps: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    """``dst[..., to, ...] += src[..., frm, ...]`` along ``axis`` for every ``(to, frm)`` tap."""
    whole = dst.shape[axis]
    for to, frm in taps:
        part = np.take(src, frm, axis=axis)
        if to.size == whole:  # every position: a plain in-place add, no fancy assignment
            dst += part
        else:
            dst[_along(dst.ndim, axis, to)] += part


def _binned_means(arr: np.ndarray, axes: tuple[int, ...], sizes: tuple[int, ...]) -> np.ndarray:
    """Adaptive means on the NumPy path (any bins, float16 computed in float32)."""
    acc = np.dtype(np.float32) if arr.dtype == np.float16 else arr.dtype
    current = arr
    # The mean over a product of bins is the mean of per-axis means: reduce axis by axis.
    for axis, out in zip(axes, sizes, strict=True):
        starts, ends = adaptive_bins(current.shape[axis], out)
        shape = list(current.shape)
        shape[axis] = out
        reduced = np.zeros(shape, dtype=acc)
        _add_taps(reduced, current, axis, _bin_taps(starts, ends))
        reduced /= _on_axis(ends - starts, axis, reduced.ndim)
        current = reduced
    return current.astype(arr.dtype, copy=False)


def _adaptive_avg_pool_forward(
    func: str,
    x: Any, output_size: Any, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Adaptive average pooling that also returns the Context."""
    arr, channels_last, axes, sizes = _adaptive_prepare(x, output_size, data_format, func)
    _checks.check_float_dtype(arr, func=func)
    geometry = _equal_bins(arr, axes, sizes)
    if geometry is not None:
        y = engine.avg_pool_forward(arr, geometry, channels_last, True, None)
    elif fast_adaptive.supports(arr, len(axes)):
        y = fast_adaptive.avg_forward(arr, sizes, channels_last)
    else:
        y = _binned_means(arr, axes, sizes)
    ctx = Context(
        op="adaptive_avg_pool",
        backward_fn=adaptive_avg_pool_backward,
        saved={"input_shape": arr.shape, "output_shape": y.shape, "axes": axes,
               "channels_last": channels_last, "geometry": geometry},
    )
    return y, ctx


def adaptive_avg_pool_forward(
    x: Any, output_size: Any, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Adaptive average pooling that also returns the Context."""
    return _adaptive_avg_pool_forward(
        "adaptive_avg_pool_forward", x, output_size, data_format=data_format
    )


def adaptive_avg_pool(x: Any, output_size: Any, *, data_format: str = "NCHW") -> np.ndarray:
    """Average over adaptive bins so the output has exactly ``output_size`` cells per axis.

    Bin ``i`` of an axis of length ``L`` pooled to ``O`` covers
    ``[floor(i L / O), ceil((i + 1) L / O))`` (PyTorch); bins overlap when ``O`` does not divide
    ``L``, and repeat cells when ``O > L``.

    .. math:: y_i = \\frac{1}{|B_i|} \\sum_{j \\in B_i} x_j, \\qquad
        \\frac{\\partial y_i}{\\partial x_j} = \\frac{1}{|B_i|} \\; (j \\in B_i)

    Parameters
    ----------
    x : array_like
        ``(N, C, *spatial)`` or channels last; floating point.
    output_size : int or tuple of (int or None)
        Output size per spatial axis; ``None`` keeps that axis's size.

    Examples
    --------
    >>> adaptive_avg_pool(np.array([[[1.0, 2.0, 3.0]]]), 5)
    array([[[1. , 1.5, 2. , 2.5, 3. ]]])
    """
    return _adaptive_avg_pool_forward(
        "adaptive_avg_pool", x, output_size, data_format=data_format
    )[0]


def adaptive_avg_pool_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Gradient of :func:`adaptive_avg_pool`: each bin spreads ``grad / |bin|`` over its cells."""
    grad, s = _backward_args(grad_y, ctx, "adaptive_avg_pool", "adaptive_avg_pool_backward")
    geometry = s.get("geometry")
    if geometry is not None and engine.compiled(grad, geometry):
        return engine.avg_pool_backward(
            grad, s["geometry"], s["channels_last"], True, None, tuple(s["input_shape"])
        )
    if fast_adaptive.supports(grad, len(s["axes"])):
        return fast_adaptive.avg_backward(grad, s["channels_last"], tuple(s["input_shape"]))
    acc = np.dtype(np.float32) if grad.dtype == np.float16 else grad.dtype
    current = grad.astype(acc)
    input_shape = tuple(s["input_shape"])
    for axis in reversed(s["axes"]):
        length = input_shape[axis]
        starts, ends = adaptive_bins(length, current.shape[axis])
        shape = list(current.shape)
        shape[axis] = length
        spread = np.zeros(shape, dtype=acc)
        share = current / _on_axis(ends - starts, axis, current.ndim)
        _add_taps(spread, share, axis, _cell_taps(starts, ends, length))
        current = spread
    return current.astype(grad.dtype, copy=False)


def _binned_max(
    arr: np.ndarray, axes: tuple[int, ...], sizes: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive maxima and PyTorch's flat per-plane indices on the NumPy path (any bins)."""
    spatial = tuple(arr.shape[a] for a in axes)
    check_nan = _may_hold_nan(arr)
    current = arr
    chosen: dict[int, np.ndarray] = {}  # axis -> position of the winning cell along that axis
    # Reduce the innermost axis first: the winner along W in each row, then the first row whose
    # winner is largest. That order finds the first maximum in row-major order (and the last NaN).
    for axis, out in reversed(list(zip(axes, sizes, strict=True))):
        starts, ends = adaptive_bins(current.shape[axis], out)
        cells = _bin_cells(starts, ends)  # (O, K)
        binned = _binned(current, axis, cells)  # the axis split into (O, K)
        winner = _argmax_last_nan(binned, axis + 1, check_nan)  # (..., O, 1, ...)
        values = np.take_along_axis(binned, winner, axis=axis + 1).squeeze(axis + 1)
        grid = np.broadcast_to(_on_axes(cells, axis, binned.ndim), binned.shape)
        own = np.take_along_axis(grid, winner, axis=axis + 1).squeeze(axis + 1)
        chosen = {
            other: np.take_along_axis(positions, own, axis=axis)
            for other, positions in chosen.items()
        }
        chosen[axis] = own
        current = values
    indices = np.zeros(current.shape, dtype=np.int64)
    for k, axis in enumerate(axes):
        indices += chosen[axis] * int(np.prod(spatial[k + 1:]))
    return current, indices


def _adaptive_max_pool_forward(
    func: str,
    x: Any, output_size: Any, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Adaptive max pooling that also returns the Context (``saved["indices"]``)."""
    arr, channels_last, axes, sizes = _adaptive_prepare(x, output_size, data_format, func)
    geometry = _equal_bins(arr, axes, sizes)
    if geometry is not None:
        y, found = engine.max_pool_forward(arr, geometry, channels_last, True)
        assert found is not None  # internal invariant: the engine was asked for indices
        indices = found
    elif fast_adaptive.supports(arr, len(axes)):
        y, indices = fast_adaptive.max_forward(arr, sizes, channels_last)
    else:
        y, indices = _binned_max(arr, axes, sizes)
    ctx = Context(
        op="adaptive_max_pool",
        backward_fn=adaptive_max_pool_backward,
        saved={"indices": indices, "input_shape": arr.shape, "output_shape": y.shape,
               "channels_last": channels_last, "geometry": geometry},
    )
    return y, ctx


def adaptive_max_pool_forward(
    x: Any, output_size: Any, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Adaptive max pooling that also returns the Context (``saved["indices"]``)."""
    return _adaptive_max_pool_forward(
        "adaptive_max_pool_forward", x, output_size, data_format=data_format
    )


def adaptive_max_pool(
    x: Any, output_size: Any, return_indices: bool = False, *, data_format: str = "NCHW"
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Maximum over adaptive bins (see :func:`adaptive_avg_pool` for the bins).

    Integer dtypes are accepted. NaN propagates; ties go to the first maximum in row-major order;
    ``return_indices`` gives PyTorch's int64 flat per-plane indices. The gradient goes to the
    argmax; overlapping bins accumulate.

    Examples
    --------
    >>> adaptive_max_pool(np.array([[[1.0, 5.0, 2.0, 0.0]]]), 2)
    array([[[5., 2.]]])
    """
    want = _check_bool(return_indices, "adaptive_max_pool", "return_indices")
    y, ctx = _adaptive_max_pool_forward(
        "adaptive_max_pool", x, output_size, data_format=data_format
    )
    if want:
        return y, ctx.saved["indices"]
    return y


def adaptive_max_pool_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Gradient of :func:`adaptive_max_pool`: scatter-add to the argmax of each bin."""
    grad, s = _backward_args(grad_y, ctx, "adaptive_max_pool", "adaptive_max_pool_backward")
    geometry = s.get("geometry")
    if geometry is not None and engine.compiled(grad, geometry):
        return engine.max_pool_backward(
            grad, s["indices"], geometry, s["channels_last"], tuple(s["input_shape"])
        )
    if fast_adaptive.supports(grad, len(s["input_shape"]) - 2):
        return fast_adaptive.max_backward(
            grad, s["indices"], s["channels_last"], tuple(s["input_shape"])
        )
    return engine.scatter_add_to_planes(
        grad, s["indices"], s["channels_last"], tuple(s["input_shape"])
    )

