"""Compiled (numba) kernels of the transcendental activations: elu/selu/celu, softplus, silu,
mish, tanh and gelu (forward, derivative, backward).

Importing this module imports numba; :mod:`cnnblocks.engine.fast_activations` imports it when a
kernel first runs. Every kernel reads its inputs once and writes its output once, on a range
``[lo, hi)`` of flat contiguous arrays, like those of :mod:`cnnblocks.engine.numba_activations`.

One source serves float32 and float64: the arithmetic runs in float64 (the vectorised helpers of
:mod:`cnnblocks.engine.numba_vector_math`, shorter ones for float32 input) and the result is
rounded once when it is stored. For float32 that makes each result the float64 value rounded to
float32, within 0.5 ulp plus a small fraction of an ulp; for float64 the helpers keep each result
within a few ulp. Only comparisons that the NumPy path makes in x's dtype (softplus's threshold)
are made in x's dtype here too.

Exceptions, for speed (float64 vectors hold four values, float32 eight, and these kernels lost
to PyTorch's float32 ones through float64): silu (forward, derivative, backward), softplus's
derivative and backward, and the exact gelu have ``_f32`` variants in float32 arithmetic, within
a few float32 ulp (bounds pinned by tests/test_engine_activations.py).

Formulas are chosen so that no step overflows, cancels or forms ``inf · 0``:

- elu/selu/celu: ``scale · (α · expm1(min(x, 0)/d) + max(x, 0))`` with an expm1 accurate near 0.
- softplus: ``(max(z, 0) + log1p(e^{−|z|}))/β``, ``z = βx``.
- silu: ``x · σ(x)``; σ from ``z = e^{−|x|}`` as ``1/(1+z)`` or ``z/(1+z)``.
- mish: ``tanh(softplus(x))`` in closed form from the same ``z``: with ``q = 1 + e^x``,
  ``tanh(log q) = (q² − 1)/(q² + 1)``, which is ``z(z + 2)/(z(z + 2) + 2)`` for ``x <= 0``
  (``z = e^x``) and ``(1 + 2z)/(1 + 2z + 2z²)`` for ``x > 0`` (``z = e^{−x}``): one exp, no log,
  no cancellation; ``1 − t`` is as accurate (``2/(n + 2)`` or ``2z²/(…)``).
- tanh: ``−expm1(−2|x|)/(2 + expm1(−2|x|))`` with x's sign.
- gelu: ``x Φ(x)`` with ``Φ(x) = Q(−x)`` for ``x < 0`` and ``1 − Q(x)`` otherwise, ``Q`` the
  normal upper tail with relative accuracy
  (:func:`~cnnblocks.engine.numba_vector_math.normal_tail_f64`); ``f' = Φ(x) + x φ(x)`` with
  ``φ`` from the same ``e^{−x²/2}``.
- gelu (tanh form): ``½(1 + tanh w) = σ(2w)``, so ``x · σ(2w)``, accurate in the lower tail where
  ``1 + tanh w`` would cancel.

NaN inputs: the helpers give unspecified values for them, and each kernel selects NaN (or, for a
derivative, whatever PyTorch's comparisons give) at the end. Compiled with
``fastmath={'contract'}`` only (FMA contraction), as the helpers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnblocks.engine._numba import jit, kernel
from cnnblocks.engine.numba_vector_math import (
    EXP_MATH,
    F32_ONE,
    F32_ZERO,
    exp_nonpositive,
    exp_nonpositive_f32,
    expm1_nonpositive,
    log1p_unit,
    normal_tail_f32,
    normal_tail_f64,
)

__all__ = [
    "exp_unit",
    "exp_unit_backward",
    "exp_unit_grad",
    "gelu",
    "gelu_backward",
    "gelu_backward_f32",
    "gelu_f32",
    "gelu_grad",
    "gelu_grad_f32",
    "gelu_tanh",
    "gelu_tanh_backward",
    "gelu_tanh_grad",
    "mish",
    "mish_backward",
    "mish_grad",
    "silu",
    "silu_backward",
    "silu_backward_f32",
    "silu_f32",
    "silu_grad",
    "silu_grad_f32",
    "softplus",
    "softplus_backward",
    "softplus_backward_f32",
    "softplus_grad",
    "softplus_grad_f32",
    "tanh",
    "tanh_backward",
    "tanh_grad",
]

Array = Any

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_KAPPA = 0.044715
# Helpers that return tuples or call other helpers are inlined by numba itself: LLVM's own
# inliner leaves such calls in the loop, which then runs scalar (measured 6-7× slower).
_HELPER = {**EXP_MATH, "inline": "always"}


# --- elu, selu, celu: scale · (α · expm1(min(x, 0)/d) + max(x, 0)) -----------------------------
# d (celu's α) divides only when ``divide`` is set (elu and selu skip the division); x/d below
# the float range is −inf, whose expm1 is the right −1.


@kernel(**EXP_MATH)
def exp_unit(
    lo: int, hi: int, x: Array, y: Array, alpha: Any, scale: Any, divisor: Any, divide: Any
) -> None:  # pragma: no cover - compiled
    """y = scale · (x if x > 0 else α (e^{x/d} − 1))."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        w = np.float64(v)
        neg = w if w < 0.0 else 0.0  # −0 and NaN give +0 (NaN is selected below)
        pos = w if w > 0.0 else 0.0
        t = neg / divisor if divide else neg
        r = (alpha * expm1_nonpositive(t, v) + pos) * scale
        ys[i] = r if v == v else v


