"""Memory layouts for the compiled pooling drivers, at any spatial rank.

The kernels want C-contiguous arrays in the layout the *memory* has: channels first (N, C, ...)
or channels last (N, ..., C). A caller's array may be declared in one layout and stored in the
other (PyTorch's ``channels_last``: ``x_nhwc.transpose(0, 3, 1, 2)``); these helpers find the
memory layout without copying, allocate outputs in it, and hand results back as views in the
caller's layout. Shapes are spoken of channels first: ``(N, C, *spatial)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "empty",
    "from_three_spatial",
    "in_memory_layout",
    "memory_layout",
    "planes",
    "shape_first",
    "to_caller",
    "with_three_spatial",
]


def _to_last(ndim: int) -> tuple[int, ...]:
    """Axes taking (N, C, *spatial) to (N, *spatial, C)."""
    return (0, *range(2, ndim), 1)


def _to_first(ndim: int) -> tuple[int, ...]:
    """Axes taking (N, *spatial, C) to (N, C, *spatial)."""
    return (0, ndim - 1, *range(1, ndim - 1))


def memory_layout(a: np.ndarray, channels_last: bool) -> tuple[np.ndarray, bool]:
    """Return (array in C order of its memory layout, whether that layout is channels-last).

    ``a`` is in the caller's layout. No copy when ``a`` is C-contiguous in either layout.
    """
    if a.flags.c_contiguous:
        return a, channels_last
    other = a.transpose(_to_first(a.ndim) if channels_last else _to_last(a.ndim))
    if other.flags.c_contiguous:
        return other, not channels_last
    return np.ascontiguousarray(a), channels_last


def in_memory_layout(a: np.ndarray, caller_last: bool, memory_last: bool) -> np.ndarray:
    """View (or, if needed, copy) ``a`` (caller's layout) as a C-contiguous memory-layout array."""
    if caller_last != memory_last:
        a = a.transpose(_to_first(a.ndim) if caller_last else _to_last(a.ndim))
    return np.ascontiguousarray(a)


def to_caller(a: np.ndarray, caller_last: bool, memory_last: bool) -> np.ndarray:
    """``a`` (memory layout) as a view in the caller's layout."""
    if caller_last == memory_last:
        return a
    return a.transpose(_to_last(a.ndim) if caller_last else _to_first(a.ndim))


def empty(shape_first: tuple[int, ...], dtype: Any, memory_last: bool) -> np.ndarray:
    """Uninitialised array for a channels-first shape, laid out channels-last if ``memory_last``."""
    n, c, *spatial = shape_first
    return np.empty((n, *spatial, c) if memory_last else (n, c, *spatial), dtype)


def shape_first(a: np.ndarray, memory_last: bool) -> tuple[int, ...]:
    """The channels-first shape ``(N, C, *spatial)`` of an array in its memory layout."""
    if memory_last:
        return (a.shape[0], a.shape[-1], *a.shape[1:-1])
    return tuple(a.shape)


def with_three_spatial(a: np.ndarray, channels_last: bool) -> np.ndarray:
    """A view of ``a`` with three spatial axes ``(D, H, W)``: missing leading ones get length 1.

    Kernels written for 3-D windows then serve 1-D and 2-D ones (an outer loop of one turn).
    """
    missing = 5 - a.ndim
    if channels_last:
        return a.reshape(a.shape[0], *(1,) * missing, *a.shape[1:])
    return a.reshape(*a.shape[:2], *(1,) * missing, *a.shape[2:])


def from_three_spatial(
    a: np.ndarray, caller_last: bool, memory_last: bool, ndim: int
) -> np.ndarray:
    """A kernel's result ``a`` (memory layout, three spatial axes) as a view in the caller's
    layout with ``ndim`` dimensions: :func:`to_caller`, then undo :func:`with_three_spatial`."""
    a = to_caller(a, caller_last, memory_last)
    drop = 5 - ndim
    if caller_last:
        return a.reshape(a.shape[0], *a.shape[1 + drop:])
    return a.reshape(*a.shape[:2], *a.shape[2 + drop:])


def planes(a: np.ndarray) -> np.ndarray:
    """(N, C, *spatial) -> (N·C, *spatial), a view of a C-contiguous channels-first array."""
    return a.reshape(a.shape[0] * a.shape[1], *a.shape[2:])
