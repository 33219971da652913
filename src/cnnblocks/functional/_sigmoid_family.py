"""Smooth S-shaped activations and the gates built from them.

sigmoid, tanh, softsign, and the self-gated silu, mish and gelu.

Each operator ``f`` comes as ``f(x)``, its derivative ``f_grad(x)``, and the backward pair
``f_forward(x) -> (y, ctx)`` / ``f_backward(grad_y, ctx) -> grad_x``; see
:mod:`cnnblocks.functional._elementwise` for the conventions they share (dtypes, 0-d, warnings).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from cnnblocks._checks import check_choice
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

__all__ = [
    "gelu",
    "gelu_backward",
    "gelu_forward",
    "gelu_grad",
    "mish",
    "mish_backward",
    "mish_forward",
    "mish_grad",
    "sigmoid",
    "sigmoid_backward",
    "sigmoid_forward",
    "sigmoid_grad",
    "silu",
    "silu_backward",
    "silu_forward",
    "silu_grad",
    "softsign",
    "softsign_backward",
    "softsign_forward",
    "softsign_grad",
    "tanh",
    "tanh_backward",
    "tanh_forward",
    "tanh_grad",
]

GeluApproximation = Literal["none", "tanh"]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_KAPPA = 0.044715


# --- kernels on working-dtype arrays (at least 1-d); each returns a fresh array -----------------


def _neg_exp_abs(xw: np.ndarray) -> np.ndarray:
    """``e^{-|x|}`` in (0, 1]: the exponential every stable sigmoid form needs; cannot overflow."""
    z: np.ndarray = np.abs(xw)
    np.negative(z, out=z)
    np.exp(z, out=z)
    return z


def logistic(xw: np.ndarray) -> np.ndarray:
    """σ(x) on a working-dtype array (the kernel behind :func:`sigmoid`, shared with softplus)."""
    # σ(x) = 1/(1+z) for x >= 0 and z/(1+z) for x < 0, z = e^{-|x|}. The numerator max(z, [x >= 0])
    # picks 1 or z without evaluating both branches (np.where would) and keeps NaN.
    fast = fast_activations.sigmoid(xw)  # compiled, fused (same formula); None if not applicable
    if fast is not None:
        return fast
    z = _neg_exp_abs(xw)
    y: np.ndarray = np.maximum(z, xw >= 0)
    z += 1
    y /= z
    return y


def _sigmoid_pair(xw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """σ(x) and σ(−x) = 1 − σ(x), each to full relative accuracy (1 − σ(x) would cancel)."""
    z = _neg_exp_abs(xw)
    s = np.maximum(z, xw >= 0)
    s_neg = np.maximum(z, xw < 0)
    z += 1
    s /= z
    s_neg /= z
    return s, s_neg


def log1p_exp(xw: np.ndarray) -> np.ndarray:
    """``log(1 + e^x) = max(x, 0) + log1p(e^{-|x|})``: no overflow, accurate in both tails."""
    z = _neg_exp_abs(xw)
    np.log1p(z, out=z)
    z += np.maximum(xw, 0)
    return z


def _lower_finite(xw: np.ndarray) -> np.ndarray:
    """``x`` with −inf replaced by the most negative float, so ``x · 0`` is −0, not ``inf · 0``."""
    out: np.ndarray = np.maximum(xw, -np.finfo(xw.dtype).max)
    return out


def _clip_finite(xw: np.ndarray) -> np.ndarray:
    fmax = np.finfo(xw.dtype).max
    out: np.ndarray = np.clip(xw, -fmax, fmax)
    return out


# --- sigmoid ------------------------------------------------------------------------------------


def sigmoid(x: Any) -> np.ndarray:
    """Logistic sigmoid, computed without overflow.

    .. math::

        σ(x) = \\frac{1}{1 + e^{-x}}, \\qquad
        σ'(x) = σ(x)\\,(1 - σ(x)) = \\frac{1}{2 + e^{x} + e^{-x}} \\le \\frac{1}{4}.

    Computed as ``1/(1+z)`` for ``x >= 0`` and ``z/(1+z)`` for ``x < 0`` with ``z = e^{-|x|}``:
    ``exp`` never overflows and both tails keep full relative accuracy (``σ(−40) ≈ 4.25e-18``, where
    ``0.5·tanh(x/2) + 0.5`` would give 0). Below about −745 (float64) or −104 (float32) the result
    underflows to 0, through subnormals; PyTorch's float32 ``1/(1+e^{−x})`` jumps to 0 at −88.7.

    Parameters
    ----------
    x : array_like
        Floating-point input (float16, float32 or float64).

    Returns
    -------
    ndarray
        σ(x), same shape (``()`` for 0-d input) and dtype as ``x``, in [0, 1].

    Examples
    --------
    >>> sigmoid([0.0, 2.0]).round(6)
    array([0.5     , 0.880797])
    """
    x = float_input(x, "sigmoid")
    return finish(logistic(working(x)), x)


def sigmoid_grad(x: Any) -> np.ndarray:
    """Derivative of :func:`sigmoid`: ``σ'(x) = σ(x)σ(−x) = e^{-|x|} / (1 + e^{-|x|})^2``.

    The last form is the lesson's ``1/(2 + e^x + e^{−x})`` with numerator and denominator multiplied
    by ``e^{−|x|}``: symmetric, never overflows, exactly ``1/4`` at 0, accurate in both tails.

    Examples
    --------
    >>> sigmoid_grad([0.0]).tolist()
    [0.25]
    """
    x = float_input(x, "sigmoid_grad")
    fast = fast_activations.sigmoid_grad(working(x))  # compiled, same formula
    if fast is not None:
        return finish(fast, x)
    z = _neg_exp_abs(working(x))
    d = z + 1
    d *= d
    np.divide(z, d, out=d)
    return finish(d, x)


def sigmoid_forward(x: Any) -> tuple[np.ndarray, Context]:
    """:func:`sigmoid` that also returns the context for :func:`sigmoid_backward` (saves ``y``)."""
    x = float_input(x, "sigmoid_forward")
    y = finish(logistic(working(x)), x)
    return y, Context("sigmoid", sigmoid_backward, {"y": y})


def sigmoid_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`sigmoid`: ``grad_x = grad_y · y (1 − y)``.

    Uses the saved output, as PyTorch does: cheap, and absolutely (not relatively) accurate where
    ``y`` rounds to 1.
    """
    check_context(ctx, "sigmoid", "sigmoid_backward")
    y = ctx.saved["y"]
    g = check_grad_output(grad_y, y.shape, "sigmoid_backward")
    fast = fast_activations.sigmoid_backward(g, y)  # compiled, fused; same rounding
    if fast is not None:
        return fast
    yw = working(y)
    d = np.subtract(1, yw)
    d *= yw
    return times_grad(d, g)