@kernel(**EXP_MATH)
def exp_unit_grad(
    lo: int, hi: int, x: Array, y: Array, factor: Any, scale: Any, divisor: Any, divide: Any
) -> None:  # pragma: no cover - compiled
    """y = scale where x > 0 (and at NaN, PyTorch's ``x <= 0`` test), else factor · e^{x/d}."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        w = np.float64(v)
        neg = w if w < 0.0 else 0.0
        t = neg / divisor if divide else neg
        d = factor * exp_nonpositive(t, v)
        ys[i] = d if w <= 0.0 else scale


@kernel(**EXP_MATH)
def exp_unit_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, factor: Any, scale: Any,
    divisor: Any, divide: Any,
) -> None:  # pragma: no cover - compiled
    """grad_x = grad_y · f'(x), f' as :func:`exp_unit_grad` (product rounded once)."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        w = np.float64(v)
        neg = w if w < 0.0 else 0.0
        t = neg / divisor if divide else neg
        d = factor * exp_nonpositive(t, v)
        d = d if w <= 0.0 else scale
        out[i] = d * np.float64(gs[i])


# --- softplus -------------------------------------------------------------------------------
# z = βx is formed twice: in x's dtype (``zx``, rounded as the NumPy path rounds it) for the
# threshold test, and in float64 for the value. For float32 input the float64 product is exact,
# which keeps the lower tail (log1p(e^z) ≈ e^z, whose relative error is |z| times z's) accurate.


@kernel(**EXP_MATH)
def softplus(
    lo: int, hi: int, x: Array, y: Array, beta_x: Any, threshold_x: Any, beta: Any, divide: Any
) -> None:  # pragma: no cover - compiled
    """y = x where βx > threshold, else log(1 + e^{βx})/β."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        zx = v * beta_x
        z = np.float64(v) * beta
        pos = z if z > 0.0 else 0.0
        s = pos + log1p_unit(exp_nonpositive(-abs(z), v), v)
        s = s / beta if divide else s
        ys[i] = v if (zx > threshold_x) | (v != v) else s


@kernel(**EXP_MATH)
def softplus_grad(
    lo: int, hi: int, x: Array, y: Array, beta_x: Any, threshold_x: Any, beta: Any
) -> None:  # pragma: no cover - compiled
    """y = 1 where βx > threshold, else σ(βx) (NaN stays NaN)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        zx = v * beta_x
        z = np.float64(v) * beta
        e = exp_nonpositive(-abs(z), v)
        s = (1.0 if z >= 0.0 else e) / (1.0 + e)
        s = s if v == v else np.float64(v)
        ys[i] = 1.0 if zx > threshold_x else s


