"""Piecewise-linear activations.

relu, relu6, leaky_relu, prelu, thresholded_relu, hardsigmoid and hardswish.

Each operator ``f`` comes as ``f(x, ...)``, its derivative ``f_grad(x, ...)``, and the backward pair
``f_forward`` / ``f_backward``; see :mod:`cnnblocks.functional._elementwise` for the conventions.

At a kink the derivative is PyTorch's choice, stated in each docstring and pinned by exact tests:
relu′(0) = 0, relu6′(0) = relu6′(6) = 0, leaky_relu′(0) = negative_slope, prelu′(0) = weight,
thresholded_relu′(θ) = 0, hardsigmoid′(±3) = 0, hardswish′(−3) = 0 and hardswish′(3) = 1.
Where the derivative is 0, the backward pass selects 0 instead of multiplying, so a NaN or inf
incoming gradient there does not leak through (PyTorch's ``threshold_backward`` does the same).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks._checks import as_array, check_real, fail
from cnnblocks.autograd import Context
from cnnblocks.engine import fast_activations
from cnnblocks.functional._elementwise import (
    check_context,
    check_grad_output,
    finish,
    float_input,
    is_int,
    real_input,
    times_grad,
    working,
)

__all__ = [
    "hardsigmoid",
    "hardsigmoid_backward",
    "hardsigmoid_forward",
    "hardsigmoid_grad",
    "hardswish",
    "hardswish_backward",
    "hardswish_forward",
    "hardswish_grad",
    "leaky_relu",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "leaky_relu_grad",
    "prelu",
    "prelu_backward",
    "prelu_forward",
    "prelu_grad",
    "relu",
    "relu6",
    "relu6_backward",
    "relu6_forward",
    "relu6_grad",
    "relu_backward",
    "relu_forward",
    "relu_grad",
    "thresholded_relu",
    "thresholded_relu_backward",
    "thresholded_relu_forward",
    "thresholded_relu_grad",
]


def _select_grad(mask: np.ndarray, grad_y: np.ndarray) -> np.ndarray:
    """``grad_y`` where ``mask`` holds, else 0, in ``grad_y``'s dtype and shape."""
    g: np.ndarray = np.where(mask, grad_y.reshape(mask.shape), 0)
    return g.astype(grad_y.dtype, copy=False).reshape(grad_y.shape)


def _mask_as(mask: np.ndarray, like: np.ndarray) -> np.ndarray:
    return mask.astype(like.dtype).reshape(like.shape)


def _relu(xw: np.ndarray) -> np.ndarray:
    """max(x, 0): the compiled kernel for float32/float64, NumPy otherwise (same values)."""
    fast = fast_activations.relu(xw)
    if fast is not None:
        return fast
    out: np.ndarray = np.maximum(xw, 0)
    return out


# --- relu ---------------------------------------------------------------------------------------


def relu(x: Any) -> np.ndarray:
    """Rectified linear unit.

    .. math::

        f(x) = \\max(0, x), \\qquad f'(x) = \\begin{cases} 1 & x > 0 \\\\ 0 & x \\le 0 \\end{cases}

    ``relu′(0) = 0`` (PyTorch, ONNX, TensorFlow; JAX's ``maximum`` gives ½). Integer input is
    allowed, as in PyTorch and ONNX (the result is exact), and keeps its dtype. NaN propagates.

    Examples
    --------
    >>> relu([-2.0, 0.0, 3.0]).tolist()
    [0.0, 0.0, 3.0]
    """
    x = real_input(x, "relu")
    return finish(_relu(working(x, widen=False)), x)


def relu_grad(x: Any) -> np.ndarray:
    """Derivative of :func:`relu`: 1 where ``x > 0``, else 0 (so 0 at 0), in ``x``'s dtype.

    A NaN input gives 1: PyTorch's backward is ``x <= 0 ? 0 : grad``, so it passes the gradient
    on at NaN, and we follow it (every derivative here treats NaN as PyTorch's comparisons do).

    Examples
    --------
    >>> relu_grad([-1.0, 0.0, 2.0]).tolist()
    [0.0, 0.0, 1.0]
    """
    x = real_input(x, "relu_grad")
    fast = fast_activations.relu_grad(x)
    if fast is not None:
        return fast
    return _mask_as(~(working(x, widen=False) <= 0), x)  # NaN: 1, as in PyTorch