# --- tanh ---------------------------------------------------------------------------------------


def _tanh(xw: np.ndarray) -> np.ndarray:
    fast = fast_activations.tanh(xw)  # compiled: expm1-based, float64 inside
    if fast is not None:
        return fast
    out: np.ndarray = np.tanh(xw)
    return out


def tanh(x: Any) -> np.ndarray:
    """Hyperbolic tangent.

    .. math::

        \\tanh x = \\frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2σ(2x) - 1, \\qquad
        \\tanh'(x) = 1 - \\tanh^2 x = \\operatorname{sech}^2 x .

    Examples
    --------
    >>> tanh([0.0]).tolist()
    [0.0]
    """
    x = float_input(x, "tanh")
    return finish(_tanh(working(x)), x)


def tanh_grad(x: Any) -> np.ndarray:
    """Derivative of :func:`tanh`: ``sech²x = 4z / (1 + z)²`` with ``z = e^{−2|x|}``.

    This form keeps relative accuracy in the tails where ``1 − tanh²x`` rounds to 0.

    Examples
    --------
    >>> tanh_grad([0.0]).tolist()
    [1.0]
    """
    x = float_input(x, "tanh_grad")
    fast = fast_activations.tanh_grad(working(x))  # compiled, the same formula
    if fast is not None:
        return finish(fast, x)
    # |x| is capped at 400 so that −2|x| cannot overflow; e^{−800} is 0 in every float dtype anyway.
    z = np.abs(working(x))
    np.minimum(z, 400, out=z)
    z *= -2
    np.exp(z, out=z)
    d = z + 1
    d *= d
    z *= 4
    np.divide(z, d, out=d)
    return finish(d, x)


