"""Activations with an exponential negative side, and softplus: elu, selu, celu, softplus.

Each operator ``f`` comes as ``f(x, ...)``, its derivative ``f_grad(x, ...)``, and the backward pair
``f_forward`` / ``f_backward``; see :mod:`cnnblocks.functional._elementwise` for the conventions.
The exponential is only ever taken of ``min(x, 0)`` (``expm1``, accurate near 0) or of ``−|x|``,
so it cannot overflow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks._checks import check_real
from cnnblocks.autograd import Context
from cnnblocks.engine import fast_activations
from cnnblocks.functional._elementwise import (
    check_context,
    check_grad_output,
    finish,
    float_input,
    times_grad,
    working,
)
from cnnblocks.functional._sigmoid_family import log1p_exp, logistic

__all__ = [
    "SELU_ALPHA",
    "SELU_SCALE",
    "celu",
    "celu_backward",
    "celu_forward",
    "celu_grad",
    "elu",
    "elu_backward",
    "elu_forward",
    "elu_grad",
    "selu",
    "selu_backward",
    "selu_forward",
    "selu_grad",
    "softplus",
    "softplus_backward",
    "softplus_forward",
    "softplus_grad",
]

#: SELU's constants (Klambauer et al. 2017), as PyTorch writes them in float64.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# --- the shared kernel: scale · (max(x, 0) + α · expm1(min(x, 0) / d)) ---------------------------


def _exp_unit(xw: np.ndarray, alpha: float, scale: float, divisor: float) -> np.ndarray:
    """``scale · (x if x > 0 else α (e^{x/divisor} − 1))`` without evaluating both branches.

    ``max(x, 0) + α·expm1(min(x, 0)/divisor)`` equals it everywhere: each term vanishes on the
    other side.
    """
    fast = fast_activations.exp_unit(xw, alpha, scale, divisor)  # compiled, float64 inside
    if fast is not None:
        return fast
    neg: np.ndarray = np.minimum(xw, 0)
    if divisor != 1.0:
        # x/α with a tiny α can exceed the float range; expm1 of the resulting −inf is the right −1.
        with np.errstate(over="ignore"):
            neg /= divisor
    np.expm1(neg, out=neg)
    neg *= alpha
    neg += np.maximum(xw, 0)
    if scale != 1.0:
        neg *= scale
    return neg


def _exp_unit_grad(xw: np.ndarray, alpha: float, scale: float, divisor: float) -> np.ndarray:
    """``scale`` for ``x > 0``, else ``scale · (α/divisor) · e^{x/divisor}`` (also at 0)."""
    fast = fast_activations.exp_unit_grad(xw, alpha, scale, divisor)
    if fast is not None:
        return fast
    d: np.ndarray = np.minimum(xw, 0)
    if divisor != 1.0:
        with np.errstate(over="ignore"):
            d /= divisor
    np.exp(d, out=d)
    factor = scale * (alpha / divisor)
    if factor != 1.0:
        d *= factor
    np.copyto(d, scale, where=~(xw <= 0))  # NaN takes the x > 0 branch, as in PyTorch
    return d


def _exp_unit_backward(grad_y: Any, ctx: Context, op: str) -> np.ndarray:
    check_context(ctx, op, f"{op}_backward")
    x = ctx.saved["x"]
    g = check_grad_output(grad_y, x.shape, f"{op}_backward")
    s = ctx.saved
    fast = fast_activations.exp_unit_backward(g, x, s["alpha"], s["scale"], s["divisor"])
    if fast is not None:
        return fast
    d = _exp_unit_grad(working(x), s["alpha"], s["scale"], s["divisor"])
    return times_grad(d, g)


# --- elu ----------------------------------------------------------------------------------------


def _elu_alpha(alpha: Any, func: str) -> float:
    return check_real(alpha, func=func, name="alpha")


def elu(x: Any, alpha: float = 1.0) -> np.ndarray:
    """Exponential linear unit.

    .. math::

        f(x) = \\begin{cases} x & x > 0 \\\\ α (e^x - 1) & x \\le 0 \\end{cases}, \\qquad
        f'(x) = \\begin{cases} 1 & x > 0 \\\\ α e^x & x \\le 0 \\end{cases}

    At the kink ``f'(0) = α`` (PyTorch). ``alpha`` may be any finite real, as in PyTorch and ONNX.

    Examples
    --------
    >>> elu([1.0, 0.0]).tolist()
    [1.0, 0.0]
    """
    x = float_input(x, "elu")
    alpha = _elu_alpha(alpha, "elu")
    return finish(_exp_unit(working(x), alpha, 1.0, 1.0), x)


def elu_grad(x: Any, alpha: float = 1.0) -> np.ndarray:
    """Derivative of :func:`elu`: 1 for ``x > 0``, ``α e^x`` for ``x <= 0`` (so ``α`` at 0).

    Examples
    --------
    >>> elu_grad([1.0, 0.0], alpha=2.0).tolist()
    [1.0, 2.0]
    """
    x = float_input(x, "elu_grad")
    alpha = _elu_alpha(alpha, "elu_grad")
    return finish(_exp_unit_grad(working(x), alpha, 1.0, 1.0), x)


def elu_forward(x: Any, alpha: float = 1.0) -> tuple[np.ndarray, Context]:
    """:func:`elu` that also returns the context for :func:`elu_backward` (saves ``x``)."""
    x = float_input(x, "elu_forward")
    alpha = _elu_alpha(alpha, "elu_forward")
    y = finish(_exp_unit(working(x), alpha, 1.0, 1.0), x)
    saved = {"x": x, "alpha": alpha, "scale": 1.0, "divisor": 1.0}
    return y, Context("elu", elu_backward, saved)


def elu_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`elu`: ``grad_x = grad_y · elu_grad(x, α)``."""
    return _exp_unit_backward(grad_y, ctx, "elu")