@kernel(**EXP_MATH)
def softplus_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, beta_x: Any, threshold_x: Any,
    beta: Any,
) -> None:  # pragma: no cover - compiled
    """grad_x = grad_y · softplus'(x)."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        zx = v * beta_x
        z = np.float64(v) * beta
        e = exp_nonpositive(-abs(z), v)
        s = (1.0 if z >= 0.0 else e) / (1.0 + e)
        s = s if v == v else np.float64(v)
        s = 1.0 if zx > threshold_x else s
        out[i] = s * np.float64(gs[i])


# --- silu -----------------------------------------------------------------------------------
# σ(x) and σ(−x) from z = e^{−|x|}; x clipped to ±(x's largest float) where it multiplies a
# factor that tends to 0 (so ±inf give the limits, not inf · 0).


@kernel(**EXP_MATH)
def silu(lo: int, hi: int, x: Array, y: Array, big: Any) -> None:  # pragma: no cover - compiled
    """y = x σ(x); −inf gives 0."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        w = np.float64(v)
        e = exp_nonpositive(-abs(w), v)
        s = (1.0 if w >= 0.0 else e) / (1.0 + e)
        r = s * (w if w > -big else -big)
        ys[i] = r if v == v else v


@jit(**_HELPER)
def _silu_derivative(w: Any, big: Any, like: Any) -> Any:  # pragma: no cover - compiled
    """σ(x) (1 + x σ(−x)) in float64, σ(−x) computed directly (not as 1 − σ(x))."""
    e = exp_nonpositive(-abs(w), like)
    inv = 1.0 / (1.0 + e)
    s = (1.0 if w >= 0.0 else e) * inv
    s_neg = (e if w >= 0.0 else 1.0) * inv
    wc = w if w > -big else -big
    wc = wc if wc < big else big
    return s * (wc * s_neg + 1.0)


@kernel(**EXP_MATH)
def silu_grad(lo: int, hi: int, x: Array, y: Array, big: Any) -> None:  # pragma: no cover
    """y = σ(x) (1 + x σ(−x))."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = _silu_derivative(np.float64(v), big, v)
        ys[i] = d if v == v else v


@kernel(**EXP_MATH)
def silu_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, big: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = grad_y · silu'(x)."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = _silu_derivative(np.float64(v), big, v)
        d = d if v == v else np.float64(v)
        out[i] = d * np.float64(gs[i])


# --- mish -----------------------------------------------------------------------------------


@jit(**_HELPER)
def _mish_t(w: Any, like: Any) -> Any:  # pragma: no cover - compiled
    """(t, 1 − t, z) with t = tanh(softplus(x)) and z = e^{−|x|} (see the module docstring)."""
    z = exp_nonpositive(-abs(w), like)
    neg = w <= 0.0
    n = z * (z + 2.0) if neg else 2.0 * z + 1.0
    rest = 2.0 if neg else 2.0 * (z * z)  # den − num
    den = n + rest
    return n / den, rest / den, z


@kernel(**EXP_MATH)
def mish(lo: int, hi: int, x: Array, y: Array, big: Any) -> None:  # pragma: no cover - compiled
    """y = x tanh(softplus(x)); −inf gives 0."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        w = np.float64(v)
        t, _, _ = _mish_t(w, v)
        r = t * (w if w > -big else -big)
        ys[i] = r if v == v else v


