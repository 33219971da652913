"""Dispatch pooling work to a kernel backend.

:mod:`cnnblocks.functional` validates arguments and resolves the window to a
:class:`~cnnblocks.shapes.PoolGeometry`, then calls these functions. float32 and float64 arrays go
to the compiled numba kernels: 1-D and 2-D windows to :mod:`cnnblocks.engine.fast_pool`, 3-D
windows to :mod:`cnnblocks.engine.fast_pool3d` (each says what it covers in its ``supports``).
float16 goes through float32 (one widened copy of the input, results rounded once back to
float16; maxima and indices are unchanged by the round trip, means are summed in float32 as the
NumPy path sums them too): 3-9x faster than the NumPy taps on float16. Integers and empty arrays
go to the NumPy tap kernels in :mod:`cnnblocks.engine.numpy_pool`. All give the same values,
indices and gradients (``tests/test_engine_vs_reference.py``, ``tests/test_engine_3d.py``).
Arrays arrive and leave in the caller's layout: ``(N, C, *spatial)`` or, with
``channels_last``, ``(N, *spatial, C)``.
"""

from __future__ import annotations

import numpy as np

from cnnblocks.engine import fast_pool, fast_pool3d, numpy_pool
from cnnblocks.shapes import PoolGeometry, pool_geometry

__all__ = [
    "avg_pool_backward",
    "avg_pool_forward",
    "compiled",
    "global_avg_pool_backward",
    "global_avg_pool_forward",
    "max_pool_backward",
    "max_pool_forward",
    "plane_positions",
    "scatter_add_to_planes",
]


def compiled(x: np.ndarray, geometry: PoolGeometry) -> bool:
    """Whether the compiled kernels (not the NumPy path) run this input and window."""
    return fast_pool.supports(x, geometry) or fast_pool3d.supports(x, geometry)


def _widened(a: np.ndarray, geometry: PoolGeometry) -> np.ndarray | None:
    """float16 ``a`` as float32 when the compiled kernels take that; otherwise None."""
    if a.dtype != np.float16 or a.size == 0:
        return None
    wide = a.astype(np.float32)
    return wide if compiled(wide, geometry) else None