# --- selu ---------------------------------------------------------------------------------------


def selu(x: Any) -> np.ndarray:
    """Scaled exponential linear unit: ``λ · elu(x, α)`` with SELU's fixed constants.

    .. math::

        f(x) = λ \\begin{cases} x & x > 0 \\\\ α (e^x - 1) & x \\le 0 \\end{cases}, \\qquad
        f'(x) = λ \\begin{cases} 1 & x > 0 \\\\ α e^x & x \\le 0 \\end{cases}

    with ``α = 1.6732632423543772`` and ``λ = 1.0507009873554805`` (:data:`SELU_ALPHA`,
    :data:`SELU_SCALE`; ONNX's defaults are these rounded to float32). ``f'(0) = λα`` (PyTorch).

    Examples
    --------
    >>> selu([1.0]).tolist()
    [1.0507009873554805]
    """
    x = float_input(x, "selu")
    return finish(_exp_unit(working(x), SELU_ALPHA, SELU_SCALE, 1.0), x)


def selu_grad(x: Any) -> np.ndarray:
    """Derivative of :func:`selu`: ``λ`` for ``x > 0``, ``λ α e^x`` for ``x <= 0``.

    Examples
    --------
    >>> selu_grad([1.0]).tolist()
    [1.0507009873554805]
    """
    x = float_input(x, "selu_grad")
    return finish(_exp_unit_grad(working(x), SELU_ALPHA, SELU_SCALE, 1.0), x)


def selu_forward(x: Any) -> tuple[np.ndarray, Context]:
    """:func:`selu` that also returns the context for :func:`selu_backward` (saves ``x``)."""
    x = float_input(x, "selu_forward")
    y = finish(_exp_unit(working(x), SELU_ALPHA, SELU_SCALE, 1.0), x)
    saved = {"x": x, "alpha": SELU_ALPHA, "scale": SELU_SCALE, "divisor": 1.0}
    return y, Context("selu", selu_backward, saved)


def selu_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`selu`: ``grad_x = grad_y · selu_grad(x)``."""
    return _exp_unit_backward(grad_y, ctx, "selu")


# --- celu ---------------------------------------------------------------------------------------


def _celu_alpha(alpha: Any, func: str) -> float:
    # α = 0 divides by zero; a negative α turns the bounded negative side into an exploding one.
    return check_real(alpha, func=func, name="alpha", low=0.0, low_inclusive=False)


def celu(x: Any, alpha: float = 1.0) -> np.ndarray:
    """Continuously differentiable exponential linear unit.

    .. math::

        f(x) = \\max(0, x) + \\min\\bigl(0, α (e^{x/α} - 1)\\bigr), \\qquad
        f'(x) = \\begin{cases} 1 & x > 0 \\\\ e^{x/α} & x \\le 0 \\end{cases}

    ``f'(0) = 1`` from both sides. ``alpha`` must be > 0 (PyTorch rejects only 0; a negative α makes
    the negative side grow exponentially, which CELU's definition excludes).

    Examples
    --------
    >>> celu([1.0, 0.0], alpha=2.0).tolist()
    [1.0, 0.0]
    """
    x = float_input(x, "celu")
    alpha = _celu_alpha(alpha, "celu")
    return finish(_exp_unit(working(x), alpha, 1.0, alpha), x)


def celu_grad(x: Any, alpha: float = 1.0) -> np.ndarray:
    """Derivative of :func:`celu`: 1 for ``x > 0``, ``e^{x/α}`` for ``x <= 0``.

    Examples
    --------
    >>> celu_grad([1.0, 0.0], alpha=2.0).tolist()
    [1.0, 1.0]
    """
    x = float_input(x, "celu_grad")
    alpha = _celu_alpha(alpha, "celu_grad")
    return finish(_exp_unit_grad(working(x), alpha, 1.0, alpha), x)


def celu_forward(x: Any, alpha: float = 1.0) -> tuple[np.ndarray, Context]:
    """:func:`celu` that also returns the context for :func:`celu_backward` (saves ``x``)."""
    x = float_input(x, "celu_forward")
    alpha = _celu_alpha(alpha, "celu_forward")
    y = finish(_exp_unit(working(x), alpha, 1.0, alpha), x)
    saved = {"x": x, "alpha": alpha, "scale": 1.0, "divisor": alpha}
    return y, Context("celu", celu_backward, saved)


def celu_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`celu`: ``grad_x = grad_y · celu_grad(x, α)``."""
    return _exp_unit_backward(grad_y, ctx, "celu")