@jit(**_HELPER)
def _mish_derivative(w: Any, big: Any, like: Any) -> Any:  # pragma: no cover - compiled
    """t + x σ(x) (1 − t²) (PyTorch's formula), 1 − t² as (1 − t)(1 + t)."""
    t, one_minus_t, z = _mish_t(w, like)
    s = (1.0 if w >= 0.0 else z) / (1.0 + z)
    wc = w if w > -big else -big
    wc = wc if wc < big else big
    return (wc * s) * (one_minus_t * (1.0 + t)) + t


@kernel(**EXP_MATH)
def mish_grad(lo: int, hi: int, x: Array, y: Array, big: Any) -> None:  # pragma: no cover
    """y = mish'(x)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = _mish_derivative(np.float64(v), big, v)
        ys[i] = d if v == v else v


@kernel(**EXP_MATH)
def mish_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, big: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = grad_y · mish'(x)."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = _mish_derivative(np.float64(v), big, v)
        d = d if v == v else np.float64(v)
        out[i] = d * np.float64(gs[i])


# --- tanh -----------------------------------------------------------------------------------


@kernel(**EXP_MATH)
def tanh(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover - compiled
    """y = tanh x = sign(x) · (−m/(2 + m)), m = expm1(−2|x|) (relative accuracy near 0)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        w = np.float64(v)
        m = expm1_nonpositive(-2.0 * abs(w), v)
        t = math.copysign(-m / (m + 2.0), w)
        ys[i] = t if v == v else v