def relu_forward(x: Any) -> tuple[np.ndarray, Context]:
    """:func:`relu` that also returns the context for :func:`relu_backward` (saves ``y``)."""
    x = real_input(x, "relu_forward")
    y = finish(_relu(working(x, widen=False)), x)
    return y, Context("relu", relu_backward, {"y": y})


def relu_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`relu`: 0 where ``y <= 0``, else ``grad_y``.

    Where ``y`` is NaN the gradient passes, as in PyTorch (see :func:`relu_grad`).

    """
    check_context(ctx, "relu", "relu_backward")
    y = ctx.saved["y"]
    g = check_grad_output(grad_y, y.shape, "relu_backward")
    fast = fast_activations.relu_backward(g, y)
    if fast is not None:
        return fast
    return _select_grad(~(working(y, widen=False) <= 0), g)


# --- relu6 --------------------------------------------------------------------------------------


def _relu6(xw: np.ndarray) -> np.ndarray:
    fast = fast_activations.relu6(xw)  # the same values (NaN, −0) in one compiled pass
    if fast is not None:
        return fast
    out: np.ndarray = np.clip(xw, 0, 6)
    return out


def relu6(x: Any) -> np.ndarray:
    """ReLU capped at 6 (MobileNet's activation).

    .. math::

        f(x) = \\min(\\max(0, x), 6), \\qquad
        f'(x) = \\begin{cases} 1 & 0 < x < 6 \\\\ 0 & \\text{otherwise} \\end{cases}

    ``relu6′(0) = relu6′(6) = 0`` (PyTorch). Integer input is allowed and keeps its dtype.

    Examples
    --------
    >>> relu6([-1.0, 3.0, 9.0]).tolist()
    [0.0, 3.0, 6.0]
    """
    x = real_input(x, "relu6")
    return finish(_relu6(working(x, widen=False)), x)


def relu6_grad(x: Any) -> np.ndarray:
    """Derivative of :func:`relu6`: 1 where ``0 < x < 6``, else 0, in ``x``'s dtype.

    Examples
    --------
    >>> relu6_grad([0.0, 3.0, 6.0]).tolist()
    [0.0, 1.0, 0.0]
    """
    x = real_input(x, "relu6_grad")
    xw = working(x, widen=False)
    fast = fast_activations.relu6_grad(xw)
    if fast is not None:
        return finish(fast, x)
    return _mask_as(~((xw <= 0) | (xw >= 6)), x)


def relu6_forward(x: Any) -> tuple[np.ndarray, Context]:
    """:func:`relu6` that also returns the context for :func:`relu6_backward` (saves ``y``)."""
    x = real_input(x, "relu6_forward")
    y = finish(_relu6(working(x, widen=False)), x)
    return y, Context("relu6", relu6_backward, {"y": y})


def relu6_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`relu6`: ``grad_y`` where ``0 < y < 6``, else 0.

    The output decides: ``y`` is strictly between 0 and 6 exactly where ``x`` is.
    """
    check_context(ctx, "relu6", "relu6_backward")
    y = ctx.saved["y"]
    g = check_grad_output(grad_y, y.shape, "relu6_backward")
    fast = fast_activations.relu6_backward(g, y)
    if fast is not None:
        return fast
    yw = working(y, widen=False)
    return _select_grad(~((yw <= 0) | (yw >= 6)), g)


# --- leaky_relu ---------------------------------------------------------------------------------


def _leaky_relu(xw: np.ndarray, slope: float) -> np.ndarray:
    fast = fast_activations.leaky_relu(xw, slope)  # the same bits in one compiled pass
    if fast is not None:
        return fast
    y: np.ndarray = np.multiply(xw, slope)
    np.copyto(y, xw, where=xw > 0)
    return y


def _leaky_relu_grad(xw: np.ndarray, slope: float) -> np.ndarray:
    fast = fast_activations.leaky_relu_grad(xw, slope)
    if fast is not None:
        return fast
    d = np.full_like(xw, slope)
    np.copyto(d, 1, where=xw > 0)
    return d


def _slope(negative_slope: Any, func: str) -> float:
    return check_real(negative_slope, func=func, name="negative_slope")


def leaky_relu(x: Any, negative_slope: float = 0.01) -> np.ndarray:
    """Leaky ReLU: a small slope instead of 0 for negative inputs.

    .. math::

        f(x) = \\begin{cases} x & x > 0 \\\\ a x & x \\le 0 \\end{cases}, \\qquad
        f'(x) = \\begin{cases} 1 & x > 0 \\\\ a & x \\le 0 \\end{cases}

    with ``a = negative_slope`` (default 0.01 as in PyTorch and ONNX; TensorFlow/Keras use 0.2).
    ``leaky_relu′(0) = a`` (PyTorch; JAX and Paddle use 1). Any finite slope is accepted.

    Examples
    --------
    >>> leaky_relu([-2.0, 3.0], negative_slope=0.5).tolist()
    [-1.0, 3.0]
    """
    x = float_input(x, "leaky_relu")
    slope = _slope(negative_slope, "leaky_relu")
    return finish(_leaky_relu(working(x), slope), x)


def leaky_relu_grad(x: Any, negative_slope: float = 0.01) -> np.ndarray:
    """Derivative of :func:`leaky_relu`: 1 where ``x > 0``, else ``negative_slope`` (also at 0).

    Examples
    --------
    >>> leaky_relu_grad([-1.0, 0.0, 1.0], negative_slope=0.5).tolist()
    [0.5, 0.5, 1.0]
    """
    x = float_input(x, "leaky_relu_grad")
    slope = _slope(negative_slope, "leaky_relu_grad")
    return finish(_leaky_relu_grad(working(x), slope), x)


def leaky_relu_forward(x: Any, negative_slope: float = 0.01) -> tuple[np.ndarray, Context]:
    """:func:`leaky_relu` with the context for :func:`leaky_relu_backward` (saves ``x``)."""
    x = float_input(x, "leaky_relu_forward")
    slope = _slope(negative_slope, "leaky_relu_forward")
    y = finish(_leaky_relu(working(x), slope), x)
    return y, Context("leaky_relu", leaky_relu_backward, {"x": x, "negative_slope": slope})


def leaky_relu_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`leaky_relu`: ``grad_x = grad_y · leaky_relu_grad(x)``."""
    check_context(ctx, "leaky_relu", "leaky_relu_backward")
    x = ctx.saved["x"]
    g = check_grad_output(grad_y, x.shape, "leaky_relu_backward")
    fast = fast_activations.leaky_relu_backward(g, x, ctx.saved["negative_slope"])
    if fast is not None:
        return fast
    d = _leaky_relu_grad(working(x), ctx.saved["negative_slope"])
    return times_grad(d, g)


# --- prelu --------------------------------------------------------------------------------------


def _prelu_weight(
    x: np.ndarray, weight: Any, axis: Any, func: str
) -> tuple[np.ndarray, np.ndarray]:
    """Check ``weight`` against ``x`` and return it and a view of it that broadcasts against ``x``.

    PyTorch's rule: ``weight`` has 1 element or one per channel, the channel axis being ``axis``
    (1 by default); an input with fewer than 2 dimensions has no channel axis (one channel).
    """
    if not is_int(axis):
        raise fail(func, "axis", "an int", axis)
    w = as_array(weight, func=func, name="weight")
    if w.dtype.kind != "f":
        raise fail(func, "weight", "a floating-point array (float16, float32 or float64)", w)
    if x.ndim < 2 and axis == 1:
        channels, ax = 1, None
    elif -x.ndim <= axis < x.ndim:
        ax = int(axis) % x.ndim
        channels = x.shape[ax]
    else:
        rule = f"an int in [{-x.ndim}, {x.ndim}) (x has shape {x.shape})"
        raise fail(func, "axis", rule, axis)
    if w.ndim > 1 or w.size not in (1, channels):
        if ax is None:
            rule = (
                f"a 1-d array with 1 element (x of shape {x.shape} has fewer than 2 dimensions, "
                "so no channel axis; pass axis=0 for one slope per element)"
            )
        else:
            sizes = "1 element" if channels == 1 else f"1 or {channels} elements"
            rule = (
                f"a 1-d array with {sizes} (one shared slope, or one per channel along axis "
                f"{ax} of x, whose shape is {x.shape})"
            )
        raise fail(func, "weight", rule, w)
    if w.size == 1 or ax is None:
        wb = w.reshape(())
    else:
        wb = w.reshape((channels,) + (1,) * (x.ndim - ax - 1))  # (C, 1, ..., 1)
    return w, wb


def _prelu(xw: np.ndarray, wb: np.ndarray) -> np.ndarray:
    fast = fast_activations.prelu(xw, wb)  # the same bits in one compiled pass
    if fast is not None:
        return fast
    y: np.ndarray = np.multiply(xw, wb.astype(xw.dtype, copy=False))
    np.copyto(y, xw, where=xw > 0)
    return y


def _prelu_grad_x(xw: np.ndarray, wb: np.ndarray) -> np.ndarray:
    fast = fast_activations.prelu_grad(xw, wb)
    if fast is not None:
        return fast
    d = np.empty_like(xw)
    d[...] = wb
    np.copyto(d, 1, where=xw > 0)
    return d


def prelu(x: Any, weight: Any, *, axis: int = 1) -> np.ndarray:
    """Parametric ReLU: leaky ReLU with a learned slope per channel.

    .. math::

        f(x) = \\begin{cases} x & x > 0 \\\\ w_c x & x \\le 0 \\end{cases}, \\qquad
        \\frac{∂f}{∂x} = \\begin{cases} 1 & x > 0 \\\\ w_c & x \\le 0 \\end{cases}, \\qquad
        \\frac{∂f}{∂w_c} = \\begin{cases} 0 & x > 0 \\\\ x & x \\le 0 \\end{cases}

    where ``c`` is the element's index along ``axis``. PyTorch's semantics: ``weight`` has one
    element (shared) or ``x.shape[axis]`` elements; an input with fewer than 2 dimensions has no
    channel axis (with the default ``axis=1``) and takes one shared weight. ONNX's PRelu instead
    broadcasts ``slope`` against ``x`` from the last axis (NumPy rules); the ONNX layer does that.
    ``weight`` is applied in ``x``'s dtype; the output has ``x``'s shape and dtype.

    Examples
    --------
    >>> prelu([[-2.0, 1.0], [-2.0, 1.0]], [0.5, 0.25], axis=0).tolist()
    [[-1.0, 1.0], [-0.5, 1.0]]
    """
    x = float_input(x, "prelu")
    _, wb = _prelu_weight(x, weight, axis, "prelu")
    return finish(_prelu(working(x), wb), x)


def prelu_grad(x: Any, weight: Any, *, axis: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise partial derivatives of :func:`prelu`: ``(∂f/∂x, ∂f/∂w)``, each of ``x``'s shape.

    ``∂f/∂x`` is 1 where ``x > 0`` and the channel's weight elsewhere (so ``w`` at 0); ``∂f/∂w`` is
    ``min(x, 0)``, the value the channel's weight multiplies. Summing ``grad_y · ∂f/∂w`` over all
    but the channel axis gives the weight gradient (:func:`prelu_backward` does that).

    Examples
    --------
    >>> dx, dw = prelu_grad([-2.0, 0.0, 3.0], [0.25])
    >>> dx.tolist(), dw.tolist()
    ([0.25, 0.25, 1.0], [-2.0, 0.0, 0.0])
    """
    x = float_input(x, "prelu_grad")
    _, wb = _prelu_weight(x, weight, axis, "prelu_grad")
    xw = working(x)
    return finish(_prelu_grad_x(xw, wb), x), finish(np.minimum(xw, 0), x)


def prelu_forward(x: Any, weight: Any, *, axis: int = 1) -> tuple[np.ndarray, Context]:
    """:func:`prelu` with the context for :func:`prelu_backward` (saves ``x`` and ``weight``)."""
    x = float_input(x, "prelu_forward")
    w, wb = _prelu_weight(x, weight, axis, "prelu_forward")
    y = finish(_prelu(working(x), wb), x)
    return y, Context("prelu", prelu_backward, {"x": x, "weight": w, "weight_b": wb})


def prelu_backward(grad_y: Any, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Vector-Jacobian product of :func:`prelu`: ``(grad_x, grad_weight)``.

    ``grad_x = grad_y · ∂f/∂x`` and ``grad_weight[c] = Σ grad_y · min(x, 0)`` over every element of
    channel ``c`` (over all elements for a shared weight), returned with ``weight``'s shape. Both
    come back in ``grad_y``'s dtype.
    """
    check_context(ctx, "prelu", "prelu_backward")
    x, w, wb = ctx.saved["x"], ctx.saved["weight"], ctx.saved["weight_b"]
    g = check_grad_output(grad_y, x.shape, "prelu_backward")
    xw = working(x)
    fast = fast_activations.prelu_backward(g.reshape(xw.shape), xw, wb)
    if fast is not None:  # one pass; the weight gradient summed per block in float64
        gx, gw = fast
        return gx.reshape(g.shape), gw.astype(g.dtype).reshape(w.shape)
    grad_x = times_grad(_prelu_grad_x(xw, wb), g)
    contrib = np.multiply(np.minimum(xw, 0), g.reshape(xw.shape))
    if wb.ndim == 0:
        grad_w = np.asarray(contrib.sum())
    else:
        ax = x.ndim - wb.ndim  # the channel axis: wb is (C, 1, ..., 1)
        grad_w = contrib.sum(axis=tuple(i for i in range(x.ndim) if i != ax))
    return grad_x, grad_w.astype(g.dtype, copy=False).reshape(w.shape)


# --- thresholded_relu ---------------------------------------------------------------------------


def _theta(theta: Any, func: str) -> float:
    return check_real(theta, func=func, name="theta")


def _thresholded_relu(xw: np.ndarray, theta: float) -> np.ndarray:
    fast = fast_activations.thresholded_relu(xw, theta)  # the same values in one compiled pass
    if fast is not None:
        return fast
    out: np.ndarray = np.where(xw <= theta, 0, xw)
    return out


def thresholded_relu(x: Any, theta: float = 1.0) -> np.ndarray:
    """Thresholded ReLU: ``x`` where it exceeds ``θ``, else 0 (ONNX's ThresholdedRelu, ``alpha=θ``).

    .. math::

        f(x) = \\begin{cases} x & x > θ \\\\ 0 & x \\le θ \\end{cases}, \\qquad
        f'(x) = \\begin{cases} 1 & x > θ \\\\ 0 & x \\le θ \\end{cases}

    The comparison is strict, so ``f(θ) = 0`` and ``f′(θ) = 0``. NaN propagates (as in PyTorch's
    ``threshold(x, θ, 0)``; ONNX's reference ``where(x > θ, x, 0)`` maps NaN to 0).

    Examples
    --------
    >>> thresholded_relu([0.5, 1.0, 2.0]).tolist()
    [0.0, 0.0, 2.0]
    """
    x = float_input(x, "thresholded_relu")
    theta = _theta(theta, "thresholded_relu")
    return finish(_thresholded_relu(working(x), theta), x)


def thresholded_relu_grad(x: Any, theta: float = 1.0) -> np.ndarray:
    """Derivative of :func:`thresholded_relu`: 1 where ``x > θ``, else 0 (0 at ``θ``).

    Examples
    --------
    >>> thresholded_relu_grad([1.0, 2.0]).tolist()
    [0.0, 1.0]
    """
    x = float_input(x, "thresholded_relu_grad")
    theta = _theta(theta, "thresholded_relu_grad")
    fast = fast_activations.thresholded_relu_grad(x, theta)
    if fast is not None:
        return fast
    return _mask_as(~(working(x) <= theta), x)


def thresholded_relu_forward(x: Any, theta: float = 1.0) -> tuple[np.ndarray, Context]:
    """:func:`thresholded_relu` with the context for :func:`thresholded_relu_backward`."""
    x = float_input(x, "thresholded_relu_forward")
    theta = _theta(theta, "thresholded_relu_forward")
    y = finish(_thresholded_relu(working(x), theta), x)
    return y, Context("thresholded_relu", thresholded_relu_backward, {"x": x, "theta": theta})


def thresholded_relu_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`thresholded_relu`: ``grad_y`` where ``x > θ``, else 0."""
    check_context(ctx, "thresholded_relu", "thresholded_relu_backward")
    x = ctx.saved["x"]
    g = check_grad_output(grad_y, x.shape, "thresholded_relu_backward")
    fast = fast_activations.thresholded_relu_backward(g, x, ctx.saved["theta"])
    if fast is not None:
        return fast
    return _select_grad(~(working(x) <= ctx.saved["theta"]), g)


# --- hardsigmoid --------------------------------------------------------------------------------


def _hardsigmoid_params(alpha: Any, beta: Any, func: str) -> tuple[float, float]:
    return check_real(alpha, func=func, name="alpha"), check_real(beta, func=func, name="beta")


def _hardsigmoid_linear(xw: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """``α x + β`` before clipping; its overflow (``|α| > 1``) is clipped away, so not reported."""
    if alpha == 0:
        v = np.zeros_like(xw)
        v[np.isnan(xw)] = np.nan
    else:
        with np.errstate(over="ignore"):
            v = np.multiply(xw, alpha)
    v += beta
    return v


def _hardsigmoid(xw: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    fast = fast_activations.hardsigmoid(xw, alpha, beta)  # the same bits in one compiled pass
    if fast is not None:
        return fast
    v = _hardsigmoid_linear(xw, alpha, beta)
    out: np.ndarray = np.clip(v, 0, 1, out=v)
    return out


def _hardsigmoid_grad(xw: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    fast = fast_activations.hardsigmoid_grad(xw, alpha, beta)
    if fast is not None:
        return fast
    v = _hardsigmoid_linear(xw, alpha, beta)
    inside = (v > 0) & (v < 1)
    return np.where(inside, alpha, 0).astype(xw.dtype, copy=False)


def hardsigmoid(x: Any, alpha: float = 1 / 6, beta: float = 0.5) -> np.ndarray:
    """Hard sigmoid: a straight line through ``(0, β)`` with slope ``α``, clipped to [0, 1].

    .. math::

        f(x) = \\max(0, \\min(1, α x + β)), \\qquad
        f'(x) = \\begin{cases} α & 0 < α x + β < 1 \\\\ 0 & \\text{otherwise} \\end{cases}

    Defaults are PyTorch's (``α = 1/6``, ``β = 1/2``, i.e. ``relu6(x + 3)/6``); ONNX's HardSigmoid
    defaults to ``α = 0.2``. ``f′`` is 0 at both kinks (±3 for the defaults), as in PyTorch.

    Examples
    --------
    >>> hardsigmoid([-3.0, 0.0, 3.0]).tolist()
    [0.0, 0.5, 1.0]
    """
    x = float_input(x, "hardsigmoid")
    alpha, beta = _hardsigmoid_params(alpha, beta, "hardsigmoid")
    return finish(_hardsigmoid(working(x), alpha, beta), x)


def hardsigmoid_grad(x: Any, alpha: float = 1 / 6, beta: float = 0.5) -> np.ndarray:
    """Derivative of :func:`hardsigmoid`: ``α`` where ``0 < αx + β < 1``, else 0.

    Examples
    --------
    >>> hardsigmoid_grad([-3.0, 0.0, 3.0], alpha=0.25).tolist()
    [0.0, 0.25, 0.0]
    """
    x = float_input(x, "hardsigmoid_grad")
    alpha, beta = _hardsigmoid_params(alpha, beta, "hardsigmoid_grad")
    return finish(_hardsigmoid_grad(working(x), alpha, beta), x)


def hardsigmoid_forward(
    x: Any, alpha: float = 1 / 6, beta: float = 0.5
) -> tuple[np.ndarray, Context]:
    """:func:`hardsigmoid` with the context for :func:`hardsigmoid_backward` (saves ``x``)."""
    x = float_input(x, "hardsigmoid_forward")
    alpha, beta = _hardsigmoid_params(alpha, beta, "hardsigmoid_forward")
    y = finish(_hardsigmoid(working(x), alpha, beta), x)
    saved = {"x": x, "alpha": alpha, "beta": beta}
    return y, Context("hardsigmoid", hardsigmoid_backward, saved)


def hardsigmoid_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`hardsigmoid`: ``α · grad_y`` inside the ramp, else 0."""
    check_context(ctx, "hardsigmoid", "hardsigmoid_backward")
    x, alpha, beta = ctx.saved["x"], ctx.saved["alpha"], ctx.saved["beta"]
    g = check_grad_output(grad_y, x.shape, "hardsigmoid_backward")
    fast = fast_activations.hardsigmoid_backward(g, x, alpha, beta)
    if fast is not None:
        return fast
    v = _hardsigmoid_linear(working(x), alpha, beta)
    gx = _select_grad((v > 0) & (v < 1), g)
    gx *= alpha
    return gx


# --- hardswish ----------------------------------------------------------------------------------


def _hardswish(xw: np.ndarray) -> np.ndarray:
    # x · (relu6(x + 3)/6): dividing first keeps x · 6 from overflowing near the float limit
    # (PyTorch divides last; the two differ by at most an ulp). −inf becomes −max so the result is
    # the limit 0, not −inf · 0.
    fast = fast_activations.hardswish(xw)  # the same operations, one compiled pass
    if fast is not None:
        return fast
    r: np.ndarray = np.add(xw, 3)
    np.clip(r, 0, 6, out=r)
    r /= 6
    r *= np.maximum(xw, -np.finfo(xw.dtype).max)
    return r


def _hardswish_grad(xw: np.ndarray) -> np.ndarray:
    fast = fast_activations.hardswish_grad(xw)
    if fast is not None:
        return fast
    d: np.ndarray = np.divide(xw, 3)
    d += 0.5
    np.copyto(d, 0, where=xw <= -3)
    np.copyto(d, 1, where=~(xw < 3))  # x >= 3, and NaN (PyTorch)
    return d


def hardswish(x: Any) -> np.ndarray:
    """Hard swish (MobileNetV3): the input gated by a hard sigmoid.

    .. math::

        f(x) = x\\,\\frac{\\operatorname{relu6}(x + 3)}{6}, \\qquad
        f'(x) = \\begin{cases} 0 & x \\le -3 \\\\ \\frac{2x + 3}{6} & -3 < x < 3 \\\\
        1 & x \\ge 3 \\end{cases}

    At the kinks ``f′(−3) = 0`` and ``f′(3) = 1`` (PyTorch; the formula in the middle would give
    −½ and 3/2 there). ``f(−inf) = 0`` (PyTorch gives NaN).

    Examples
    --------
    >>> hardswish([-3.0, 0.0, 3.0]).tolist()
    [-0.0, 0.0, 3.0]
    """
    x = float_input(x, "hardswish")
    return finish(_hardswish(working(x)), x)


def hardswish_grad(x: Any) -> np.ndarray:
    """Derivative of :func:`hardswish`: 0 for ``x <= −3``, ``x/3 + 1/2`` between, 1 for ``x >= 3``.

    Examples
    --------
    >>> hardswish_grad([-3.0, 0.0, 3.0]).tolist()
    [0.0, 0.5, 1.0]
    """
    x = float_input(x, "hardswish_grad")
    return finish(_hardswish_grad(working(x)), x)


def hardswish_forward(x: Any) -> tuple[np.ndarray, Context]:
    """:func:`hardswish` with the context for :func:`hardswish_backward` (saves ``x``)."""
    x = float_input(x, "hardswish_forward")
    return finish(_hardswish(working(x)), x), Context("hardswish", hardswish_backward, {"x": x})


def hardswish_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`hardswish`: ``grad_x = grad_y · hardswish_grad(x)``."""
    check_context(ctx, "hardswish", "hardswish_backward")
    x = ctx.saved["x"]
    g = check_grad_output(grad_y, x.shape, "hardswish_backward")
    fast = fast_activations.hardswish_backward(g, x)
    if fast is not None:
        return fast
    return times_grad(_hardswish_grad(working(x)), g)
