"""Pooling written to be read: one loop over output positions, vectorised over N and C.

These functions mirror the lesson. For every output position ``(o_h, o_w)`` the window starts at
``(o_h S_h - p_h1, o_w S_w - p_w1)`` in the unpadded input and has ``k_h x k_w`` taps spaced by the
dilation. Taps outside the input are padding: ignored by max pooling (as if they were -inf),
counted as zeros by average pooling. The output size comes from
:func:`cnnblocks.shapes.pool_geometry` (the lesson's ``H_out = (H + p_h1 + p_h2 - k_h)/S_h + 1``,
rounded down, or up with ``ceil_mode``).

Everything here is channels first, ``(N, C, *spatial)``, and slow on purpose: the tests compare the
fast code in :mod:`cnnblocks.functional` against these loops.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from cnnblocks.shapes import PoolGeometry, pool_geometry

__all__ = [
    "adaptive_avg_pool",
    "adaptive_max_pool",
    "avg_pool",
    "avg_pool_backward",
    "lp_pool",
    "max_pool",
    "max_pool_backward",
    "window_cells",
]


def window_cells(geometry: PoolGeometry, out_pos: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The real input cells of one window, in row-major window order.

    Tap ``j`` along an axis sits at ``o*S - p1 + j*d``; taps outside ``[0, L)`` are padding and
    left out.
    """
    per_axis = []
    for o, n, k, s, d, (p1, _) in zip(
        out_pos, geometry.input_size, geometry.kernel_size, geometry.stride,
        geometry.dilation, geometry.padding, strict=True,
    ):
        start = o * s - p1
        per_axis.append([start + j * d for j in range(k) if 0 <= start + j * d < n])
    return list(itertools.product(*per_axis))


def _at(position: tuple[Any, ...]) -> tuple[Any, ...]:
    """Index every batch and channel at one spatial ``position`` (ints or slices)."""
    return (slice(None), slice(None), *position)


def _geometry(x: np.ndarray, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool) -> PoolGeometry:
    return pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode,
                         func="reference")


def _first_max(values: np.ndarray) -> np.ndarray:
    """Which column of ``values`` (N, C, T) wins: the first maximum, or the last NaN if any."""
    winner: np.ndarray = np.argmax(values, axis=-1)
    if np.issubdtype(values.dtype, np.floating):
        nan = np.isnan(values)
        last_nan = values.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
        winner = np.where(nan.any(axis=-1), last_nan, winner)
    return winner