@kernel(**EXP_MATH)
def tanh_grad(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover - compiled
    """y = sech²x = 4z/(1 + z)², z = e^{−2|x|} (relative accuracy in the tails)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        z = exp_nonpositive(-2.0 * abs(np.float64(v)), v)
        d = 1.0 + z
        r = (4.0 * z) / (d * d)
        ys[i] = r if v == v else v


@kernel()
def tanh_backward(
    lo: int, hi: int, grad_y: Array, y: Array, grad_x: Array, one: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = (1 − y·y) · grad_y from the saved output, rounded as the NumPy path (no FMA)."""
    gs, ys, out = grad_y[lo:hi], y[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = ys[i]
        out[i] = (one - v * v) * gs[i]


# --- gelu, tanh approximation ---------------------------------------------------------------
# f = ½x(1 + tanh w) = x σ(2w), w = √(2/π)(x + κx³); f' = σ(2w) + x · 2σ(2w)σ(−2w) · w'(x)
# (PyTorch's ½(1 + t) + ½x(1 − t²) √(2/π)(1 + 3κx²), with 1 ± t = 2σ(±2w)). Beyond |x| = 30,
# e^{−2|w|} < e^{−1900} is 0 in float64, so x is clipped there for w (keeps x³ finite).

_GELU_CLIP = 30.0


@jit(**_HELPER)
def _gelu_tanh_sigmas(w: Any, like: Any) -> Any:  # pragma: no cover - compiled
    """(σ(2w), σ(−2w), w'(x)) for x = w (clipped to ±30)."""
    u = w if w > -_GELU_CLIP else -_GELU_CLIP
    u = u if u < _GELU_CLIP else _GELU_CLIP
    u2 = u * u
    a = 2.0 * _SQRT_2_OVER_PI * (u * (_GELU_KAPPA * u2) + u)  # 2w
    z = exp_nonpositive(-abs(a), like)
    inv = 1.0 / (1.0 + z)
    s = (1.0 if a >= 0.0 else z) * inv
    s_neg = (z if a >= 0.0 else 1.0) * inv
    dw = _SQRT_2_OVER_PI * ((3.0 * _GELU_KAPPA) * u2 + 1.0)
    return s, s_neg, dw


@kernel(**EXP_MATH)
def gelu_tanh(lo: int, hi: int, x: Array, y: Array, big: Any) -> None:  # pragma: no cover
    """y = x σ(2w); −inf gives 0."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        w = np.float64(v)
        s, _, _ = _gelu_tanh_sigmas(w, v)
        r = s * (w if w > -big else -big)
        ys[i] = r if v == v else v


@jit(**_HELPER)
def _gelu_tanh_derivative(w: Any, like: Any) -> Any:  # pragma: no cover - compiled
    s, s_neg, dw = _gelu_tanh_sigmas(w, like)
    u = w if w > -_GELU_CLIP else -_GELU_CLIP
    u = u if u < _GELU_CLIP else _GELU_CLIP
    return (2.0 * u) * (s * s_neg) * dw + s


@kernel(**EXP_MATH)
def gelu_tanh_grad(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover
    """y = gelu'(x), tanh form."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = _gelu_tanh_derivative(np.float64(v), v)
        ys[i] = d if v == v else v


@kernel(**EXP_MATH)
def gelu_tanh_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array
) -> None:  # pragma: no cover - compiled
    """grad_x = grad_y · gelu'(x), tanh form."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = _gelu_tanh_derivative(np.float64(v), v)
        d = d if v == v else np.float64(v)
        out[i] = d * np.float64(gs[i])


# --- gelu, exact: x Φ(x) --------------------------------------------------------------------

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_PHI_CLIP = 40.0  # beyond, x φ(x) is 0 in float64 (and clipping keeps x² finite)


@kernel(**EXP_MATH)
def gelu(lo: int, hi: int, x: Array, y: Array, big: Any) -> None:  # pragma: no cover - compiled
    """y = x Φ(x); −inf gives 0."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        w = np.float64(v)
        q, _ = normal_tail_f64(abs(w))
        cdf = q if w < 0.0 else 1.0 - q
        r = cdf * (w if w > -big else -big)
        ys[i] = r if v == v else v


@jit(**_HELPER)
def _gelu_derivative(w: Any) -> Any:  # pragma: no cover - compiled
    """Φ(x) + x φ(x)."""
    q, e = normal_tail_f64(abs(w))
    cdf = q if w < 0.0 else 1.0 - q
    u = w if w > -_PHI_CLIP else -_PHI_CLIP
    u = u if u < _PHI_CLIP else _PHI_CLIP
    return (u * _INV_SQRT_2PI) * e + cdf


@kernel(**EXP_MATH)
def gelu_grad(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover - compiled
    """y = Φ(x) + x φ(x)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = _gelu_derivative(np.float64(v))
        ys[i] = d if v == v else v


@kernel(**EXP_MATH)
def gelu_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array
) -> None:  # pragma: no cover - compiled
    """grad_x = grad_y · gelu'(x)."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = _gelu_derivative(np.float64(v))
        d = d if v == v else np.float64(v)
        out[i] = d * np.float64(gs[i])


# --- float32 arithmetic for silu and softplus's derivative ------------------------------------
# Through float64 these cost about twice PyTorch's float32 kernels (four lanes a vector instead
# of eight). They are σ-based, like sigmoid_f32, so they take its float32 form: z = e^{−|x|}
# from the float32 vectorised exp (within 1 ulp), σ = 1/(1+z) or z/(1+z). Accuracy: a few
# float32 ulp (bounds pinned by tests/test_engine_activations.py) instead of half an ulp.


@jit(**_HELPER)
def _sigmoid_pair_f32(v: Any) -> Any:  # pragma: no cover - compiled
    """(σ(x), σ(−x)) in float32 arithmetic."""
    z = exp_nonpositive_f32(-abs(v))
    d = z + F32_ONE
    pos = v >= F32_ZERO
    return (F32_ONE if pos else z) / d, (z if pos else F32_ONE) / d


@kernel(**EXP_MATH)
def silu_f32(lo: int, hi: int, x: Array, y: Array, big: Any) -> None:  # pragma: no cover
    """y = x σ(x) in float32 arithmetic; −inf gives 0."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        z = exp_nonpositive_f32(-abs(v))
        s = (F32_ONE if v >= F32_ZERO else z) / (z + F32_ONE)
        r = s * (v if v > -big else -big)
        ys[i] = r if v == v else v


@jit(**_HELPER)
def _silu_derivative_f32(v: Any, big: Any) -> Any:  # pragma: no cover - compiled
    s, s_neg = _sigmoid_pair_f32(v)
    vc = v if v > -big else -big
    vc = vc if vc < big else big
    return s * (vc * s_neg + F32_ONE)


@kernel(**EXP_MATH)
def silu_grad_f32(lo: int, hi: int, x: Array, y: Array, big: Any) -> None:  # pragma: no cover
    """y = σ(x) (1 + x σ(−x)) in float32 arithmetic."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = _silu_derivative_f32(v, big)
        ys[i] = d if v == v else v


@kernel(**EXP_MATH)
def silu_backward_f32(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, big: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = grad_y · silu'(x) in float32 arithmetic."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = _silu_derivative_f32(v, big)
        d = d if v == v else v
        out[i] = d * gs[i]


@kernel(**EXP_MATH)
def softplus_grad_f32(
    lo: int, hi: int, x: Array, y: Array, beta_x: Any, threshold_x: Any
) -> None:  # pragma: no cover - compiled
    """y = 1 where βx > threshold, else σ(βx), float32 arithmetic (NaN stays NaN)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        z = v * beta_x
        e = exp_nonpositive_f32(-abs(z))
        s = (F32_ONE if z >= F32_ZERO else e) / (e + F32_ONE)
        s = s if v == v else v
        ys[i] = F32_ONE if z > threshold_x else s


@kernel(**EXP_MATH)
def softplus_backward_f32(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, beta_x: Any, threshold_x: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = grad_y · softplus'(x), float32 arithmetic."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        z = v * beta_x
        e = exp_nonpositive_f32(-abs(z))
        s = (F32_ONE if z >= F32_ZERO else e) / (e + F32_ONE)
        s = s if v == v else v
        s = F32_ONE if z > threshold_x else s
        out[i] = s * gs[i]


# --- gelu in float32 arithmetic ---------------------------------------------------------------
# As gelu above with the float32 normal tail (see numba_vector_math): through float64 the exact
# gelu took 1.5× PyTorch's time; in float32 it is at par, a few ulp instead of half an ulp, and
# still relatively accurate in the lower tail.

_F32_INV_SQRT_2PI = np.float32(_INV_SQRT_2PI)
_F32_PHI_CLIP = np.float32(_PHI_CLIP)


@kernel(**EXP_MATH)
def gelu_f32(lo: int, hi: int, x: Array, y: Array, big: Any) -> None:  # pragma: no cover
    """y = x Φ(x), float32 arithmetic; −inf gives 0."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        q, _ = normal_tail_f32(abs(v))
        cdf = q if v < F32_ZERO else F32_ONE - q
        r = cdf * (v if v > -big else -big)
        ys[i] = r if v == v else v


@jit(**_HELPER)
def _gelu_derivative_f32(v: Any) -> Any:  # pragma: no cover - compiled
    q, e = normal_tail_f32(abs(v))
    cdf = q if v < F32_ZERO else F32_ONE - q
    u = v if v > -_F32_PHI_CLIP else -_F32_PHI_CLIP
    u = u if u < _F32_PHI_CLIP else _F32_PHI_CLIP
    return (u * _F32_INV_SQRT_2PI) * e + cdf


@kernel(**EXP_MATH)
def gelu_grad_f32(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover - compiled
    """y = Φ(x) + x φ(x), float32 arithmetic."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = _gelu_derivative_f32(v)
        ys[i] = d if v == v else v


@kernel(**EXP_MATH)
def gelu_backward_f32(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array
) -> None:  # pragma: no cover - compiled
    """grad_x = grad_y · gelu'(x), float32 arithmetic."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = _gelu_derivative_f32(v)
        d = d if v == v else v
        out[i] = d * gs[i]