def tanh_forward(x: Any) -> tuple[np.ndarray, Context]:
    """:func:`tanh` that also returns the context for :func:`tanh_backward` (saves ``y``)."""
    x = float_input(x, "tanh_forward")
    y = finish(_tanh(working(x)), x)
    return y, Context("tanh", tanh_backward, {"y": y})


def tanh_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`tanh`: ``grad_x = grad_y · (1 − y²)`` (saved output)."""
    check_context(ctx, "tanh", "tanh_backward")
    y = ctx.saved["y"]
    g = check_grad_output(grad_y, y.shape, "tanh_backward")
    fast = fast_activations.tanh_backward(g, y)  # compiled, the same bits
    if fast is not None:
        return fast
    yw = working(y)
    d = np.multiply(yw, yw)
    np.subtract(1, d, out=d)
    return times_grad(d, g)


# --- softsign -----------------------------------------------------------------------------------


def _softsign(xw: np.ndarray) -> np.ndarray:
    fast = fast_activations.softsign(xw)  # the same bits in one compiled pass
    if fast is not None:
        return fast
    # ±inf become ±max so the result is the limit ±1 rather than inf/inf = NaN (PyTorch gives NaN).
    xc = _clip_finite(xw)
    d = np.abs(xc)
    d += 1
    np.divide(xc, d, out=xc)
    return xc


def _softsign_grad(xw: np.ndarray) -> np.ndarray:
    fast = fast_activations.softsign_grad(xw)
    if fast is not None:
        return fast
    # (1/(1+|x|))² rather than 1/(1+|x|)², whose square would overflow for |x| > 1e154.
    r: np.ndarray = np.abs(xw)
    r += 1
    np.reciprocal(r, out=r)
    r *= r
    return r


def softsign(x: Any) -> np.ndarray:
    """Softsign.

    .. math::

        f(x) = \\frac{x}{1 + |x|}, \\qquad f'(x) = \\frac{1}{(1 + |x|)^2} .

    ``f(±inf) = ±1`` (the limit; PyTorch returns NaN there).

    Examples
    --------
    >>> softsign([1.0, -3.0]).tolist()
    [0.5, -0.75]
    """
    x = float_input(x, "softsign")
    return finish(_softsign(working(x)), x)


def softsign_grad(x: Any) -> np.ndarray:
    """Derivative of :func:`softsign`: ``1 / (1 + |x|)²``.

    Examples
    --------
    >>> softsign_grad([1.0]).tolist()
    [0.25]
    """
    x = float_input(x, "softsign_grad")
    return finish(_softsign_grad(working(x)), x)


def softsign_forward(x: Any) -> tuple[np.ndarray, Context]:
    """:func:`softsign` with the context for :func:`softsign_backward` (saves ``x``)."""
    x = float_input(x, "softsign_forward")
    return finish(_softsign(working(x)), x), Context("softsign", softsign_backward, {"x": x})


def softsign_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`softsign`: ``grad_x = grad_y / (1 + |x|)²``."""
    check_context(ctx, "softsign", "softsign_backward")
    x = ctx.saved["x"]
    g = check_grad_output(grad_y, x.shape, "softsign_backward")
    fast = fast_activations.softsign_backward(g, x)
    if fast is not None:
        return fast
    return times_grad(_softsign_grad(working(x)), g)


