"""Softmax and log-softmax along one axis, computed stably, with their backward passes.

``axis`` defaults to −1, as in ONNX (opset 13+), TensorFlow and JAX; PyTorch requires ``dim``
explicitly. Like PyTorch, a 0-d input is treated as one element along axis 0 (or −1): softmax gives
1 and log_softmax 0. Both subtract the maximum along the axis first, so ``exp`` never overflows.
A slice holding +inf, or only −inf, has no defined softmax: the result there is NaN (as in
PyTorch), without a warning. log_softmax of a −inf entry is −inf when the slice has a finite entry.
Gradients come back in ``grad_y``'s dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks._checks import fail
from cnnblocks.autograd import Context
from cnnblocks.functional._elementwise import (
    check_context,
    check_grad_output,
    finish,
    float_input,
    is_int,
    working,
)

__all__ = [
    "log_softmax",
    "log_softmax_backward",
    "log_softmax_forward",
    "log_softmax_grad",
    "softmax",
    "softmax_backward",
    "softmax_forward",
    "softmax_grad",
]


def _axis(x: np.ndarray, axis: Any, func: str) -> int:
    ndim = max(x.ndim, 1)  # a 0-d input is one element along axis 0
    if not is_int(axis) or not -ndim <= axis < ndim:
        raise fail(func, "axis", f"an int in [{-ndim}, {ndim}) (x has shape {x.shape})", axis)
    return int(axis) % ndim


def _common(saved: np.ndarray, grad_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays in the wider of their working dtypes (the result is rounded to grad_y's)."""
    a, b = working(saved), working(grad_y)
    dtype = np.result_type(a, b)
    return a.astype(dtype, copy=False), b.astype(dtype, copy=False)


def _shifted(xw: np.ndarray, axis: int) -> np.ndarray:
    """``x − max(x)`` along ``axis``: every entry <= 0, so its ``exp`` cannot overflow."""
    m = np.max(xw, axis=axis, keepdims=True)
    # inf − inf in a slice holding +inf, or only −inf, is NaN: the softmax is undefined there.
    with np.errstate(invalid="ignore"):
        out: np.ndarray = np.subtract(xw, m)
    return out


def _softmax(xw: np.ndarray, axis: int) -> np.ndarray:
    e = _shifted(xw, axis)
    np.exp(e, out=e)
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _log_softmax(xw: np.ndarray, axis: int) -> np.ndarray:
    z = _shifted(xw, axis)
    lse = np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
    z -= lse
    return z