def max_pool(
    x: np.ndarray,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling and PyTorch's flat per-plane argmax indices, by looping over outputs.

    .. math:: y[o] = \\max_{i \\in \\text{window}(o)} x[i]

    Examples
    --------
    >>> y, idx = max_pool(np.arange(9.0).reshape(1, 1, 3, 3), 2, 1)  # d2l's [[0, 1, 2], ...]
    >>> y[0, 0], idx[0, 0]
    (array([[4., 5.],
           [7., 8.]]), array([[4, 5],
           [7, 8]]))
    """
    g = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    n, c = x.shape[:2]
    y = np.empty((n, c, *g.output_size), dtype=x.dtype)
    indices = np.empty((n, c, *g.output_size), dtype=np.int64)
    for out_pos in itertools.product(*(range(o) for o in g.output_size)):
        cells = window_cells(g, out_pos)
        values = np.stack([x[_at(cell)] for cell in cells], axis=-1)
        winner = _first_max(values)  # (N, C): which cell of the window
        flat = np.array([np.ravel_multi_index(cell, g.input_size) for cell in cells])
        y[_at(out_pos)] = np.take_along_axis(
            values, winner[..., None], axis=-1
        )[..., 0]
        indices[_at(out_pos)] = flat[winner]
    return y, indices


def max_pool_backward(
    grad_y: np.ndarray,
    x: np.ndarray,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """For every window, add its output gradient to the input cell that won it."""
    g = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    grad_x = np.zeros(x.shape, dtype=grad_y.dtype)
    batch, chan = np.meshgrid(np.arange(x.shape[0]), np.arange(x.shape[1]), indexing="ij")
    for out_pos in itertools.product(*(range(o) for o in g.output_size)):
        cells = window_cells(g, out_pos)
        values = np.stack([x[_at(cell)] for cell in cells], axis=-1)
        winner = _first_max(values)
        coords = np.array(cells)[winner]  # (N, C, rank): the winning cell of each plane
        target = (batch, chan, *(coords[..., a] for a in range(g.rank)))
        # np.add.at adds once per (n, c); the loop over windows accumulates overlaps
        np.add.at(grad_x, target, grad_y[_at(out_pos)])
    return grad_x


def _divisor(g: PoolGeometry, out_pos: tuple[int, ...], count_include_pad: bool,
             divisor_override: int | None) -> int:
    """How many taps of the window the mean divides by (PyTorch = ONNX)."""
    if divisor_override is not None:
        return divisor_override
    count = 1
    for o, n, k, s, d, (p1, p2) in zip(
        out_pos, g.input_size, g.kernel_size, g.stride, g.dilation, g.padding, strict=True
    ):
        low, high = (-p1, n + p2) if count_include_pad else (0, n)
        count *= sum(1 for j in range(k) if low <= o * s - p1 + j * d < high)
    return count


def avg_pool(
    x: np.ndarray,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Mean of each window: sum of its real cells over the divisor.

    With ``count_include_pad`` the divisor counts taps in the declared padding too (not the
    ceil-mode overhang beyond it); without it, only real cells; ``divisor_override`` wins.

    .. math:: y[o] = \\frac{1}{D_o} \\sum_{i \\in \\text{window}(o)} x[i]

    Examples
    --------
    >>> avg_pool(np.ones((1, 1, 6)), 3, 2, 1, ceil_mode=True)  # divisors 3, 3, 3, 2 (overhang)
    array([[[0.66666667, 1.        , 1.        , 0.5       ]]])
    """
    g = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    y = np.empty((*x.shape[:2], *g.output_size), dtype=np.float64)
    for out_pos in itertools.product(*(range(o) for o in g.output_size)):
        total = np.zeros(x.shape[:2])
        for cell in window_cells(g, out_pos):
            total += x[_at(cell)]
        y[_at(out_pos)] = total / _divisor(
            g, out_pos, count_include_pad, divisor_override
        )
    return y.astype(x.dtype)


def avg_pool_backward(
    grad_y: np.ndarray,
    x_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Each window hands ``grad / divisor`` to every real cell it covers."""
    g = pool_geometry(x_shape[2:], kernel_size, stride, padding, dilation, ceil_mode,
                      func="reference")
    grad_x = np.zeros(x_shape, dtype=np.float64)
    for out_pos in itertools.product(*(range(o) for o in g.output_size)):
        share = grad_y[_at(out_pos)] / _divisor(
            g, out_pos, count_include_pad, divisor_override
        )
        for cell in window_cells(g, out_pos):
            grad_x[_at(cell)] += share
    return grad_x.astype(grad_y.dtype)


def lp_pool(
    x: np.ndarray,
    p: float,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """ONNX LpPool: ``(sum over real cells |x|^p)^(1/p)``; padding adds nothing.

    Examples
    --------
    >>> lp_pool(np.array([[[3.0, -4.0]]]), 2, 2)  # sqrt(9 + 16)
    array([[[5.]]])
    """
    g = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    y = np.empty((*x.shape[:2], *g.output_size), dtype=np.float64)
    for out_pos in itertools.product(*(range(o) for o in g.output_size)):
        total = np.zeros(x.shape[:2])
        for cell in window_cells(g, out_pos):
            total += np.abs(x[_at(cell)].astype(np.float64)) ** p
        y[_at(out_pos)] = total ** (1.0 / p)
    return y.astype(x.dtype)


def _adaptive_windows(spatial: tuple[int, ...], output_size: tuple[int, ...]
                      ) -> list[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """Each output position with its bin: along an axis, ``[floor(iL/O), ceil((i+1)L/O))``."""
    result = []
    for out_pos in itertools.product(*(range(o) for o in output_size)):
        bins = tuple(
            slice((i * n) // o, -(-((i + 1) * n) // o))
            for i, n, o in zip(out_pos, spatial, output_size, strict=True)
        )
        result.append((out_pos, bins))
    return result


def adaptive_avg_pool(x: np.ndarray, output_size: tuple[int, ...]) -> np.ndarray:
    """Mean of each adaptive bin (PyTorch's bins).

    Examples
    --------
    >>> adaptive_avg_pool(np.arange(10.0).reshape(1, 1, 10), (4,))  # bins 0-2, 2-4, 5-7, 7-9
    array([[[1., 3., 6., 8.]]])
    """
    y = np.empty((*x.shape[:2], *output_size), dtype=np.float64)
    for out_pos, bins in _adaptive_windows(x.shape[2:], output_size):
        region = x[_at(bins)].astype(np.float64)
        y[_at(out_pos)] = region.reshape(*x.shape[:2], -1).mean(axis=-1)
    return y.astype(x.dtype)


def adaptive_max_pool(x: np.ndarray, output_size: tuple[int, ...]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Max of each adaptive bin and its flat per-plane index (first max, last NaN).

    Examples
    --------
    >>> adaptive_max_pool(np.array([[[1.0, 2.0, 3.0]]]), (5,))  # 3 -> 5 repeats cells
    (array([[[1., 2., 2., 3., 3.]]]), array([[[0, 1, 1, 2, 2]]]))
    """
    spatial = x.shape[2:]
    y = np.empty((*x.shape[:2], *output_size), dtype=x.dtype)
    indices = np.empty((*x.shape[:2], *output_size), dtype=np.int64)
    for out_pos, bins in _adaptive_windows(spatial, output_size):
        cells = list(itertools.product(*(range(b.start, b.stop) for b in bins)))
        values = np.stack([x[_at(cell)] for cell in cells], axis=-1)
        winner = _first_max(values)
        flat = np.array([np.ravel_multi_index(cell, spatial) for cell in cells])
        y[_at(out_pos)] = np.take_along_axis(
            values, winner[..., None], axis=-1
        )[..., 0]
        indices[_at(out_pos)] = flat[winner]
    return y, indices