# --- silu (swish) -------------------------------------------------------------------------------


def _silu(xw: np.ndarray) -> np.ndarray:
    fast = fast_activations.silu(xw)  # compiled (float32 input: float32 arithmetic, for speed)
    if fast is not None:
        return fast
    y = logistic(xw)
    y *= _lower_finite(xw)
    return y


def _silu_grad(xw: np.ndarray) -> np.ndarray:
    # f' = σ(x) (1 + x σ(−x)); σ(−x) computed directly, not as 1 − σ(x); ±inf clipped to ±max so
    # the tails give 0 and 1 rather than inf·0.
    fast = fast_activations.silu_grad(xw)
    if fast is not None:
        return fast
    s, s_neg = _sigmoid_pair(xw)
    s_neg *= _clip_finite(xw)
    s_neg += 1
    s_neg *= s
    return s_neg


def silu(x: Any) -> np.ndarray:
    """SiLU, also called swish: the input gated by its own sigmoid.

    .. math::

        f(x) = x\\,σ(x), \\qquad f'(x) = σ(x)\\,\\bigl(1 + x\\,(1 - σ(x))\\bigr) .

    ``f(−inf) = 0`` (the limit; PyTorch returns NaN there).

    Examples
    --------
    >>> silu([0.0, 1.0]).round(6).tolist()
    [0.0, 0.731059]
    """
    x = float_input(x, "silu")
    return finish(_silu(working(x)), x)


def silu_grad(x: Any) -> np.ndarray:
    """Derivative of :func:`silu`: ``σ(x) (1 + x σ(−x))``.

    Examples
    --------
    >>> silu_grad([0.0]).tolist()
    [0.5]
    """
    x = float_input(x, "silu_grad")
    return finish(_silu_grad(working(x)), x)


def silu_forward(x: Any) -> tuple[np.ndarray, Context]:
    """:func:`silu` that also returns the context for :func:`silu_backward` (saves ``x``)."""
    x = float_input(x, "silu_forward")
    return finish(_silu(working(x)), x), Context("silu", silu_backward, {"x": x})


def silu_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`silu`: ``grad_x = grad_y · silu_grad(x)``."""
    check_context(ctx, "silu", "silu_backward")
    x = ctx.saved["x"]
    g = check_grad_output(grad_y, x.shape, "silu_backward")
    fast = fast_activations.silu_backward(g, x)
    if fast is not None:
        return fast
    return times_grad(_silu_grad(working(x)), g)


# --- mish ---------------------------------------------------------------------------------------


def _mish(xw: np.ndarray) -> np.ndarray:
    fast = fast_activations.mish(xw)  # compiled: tanh(softplus(x)) in closed form, one exp
    if fast is not None:
        return fast
    t = log1p_exp(xw)
    np.tanh(t, out=t)
    t *= _lower_finite(xw)
    return t


def _mish_grad(xw: np.ndarray) -> np.ndarray:
    # f' = t + x σ(x) (1 − t²), t = tanh(softplus(x)): PyTorch's formula.
    fast = fast_activations.mish_grad(xw)
    if fast is not None:
        return fast
    t = log1p_exp(xw)
    np.tanh(t, out=t)
    d: np.ndarray = np.multiply(t, t)
    np.subtract(1, d, out=d)
    d *= logistic(xw)
    d *= _clip_finite(xw)
    d += t
    return d


def mish(x: Any) -> np.ndarray:
    """Mish: the input gated by ``tanh`` of its softplus.

    .. math::

        f(x) = x \\tanh(\\operatorname{softplus}(x)),
        \\quad \\operatorname{softplus}(x) = \\log(1 + e^x),
        \\qquad f'(x) = t + x\\,σ(x)\\,(1 - t^2), \\quad t = \\tanh(\\operatorname{softplus}(x)).

    softplus is computed as ``max(x, 0) + log1p(e^{−|x|})`` (no overflow). ``f(−inf) = 0``.

    Examples
    --------
    >>> mish([0.0]).tolist()
    [0.0]
    """
    x = float_input(x, "mish")
    return finish(_mish(working(x)), x)


def mish_grad(x: Any) -> np.ndarray:
    """Derivative of :func:`mish`: ``t + x σ(x) (1 − t²)`` with ``t = tanh(softplus(x))``.

    Examples
    --------
    >>> round(float(mish_grad(0.0)), 6)  # tanh(log 2) = 0.6
    0.6
    """
    x = float_input(x, "mish_grad")
    return finish(_mish_grad(working(x)), x)


def mish_forward(x: Any) -> tuple[np.ndarray, Context]:
    """:func:`mish` that also returns the context for :func:`mish_backward` (saves ``x``)."""
    x = float_input(x, "mish_forward")
    return finish(_mish(working(x)), x), Context("mish", mish_backward, {"x": x})


def mish_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`mish`: ``grad_x = grad_y · mish_grad(x)``."""
    check_context(ctx, "mish", "mish_backward")
    x = ctx.saved["x"]
    g = check_grad_output(grad_y, x.shape, "mish_backward")
    fast = fast_activations.mish_backward(g, x)
    if fast is not None:
        return fast
    return times_grad(_mish_grad(working(x)), g)