def softmax(x: Any, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: exponentials normalised to sum to 1.

    .. math::

        s_i = \\frac{e^{x_i - m}}{\\sum_j e^{x_j - m}}, \\quad m = \\max_j x_j, \\qquad
        \\frac{∂s_i}{∂x_j} = s_i (δ_{ij} - s_j) .

    The output has the shape and dtype of ``x`` (float16 is computed in float32).

    Parameters
    ----------
    x : array_like
        Floating-point input.
    axis : int, default -1
        The axis the probabilities are normalised along.

    Examples
    --------
    >>> softmax([0.0, np.log(3.0)]).round(12).tolist()
    [0.25, 0.75]
    """
    x = float_input(x, "softmax")
    ax = _axis(x, axis, "softmax")
    return finish(_softmax(working(x), ax), x)


def log_softmax(x: Any, axis: int = -1) -> np.ndarray:
    """Logarithm of :func:`softmax`, computed directly (no ``log`` of an underflowed 0).

    .. math::

        \\log s_i = x_i - m - \\log \\sum_j e^{x_j - m}, \\qquad
        \\frac{∂ \\log s_i}{∂x_j} = δ_{ij} - s_j .

    Examples
    --------
    >>> log_softmax([0.0, 0.0]).round(6).tolist()  # log(1/2)
    [-0.693147, -0.693147]
    """
    x = float_input(x, "log_softmax")
    ax = _axis(x, axis, "log_softmax")
    return finish(_log_softmax(working(x), ax), x)


def _jacobian_of(x: Any, axis: Any, func: str, log: bool) -> np.ndarray:
    """``∂f_i/∂x_j`` of softmax (``s_i (δ_ij − s_j)``) or log-softmax (``δ_ij − s_j``) per slice."""
    x = float_input(x, func)
    ax = _axis(x, axis, func)
    xw = working(x)
    s = np.moveaxis(_softmax(xw, ax), ax, -1)  # (..., n)
    n = s.shape[-1]
    eye = np.eye(n, dtype=s.dtype)
    # (..., n, n): row i is the gradient of output i with respect to the inputs j
    jac: np.ndarray = eye - s[..., None, :]
    if not log:
        jac *= s[..., :, None]
    return jac.astype(x.dtype, copy=False)


def softmax_grad(x: Any, axis: int = -1) -> np.ndarray:
    """Jacobian of :func:`softmax` along ``axis``, as the lesson's derivative of ``x``.

    .. math:: J_{ij} = \frac{∂s_i}{∂x_j} = s_i (δ_{ij} - s_j)

    The derivative of a softmax is a matrix per slice, not a number per element: for ``x`` of
    shape ``(..., n)`` (``axis`` moved last; a 0-d input is one element) the result has shape
    ``(..., n, n)`` and ``x``'s dtype. Each row sums to 0 (the outputs always sum to 1).
    :func:`softmax_backward` computes ``Jᵀ g`` without forming ``J``.

    Examples
    --------
    >>> softmax_grad([0.0, 0.0]).tolist()  # s = (1/2, 1/2): s_i (δ_ij − s_j) = ±1/4
    [[0.25, -0.25], [-0.25, 0.25]]
    """
    return _jacobian_of(x, axis, "softmax_grad", log=False)


def log_softmax_grad(x: Any, axis: int = -1) -> np.ndarray:
    """Jacobian of :func:`log_softmax` along ``axis``: ``J_ij = δ_ij − s_j``.

    Shapes as :func:`softmax_grad`.

    Examples
    --------
    >>> log_softmax_grad([0.0, 0.0]).tolist()  # δ_ij − 1/2
    [[0.5, -0.5], [-0.5, 0.5]]
    """
    return _jacobian_of(x, axis, "log_softmax_grad", log=True)


def softmax_forward(x: Any, axis: int = -1) -> tuple[np.ndarray, Context]:
    """:func:`softmax` that also returns the context for :func:`softmax_backward` (saves ``s``)."""
    x = float_input(x, "softmax_forward")
    ax = _axis(x, axis, "softmax_forward")
    s = finish(_softmax(working(x), ax), x)
    return s, Context("softmax", softmax_backward, {"s": s, "axis": ax})


def softmax_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`softmax`: ``grad_x = s · (g − Σ_axis g·s)``.

    This is ``Jᵀg`` for the Jacobian ``diag(s) − s sᵀ`` of each slice, without forming it.
    """
    check_context(ctx, "softmax", "softmax_backward")
    s, ax = ctx.saved["s"], ctx.saved["axis"]
    g = check_grad_output(grad_y, s.shape, "softmax_backward")
    sw, gw = _common(s, g)
    gs: np.ndarray = np.multiply(gw, sw)
    dot = np.sum(gs, axis=ax, keepdims=True)  # Σ_j g_j s_j per slice
    np.subtract(gw, dot, out=gs)
    gs *= sw
    return finish(gs, g)


def log_softmax_forward(x: Any, axis: int = -1) -> tuple[np.ndarray, Context]:
    """:func:`log_softmax` with the context for :func:`log_softmax_backward` (saves its output)."""
    x = float_input(x, "log_softmax_forward")
    ax = _axis(x, axis, "log_softmax_forward")
    y = finish(_log_softmax(working(x), ax), x)
    return y, Context("log_softmax", log_softmax_backward, {"y": y, "axis": ax})


def log_softmax_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`log_softmax`: ``grad_x = g − e^{y} · Σ_axis g``."""
    check_context(ctx, "log_softmax", "log_softmax_backward")
    y, ax = ctx.saved["y"], ctx.saved["axis"]
    g = check_grad_output(grad_y, y.shape, "log_softmax_backward")
    yw, gw = _common(y, g)
    gx: np.ndarray = np.exp(yw)
    gx *= np.sum(gw, axis=ax, keepdims=True)
    np.subtract(gw, gx, out=gx)
    return finish(gx, g)