def max_pool_forward(
    x: np.ndarray, geometry: PoolGeometry, channels_last: bool, with_indices: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Window maxima (same dtype as ``x``) and, if asked, flat per-plane argmax indices."""
    wide = _widened(x, geometry)
    if wide is not None:
        y, idx = max_pool_forward(wide, geometry, channels_last, with_indices)
        return y.astype(np.float16), idx
    if fast_pool.supports(x, geometry):
        return fast_pool.max_pool_forward(x, geometry, channels_last, with_indices)
    if fast_pool3d.supports(x, geometry):
        return fast_pool3d.max_pool_forward(x, geometry, channels_last, with_indices)
    return numpy_pool.max_pool_forward(x, geometry, channels_last, with_indices)


def max_pool_backward(
    grad_y: np.ndarray,
    indices: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    input_shape: tuple[int, ...],
) -> np.ndarray:
    """Scatter-add ``grad_y`` to the input cells named by ``indices``."""
    wide = _widened(grad_y, geometry)
    if wide is not None:
        gx = max_pool_backward(wide, indices, geometry, channels_last, input_shape)
        return gx.astype(np.float16)
    if fast_pool.supports(grad_y, geometry):
        return fast_pool.max_pool_backward(grad_y, indices, geometry, channels_last, input_shape)
    if fast_pool3d.supports(grad_y, geometry):
        return fast_pool3d.max_pool_backward(grad_y, indices, geometry, channels_last, input_shape)
    return numpy_pool.max_pool_backward(grad_y, indices, geometry, channels_last, input_shape)


def avg_pool_forward(
    x: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> np.ndarray:
    """Window means with PyTorch's/ONNX's divisor rules."""
    wide = _widened(x, geometry)
    if wide is not None:
        y = avg_pool_forward(wide, geometry, channels_last, count_include_pad, divisor_override)
        return y.astype(np.float16)
    if fast_pool.supports(x, geometry):
        return fast_pool.avg_pool_forward(
            x, geometry, channels_last, count_include_pad, divisor_override
        )
    if fast_pool3d.supports(x, geometry):
        return fast_pool3d.avg_pool_forward(
            x, geometry, channels_last, count_include_pad, divisor_override
        )
    return numpy_pool.avg_pool_forward(
        x, geometry, channels_last, count_include_pad, divisor_override
    )


def avg_pool_backward(
    grad_y: np.ndarray,
    geometry: PoolGeometry,
    channels_last: bool,
    count_include_pad: bool,
    divisor_override: int | None,
    input_shape: tuple[int, ...],
) -> np.ndarray:
    """Vector-Jacobian product of :func:`avg_pool_forward`."""
    wide = _widened(grad_y, geometry)
    if wide is not None:
        gx = avg_pool_backward(
            wide, geometry, channels_last, count_include_pad, divisor_override, input_shape
        )
        return gx.astype(np.float16)
    if fast_pool.supports(grad_y, geometry):
        return fast_pool.avg_pool_backward(
            grad_y, geometry, channels_last, count_include_pad, divisor_override, input_shape
        )
    if fast_pool3d.supports(grad_y, geometry):
        return fast_pool3d.avg_pool_backward(
            grad_y, geometry, channels_last, count_include_pad, divisor_override, input_shape
        )
    return numpy_pool.avg_pool_backward(
        grad_y, geometry, channels_last, count_include_pad, divisor_override, input_shape
    )


def scatter_add_to_planes(
    values: np.ndarray,
    indices: np.ndarray,
    channels_last: bool,
    input_shape: tuple[int, ...],
) -> np.ndarray:
    """Add ``values`` at per-plane flat ``indices`` of a zero array of ``input_shape``."""
    return numpy_pool.scatter_add_to_planes(values, indices, channels_last, input_shape)


def plane_positions(
    indices: np.ndarray, channels_last: bool, shape: tuple[int, ...]
) -> np.ndarray:
    """Flat positions in an array of ``shape`` named by per-(n, c)-plane ``indices`` (int64)."""
    return numpy_pool.plane_positions(indices, channels_last, shape)


def _whole_plane(shape: tuple[int, ...], channels_last: bool) -> PoolGeometry:
    spatial = shape[1:-1] if channels_last else shape[2:]
    return pool_geometry(spatial, spatial, func="global_avg_pool")


def global_avg_pool_forward(x: np.ndarray, channels_last: bool) -> np.ndarray | None:
    """Mean over every spatial axis (kept with size 1) on the compiled kernels.

    Returns None when they do not apply (the caller then sums with NumPy).
    """
    if not channels_last and x.ndim in (3, 4, 5):
        fast = fast_pool.global_avg_forward_nchw(x)
        if fast is not None:
            return fast
    geometry = _whole_plane(x.shape, channels_last)
    if fast_pool3d.supports(x, geometry):
        return fast_pool3d.avg_pool_forward(x, geometry, channels_last, True, None)
    if not fast_pool.supports(x, geometry):
        return None
    return fast_pool.avg_pool_forward(x, geometry, channels_last, True, None)


def global_avg_pool_backward(
    grad_y: np.ndarray, channels_last: bool, input_shape: tuple[int, ...]
) -> np.ndarray | None:
    """``grad_y / P`` spread over every cell of each plane, or None (see the forward)."""
    geometry = _whole_plane(input_shape, channels_last)
    if fast_pool3d.supports(grad_y, geometry):
        return fast_pool3d.avg_pool_backward(
            grad_y, geometry, channels_last, True, None, input_shape
        )
    if not fast_pool.supports(grad_y, geometry):
        return None
    return fast_pool.avg_pool_backward(grad_y, geometry, channels_last, True, None, input_shape)