# --- gelu ---------------------------------------------------------------------------------------


def _normal_cdf(xw: np.ndarray) -> np.ndarray:
    # scipy's ndtr is Φ with full relative accuracy in the lower tail (it switches to erfc there);
    # NumPy has no erf. Imported lazily: scipy.special costs ~0.1 s to import.
    from scipy.special import ndtr

    return np.asarray(ndtr(xw), dtype=xw.dtype)


def _gelu_tanh_inner(uw: np.ndarray) -> np.ndarray:
    """``√(2/π) (u + κu³)`` on ``u`` already clipped to [−10, 10]."""
    inner: np.ndarray = np.multiply(uw, uw)
    inner *= uw
    inner *= _GELU_KAPPA
    inner += uw
    inner *= _SQRT_2_OVER_PI
    return inner


def _gelu(xw: np.ndarray, approximate: str) -> np.ndarray:
    fast = _fast_gelu(xw, approximate)
    if fast is not None:
        return fast
    if approximate == "none":
        y = _normal_cdf(xw)
    else:
        # For |x| >= 10 the tanh argument exceeds 43 and tanh is exactly ±1 in every float dtype,
        # so clipping there changes nothing but keeps x³ from overflowing.
        y = _gelu_tanh_inner(np.clip(xw, -10, 10))
        np.tanh(y, out=y)
        y += 1
        y *= 0.5
    y *= _lower_finite(xw)
    return y


def _fast_gelu(xw: np.ndarray, approximate: str) -> np.ndarray | None:
    # Compiled: the exact form from a vectorised normal tail (relative accuracy in the lower tail,
    # like ndtr); the tanh form as x·σ(2w) (½(1 + tanh w) = σ(2w)), which keeps relative accuracy
    # in the lower tail where the NumPy path's 1 + tanh w cancels to 0.
    if approximate == "tanh":
        return fast_activations.gelu_tanh(xw)
    return fast_activations.gelu(xw)


def _fast_gelu_grad(xw: np.ndarray, approximate: str) -> np.ndarray | None:
    if approximate == "tanh":
        return fast_activations.gelu_tanh_grad(xw)
    return fast_activations.gelu_grad(xw)


