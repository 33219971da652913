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


def _run_unary(kernel: str, x: np.ndarray, *constants: float) -> np.ndarray | None:
    """``y = kernel(x, constants...)`` on fresh output, or None if the compiled path does not
    apply; the constants are rounded to x's dtype (as NumPy's arithmetic with a Python float)."""
    arrays = _unary(x)
    if arrays is None:
        return None
    y, xf, yf = arrays
    t = x.dtype.type
    run = getattr(_kernels(), kernel)
    parallel_for(run, xf.size, xf.size, xf, yf, *(t(c) for c in constants))
    return y


def _run_binary(
    kernel: str, grad_y: np.ndarray, saved: np.ndarray, *constants: float
) -> np.ndarray | None:
    """``grad_x = kernel(grad_y, saved, constants...)``, or None (see :func:`_run_unary`)."""
    arrays = _binary(grad_y, saved)
    if arrays is None:
        return None
    gx, gf, sf, gxf = arrays
    t = saved.dtype.type
    run = getattr(_kernels(), kernel)
    parallel_for(run, sf.size, sf.size, gf, sf, gxf, *(t(c) for c in constants))
    return gx


def _by_dtype(name: str, x: np.ndarray) -> str:
    """The float32 or float64 variant of a kernel whose constants differ by precision."""
    return f"{name}_f32" if x.dtype == np.float32 else f"{name}_f64"


def sigmoid(x: np.ndarray) -> np.ndarray | None:
    """σ(x) = 1/(1 + e^{−x}) (stable form), or None if the compiled path does not apply."""
    return _run_unary(_by_dtype("sigmoid", x), x)


def sigmoid_grad(x: np.ndarray) -> np.ndarray | None:
    """σ'(x) = e^{−|x|}/(1 + e^{−|x|})², or None if the compiled path does not apply."""
    return _run_unary(_by_dtype("sigmoid_grad", x), x)


def sigmoid_backward(grad_y: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """grad_x = grad_y · (1 − y) · y from the saved output ``y``, or None."""
    return _run_binary("sigmoid_backward", grad_y, y, 1)


def relu(x: np.ndarray) -> np.ndarray | None:
    """max(x, 0) with NaN kept, or None if the compiled path does not apply."""
    return _run_unary("relu", x, 0)


def relu_grad(x: np.ndarray) -> np.ndarray | None:
    """0 where x <= 0 else 1 (NaN: 1), in x's dtype, or None."""
    return _run_unary("relu_grad", x, 0, 1)


def relu_backward(grad_y: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """0 where the saved output y <= 0, else grad_y (NaN passes), or None."""
    return _run_binary("relu_backward", grad_y, y, 0)


def leaky_relu(x: np.ndarray, slope: float) -> np.ndarray | None:
    """x where x > 0, else ``slope · x`` (slope rounded to x's dtype), or None."""
    return _run_unary("leaky_relu", x, 0, slope)


def leaky_relu_grad(x: np.ndarray, slope: float) -> np.ndarray | None:
    """1 where x > 0, else ``slope``, in x's dtype, or None."""
    return _run_unary("leaky_relu_grad", x, 0, 1, slope)


def leaky_relu_backward(grad_y: np.ndarray, x: np.ndarray, slope: float) -> np.ndarray | None:
    """``grad_y · leaky_relu'(x)`` from the saved input ``x``, or None."""
    return _run_binary("leaky_relu_backward", grad_y, x, 0, 1, slope)


def thresholded_relu(x: np.ndarray, theta: float) -> np.ndarray | None:
    """0 where x <= θ (θ rounded to x's dtype, as NumPy compares), else x; or None."""
    return _run_unary("thresholded_relu", x, 0, theta)


def thresholded_relu_grad(x: np.ndarray, theta: float) -> np.ndarray | None:
    """0 where x <= θ, else 1, in x's dtype; or None."""
    return _run_unary("thresholded_relu_grad", x, 0, 1, theta)


def thresholded_relu_backward(
    grad_y: np.ndarray, x: np.ndarray, theta: float
) -> np.ndarray | None:
    """0 where the saved input x <= θ, else ``grad_y``; or None."""
    return _run_binary("thresholded_relu_backward", grad_y, x, 0, theta)


def hardswish(x: np.ndarray) -> np.ndarray | None:
    """x · relu6(x + 3) / 6 (−inf gives 0), or None."""
    if x.dtype not in _FLOATS:
        return None
    return _run_unary("hardswish", x, 0, 3, 6, -np.finfo(x.dtype).max)


def hardswish_grad(x: np.ndarray) -> np.ndarray | None:
    """hardswish'(x) in x's dtype, or None."""
    return _run_unary("hardswish_grad", x, 0, 1, 0.5, 3)


def hardswish_backward(grad_y: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """``grad_y · hardswish'(x)`` from the saved input ``x``, or None."""
    return _run_binary("hardswish_backward", grad_y, x, 0, 1, 0.5, 3)