# --- softplus -----------------------------------------------------------------------------------


def _softplus_params(beta: Any, threshold: Any, func: str) -> tuple[float, float]:
    beta = check_real(beta, func=func, name="beta", low=0.0, low_inclusive=False)
    threshold = check_real(threshold, func=func, name="threshold")
    return beta, threshold


def _beta_x(xw: np.ndarray, beta: float) -> np.ndarray:
    """``β·x`` without overflow: where it would overflow it exceeds any finite threshold anyway."""
    if beta <= 1.0:
        scaled: np.ndarray = np.multiply(xw, beta)
        return scaled
    limit = np.finfo(xw.dtype).max / beta
    z: np.ndarray = np.clip(xw, -limit, limit)
    z *= beta
    return z


def _softplus(xw: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    fast = fast_activations.softplus(xw, beta, threshold)  # compiled, float64 inside
    if fast is not None:
        return fast
    z = _beta_x(xw, beta)
    y = log1p_exp(z)
    if beta != 1.0:
        y /= beta
    np.copyto(y, xw, where=z > threshold)
    return y


def _softplus_grad(xw: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    # d/dx log(1 + e^{βx})/β = σ(βx), and 1 on the linear side βx > threshold (PyTorch).
    fast = fast_activations.softplus_grad(xw, beta, threshold)
    if fast is not None:
        return fast
    z = _beta_x(xw, beta)
    d = logistic(z)
    np.copyto(d, 1, where=z > threshold)
    return d


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    """Softplus, a smooth ReLU, with PyTorch's switch to the identity for large ``βx``.

    .. math::

        f(x) = \\begin{cases} \\frac{1}{β}\\log(1 + e^{βx}) & βx \\le \\text{threshold} \\\\
        x & βx > \\text{threshold} \\end{cases}, \\qquad
        f'(x) = \\begin{cases} σ(βx) & βx \\le \\text{threshold} \\\\ 1 & \\text{otherwise}
        \\end{cases}

    ``log(1 + e^z)`` is computed as ``max(z, 0) + log1p(e^{−|z|})``, so no threshold is needed for
    stability (pass a large one to get the smooth function everywhere); the default reproduces
    PyTorch. ``beta`` must be > 0; ``threshold`` any finite real. ONNX's Softplus is ``β = 1`` with
    no threshold.

    Examples
    --------
    >>> softplus([0.0]).round(6).tolist()  # log 2
    [0.693147]
    """
    x = float_input(x, "softplus")
    beta, threshold = _softplus_params(beta, threshold, "softplus")
    return finish(_softplus(working(x), beta, threshold), x)


def softplus_grad(x: Any, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    """Derivative of :func:`softplus`: ``σ(βx)``, or 1 where ``βx > threshold``.

    Examples
    --------
    >>> softplus_grad([0.0]).tolist()
    [0.5]
    """
    x = float_input(x, "softplus_grad")
    beta, threshold = _softplus_params(beta, threshold, "softplus_grad")
    return finish(_softplus_grad(working(x), beta, threshold), x)


def softplus_forward(
    x: Any, beta: float = 1.0, threshold: float = 20.0
) -> tuple[np.ndarray, Context]:
    """:func:`softplus` with the context for :func:`softplus_backward` (saves ``x``)."""
    x = float_input(x, "softplus_forward")
    beta, threshold = _softplus_params(beta, threshold, "softplus_forward")
    y = finish(_softplus(working(x), beta, threshold), x)
    saved = {"x": x, "beta": beta, "threshold": threshold}
    return y, Context("softplus", softplus_backward, saved)


def softplus_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`softplus`: ``grad_x = grad_y · softplus_grad(x)``."""
    check_context(ctx, "softplus", "softplus_backward")
    x = ctx.saved["x"]
    g = check_grad_output(grad_y, x.shape, "softplus_backward")
    fast = fast_activations.softplus_backward(g, x, ctx.saved["beta"], ctx.saved["threshold"])
    if fast is not None:
        return fast
    d = _softplus_grad(working(x), ctx.saved["beta"], ctx.saved["threshold"])
    return times_grad(d, g)