def _gelu_grad(xw: np.ndarray, approximate: str) -> np.ndarray:
    fast = _fast_gelu_grad(xw, approximate)
    if fast is not None:
        return fast
    # Beyond ±40 the x·φ(x) term is exactly 0: clipping there changes nothing, keeps x² finite.
    u: np.ndarray = np.clip(xw, -40, 40)
    if approximate == "none":
        # Φ(x) + x φ(x), φ(x) = e^{−x²/2} / √(2π)
        d: np.ndarray = np.multiply(u, u)
        d *= -0.5
        np.exp(d, out=d)
        d *= _INV_SQRT_2PI
        d *= u
        d += _normal_cdf(xw)
        return d
    # PyTorch's formula: ½(1 + t) + ½x (1 − t²) √(2/π) (1 + 3κx²), t = tanh(√(2/π)(x + κx³))
    np.clip(u, -10, 10, out=u)
    t = _gelu_tanh_inner(u)
    np.tanh(t, out=t)
    right = np.multiply(t, t)
    np.subtract(1, right, out=right)
    sq = np.multiply(u, u)
    sq *= 3 * _GELU_KAPPA
    sq += 1
    right *= sq
    right *= u
    right *= 0.5 * _SQRT_2_OVER_PI
    t += 1
    t *= 0.5
    t += right
    return t


def _check_approximate(approximate: Any, func: str) -> str:
    return check_choice(approximate, ("none", "tanh"), func=func, name="approximate")


def gelu(x: Any, approximate: GeluApproximation = "none") -> np.ndarray:
    """Gaussian error linear unit: the input weighted by the standard normal CDF Φ.

    .. math::

        f(x) = x\\,Φ(x) = \\frac{x}{2}\\Bigl(1 + \\operatorname{erf}\\frac{x}{\\sqrt 2}\\Bigr),
        \\qquad f'(x) = Φ(x) + x\\,φ(x), \\quad φ(x) = \\frac{e^{-x^2/2}}{\\sqrt{2π}} .

    With ``approximate="tanh"`` (PyTorch's option; JAX's default):
    ``f(x) = ½x (1 + tanh(√(2/π)(x + 0.044715x³)))``.

    Φ keeps relative accuracy in the lower tail (``gelu(−10) ≈ −7.6e-23``; PyTorch's
    ``½x(1 + erf(x/√2))`` gives −0 there): float32 and float64 run on a compiled kernel built
    on a vectorised normal tail (see :mod:`cnnblocks.engine.numba_vector_math`), other inputs
    on ``scipy.special.ndtr``. ``f(−inf) = 0``.

    Parameters
    ----------
    x : array_like
        Floating-point input.
    approximate : {'none', 'tanh'}, default 'none'
        The exact form or the tanh approximation.

    Examples
    --------
    >>> gelu([0.0, 1.0]).round(6).tolist()
    [0.0, 0.841345]
    """
    x = float_input(x, "gelu")
    mode = _check_approximate(approximate, "gelu")
    return finish(_gelu(working(x), mode), x)


def gelu_grad(x: Any, approximate: GeluApproximation = "none") -> np.ndarray:
    """Derivative of :func:`gelu` (of the exact form, or of the tanh approximation).

    Examples
    --------
    >>> gelu_grad([0.0]).tolist()
    [0.5]
    """
    x = float_input(x, "gelu_grad")
    mode = _check_approximate(approximate, "gelu_grad")
    return finish(_gelu_grad(working(x), mode), x)


def gelu_forward(
    x: Any, approximate: GeluApproximation = "none"
) -> tuple[np.ndarray, Context]:
    """:func:`gelu` that also returns the context for :func:`gelu_backward` (saves ``x``)."""
    x = float_input(x, "gelu_forward")
    mode = _check_approximate(approximate, "gelu_forward")
    y = finish(_gelu(working(x), mode), x)
    return y, Context("gelu", gelu_backward, {"x": x, "approximate": mode})


def gelu_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Vector-Jacobian product of :func:`gelu`: ``grad_x = grad_y · gelu_grad(x)``."""
    check_context(ctx, "gelu", "gelu_backward")
    x = ctx.saved["x"]
    g = check_grad_output(grad_y, x.shape, "gelu_backward")
    if ctx.saved["approximate"] == "tanh":
        fast = fast_activations.gelu_tanh_backward(g, x)
    else:
        fast = fast_activations.gelu_backward(g, x)
    if fast is not None:
        return fast
    return times_grad(_gelu_grad(working(x), ctx.saved["approximate"]), g)
