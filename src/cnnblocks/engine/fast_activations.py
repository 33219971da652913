"""Drive the compiled elementwise kernels (relu, sigmoid) from :mod:`cnnblocks.functional`.

Each function returns a fresh array, or ``None`` when the compiled path does not apply (then the
caller runs its NumPy code): dtypes other than float32/float64, arrays that are not contiguous in
C or Fortran order, or inputs of different dtypes or shapes. No input is ever copied; the output
has the input's memory order.

Arrays of fewer than :data:`PARALLEL_MIN` elements run on the calling thread (handing work to
other threads costs more than the work); larger ones use :func:`cnnblocks.get_num_threads`
threads, one contiguous range each.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from cnnblocks.engine._numba import SERIAL_BELOW, parallel_for

__all__ = [
    "PARALLEL_MIN",
    "hardswish",
    "hardswish_backward",
    "hardswish_grad",
    "leaky_relu",
    "leaky_relu_backward",
    "leaky_relu_grad",
    "relu",
    "relu_backward",
    "relu_grad",
    "sigmoid",
    "sigmoid_backward",
    "sigmoid_grad",
    "thresholded_relu",
    "thresholded_relu_backward",
    "thresholded_relu_grad",
]

PARALLEL_MIN = SERIAL_BELOW
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _kernels() -> ModuleType:
    from cnnblocks.engine import numba_activations  # imports numba: only at the first call

    return numba_activations


def _flat(a: np.ndarray) -> np.ndarray | None:
    """1-D view of ``a`` in memory order, or None if ``a`` is not contiguous."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    if a.flags.f_contiguous:
        return a.T.reshape(-1)
    return None


def _unary(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if x.dtype not in _FLOATS:
        return None
    xf = _flat(x)
    if xf is None:
        return None
    y = np.empty_like(x)  # same memory order as x, so flat views line up
    yf = _flat(y)
    assert yf is not None  # empty_like keeps C or F order
    return y, xf, yf


def _binary(
    grad_y: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    if y.dtype not in _FLOATS or grad_y.dtype != y.dtype or grad_y.shape != y.shape:
        return None
    if grad_y.flags.c_contiguous != y.flags.c_contiguous:
        return None
    gf, yf = _flat(grad_y), _flat(y)
    if gf is None or yf is None:
        return None
    gx = np.empty_like(y)
    gxf = _flat(gx)
    assert gxf is not None
    return gx, gf, yf, gxf


def sigmoid(x: np.ndarray) -> np.ndarray | None:
    """σ(x) = 1/(1 + e^{−x}) (stable form), or None if the compiled path does not apply."""
    arrays = _unary(x)
    if arrays is None:
        return None
    y, xf, yf = arrays
    k = _kernels()
    run = k.sigmoid_f32 if x.dtype == np.float32 else k.sigmoid_f64
    parallel_for(run, xf.size, xf.size, xf, yf)
    return y


def sigmoid_grad(x: np.ndarray) -> np.ndarray | None:
    """σ'(x) = e^{−|x|}/(1 + e^{−|x|})², or None if the compiled path does not apply."""
    arrays = _unary(x)
    if arrays is None:
        return None
    y, xf, yf = arrays
    k = _kernels()
    run = k.sigmoid_grad_f32 if x.dtype == np.float32 else k.sigmoid_grad_f64
    parallel_for(run, xf.size, xf.size, xf, yf)
    return y


def sigmoid_backward(grad_y: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """grad_x = grad_y · (1 − y) · y from the saved output ``y``, or None."""
    arrays = _binary(grad_y, y)
    if arrays is None:
        return None
    gx, gf, yf, gxf = arrays
    parallel_for(_kernels().sigmoid_backward, yf.size, yf.size, gf, yf, gxf, y.dtype.type(1))
    return gx


def relu(x: np.ndarray) -> np.ndarray | None:
    """max(x, 0) with NaN kept, or None if the compiled path does not apply."""
    arrays = _unary(x)
    if arrays is None:
        return None
    y, xf, yf = arrays
    parallel_for(_kernels().relu, xf.size, xf.size, xf, yf, x.dtype.type(0))
    return y


def relu_grad(x: np.ndarray) -> np.ndarray | None:
    """1 where x > 0 else 0, in x's dtype, or None."""
    arrays = _unary(x)
    if arrays is None:
        return None
    y, xf, yf = arrays
    t = x.dtype.type
    parallel_for(_kernels().relu_grad, xf.size, xf.size, xf, yf, t(0), t(1))
    return y


def relu_backward(grad_y: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """grad_y where the saved output y > 0, else 0, or None."""
    arrays = _binary(grad_y, y)
    if arrays is None:
        return None
    gx, gf, yf, gxf = arrays
    parallel_for(_kernels().relu_backward, yf.size, yf.size, gf, yf, gxf, y.dtype.type(0))
    return gx


def leaky_relu(x: np.ndarray, slope: float) -> np.ndarray | None:
    """x where x > 0, else ``slope · x`` (slope rounded to x's dtype), or None."""
    arrays = _unary(x)
    if arrays is None:
        return None
    y, xf, yf = arrays
    t = x.dtype.type
    parallel_for(_kernels().leaky_relu, xf.size, xf.size, xf, yf, t(0), t(slope))
    return y


def leaky_relu_grad(x: np.ndarray, slope: float) -> np.ndarray | None:
    """1 where x > 0, else ``slope``, in x's dtype, or None."""
    arrays = _unary(x)
    if arrays is None:
        return None
    y, xf, yf = arrays
    t = x.dtype.type
    parallel_for(_kernels().leaky_relu_grad, xf.size, xf.size, xf, yf, t(0), t(1), t(slope))
    return y


def leaky_relu_backward(grad_y: np.ndarray, x: np.ndarray, slope: float) -> np.ndarray | None:
    """``grad_y · leaky_relu'(x)`` from the saved input ``x``, or None."""
    arrays = _binary(grad_y, x)
    if arrays is None:
        return None
    gx, gf, xf, gxf = arrays
    t = x.dtype.type
    parallel_for(
        _kernels().leaky_relu_backward, xf.size, xf.size, gf, xf, gxf, t(0), t(1), t(slope)
    )
    return gx


def thresholded_relu(x: np.ndarray, theta: float) -> np.ndarray | None:
    """0 where x <= θ (θ rounded to x's dtype, as NumPy compares), else x; or None."""
    arrays = _unary(x)
    if arrays is None:
        return None
    y, xf, yf = arrays
    t = x.dtype.type
    parallel_for(_kernels().thresholded_relu, xf.size, xf.size, xf, yf, t(0), t(theta))
    return y


def thresholded_relu_grad(x: np.ndarray, theta: float) -> np.ndarray | None:
    """0 where x <= θ, else 1, in x's dtype; or None."""
    arrays = _unary(x)
    if arrays is None:
        return None
    y, xf, yf = arrays
    t = x.dtype.type
    parallel_for(_kernels().thresholded_relu_grad, xf.size, xf.size, xf, yf, t(0), t(1), t(theta))
    return y


def thresholded_relu_backward(
    grad_y: np.ndarray, x: np.ndarray, theta: float
) -> np.ndarray | None:
    """0 where the saved input x <= θ, else ``grad_y``; or None."""
    arrays = _binary(grad_y, x)
    if arrays is None:
        return None
    gx, gf, xf, gxf = arrays
    t = x.dtype.type
    parallel_for(
        _kernels().thresholded_relu_backward, xf.size, xf.size, gf, xf, gxf, t(0), t(theta)
    )
    return gx


def hardswish(x: np.ndarray) -> np.ndarray | None:
    """x · relu6(x + 3) / 6 (−inf gives 0), or None."""
    arrays = _unary(x)
    if arrays is None:
        return None
    y, xf, yf = arrays
    t = x.dtype.type
    lowest = t(-np.finfo(x.dtype).max)
    parallel_for(_kernels().hardswish, xf.size, xf.size, xf, yf, t(0), t(3), t(6), lowest)
    return y


def hardswish_grad(x: np.ndarray) -> np.ndarray | None:
    """hardswish'(x) in x's dtype, or None."""
    arrays = _unary(x)
    if arrays is None:
        return None
    y, xf, yf = arrays
    t = x.dtype.type
    parallel_for(
        _kernels().hardswish_grad, xf.size, xf.size, xf, yf, t(0), t(1), t(0.5), t(3)
    )
    return y


def hardswish_backward(grad_y: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """``grad_y · hardswish'(x)`` from the saved input ``x``, or None."""
    arrays = _binary(grad_y, x)
    if arrays is None:
        return None
    gx, gf, xf, gxf = arrays
    t = x.dtype.type
    parallel_for(
        _kernels().hardswish_backward, xf.size, xf.size, gf, xf, gxf, t(0), t(1), t(0.5), t(3)
    )
    return gx
