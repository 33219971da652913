"""Compiled (numba) elementwise kernels: relu and sigmoid, forward, derivative and backward.

Importing this module imports numba; :mod:`cnnblocks.engine.fast_activations` imports it when a
kernel first runs. Every kernel reads its inputs once and writes its output once (fused: no
temporaries), on a range ``[lo, hi)`` of elements of flat contiguous arrays;
:func:`~cnnblocks.engine._numba.parallel_for` runs one range per thread.

numba's ``exp`` compiles to a scalar libm call (no SVML here), which caps sigmoid at a fraction of
memory bandwidth. So ``e^{-|x|}`` is computed with operations that vectorise: Cody–Waite range
reduction ``t = k ln2 + r`` (``|r| <= ln2/2``), a polynomial for ``e^r`` (Cephes ``expf``'s for
float32, Taylor to degree 13 for float64) and the power of two built from exponent bits. The scale
is applied as ``(p · 2^(k+64)) · 2^-64``: the first product is exact (its result is a normal
number for every ``k`` the clamp allows) and only the second can round, so results down to the
subnormals are right with a single bit-built factor. Accuracy: within 2 ulp of a correctly
rounded σ; arguments below −104 (float32) or −746 (float64) give exactly 0, like the correctly
rounded value.

The exp kernels are compiled with ``fastmath={'contract'}`` only: multiply-adds fuse into FMA
instructions (one rounding instead of two, so never less accurate), which halves the work of the
polynomial; no other IEEE rule is relaxed (NaN, inf and signed zeros behave as written).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks.engine._numba import jit, kernel, numba_module

__all__ = [
    "hardswish",
    "hardswish_backward",
    "hardswish_grad",
    "leaky_relu",
    "leaky_relu_backward",
    "leaky_relu_grad",
    "relu",
    "relu_backward",
    "relu_grad",
    "sigmoid_backward",
    "sigmoid_f32",
    "sigmoid_f64",
    "sigmoid_grad_f32",
    "sigmoid_grad_f64",
    "thresholded_relu",
    "thresholded_relu_backward",
    "thresholded_relu_grad",
]

Array = Any

_numba = numba_module()
_types = _numba.core.types


@_numba.extending.intrinsic  # type: ignore[untyped-decorator]
def _bits_as_float(typingctx: Any, bits: Any) -> Any:  # pragma: no cover - compiled
    """Reinterpret int32 bits as float32, int64 bits as float64 (a free register move)."""
    if bits == _types.int32:
        result = _types.float32
    elif bits == _types.int64:
        result = _types.float64
    else:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], context.get_value_type(result))

    return result(bits), codegen


# float32 constants (typed, so that float32 arithmetic is not promoted to float64)
_F32 = np.float32
_F32_LO = _F32(-104.0)
_F32_LOG2E = _F32(1.44269504088896341)
_F32_C1 = _F32(0.693359375)
_F32_C2 = _F32(-2.12194440e-4)
_F32_P0 = _F32(1.9875691500e-4)
_F32_P1 = _F32(1.3981999507e-3)
_F32_P2 = _F32(8.3334519073e-3)
_F32_P3 = _F32(4.1665795894e-2)
_F32_P4 = _F32(1.6666665459e-1)
_F32_P5 = _F32(5.0000001201e-1)
_F32_HALF = _F32(0.5)
_F32_ONE = _F32(1.0)
_F32_ZERO = _F32(0.0)
_F32_MANT = _F32(8388608.0)  # 2**23

# float64 constants
_F64_LO = -746.0
_F64_LOG2E = 1.4426950408889634
_F64_C1 = 6.93147180369123816490e-01  # ln 2, high part (exact in few bits)
_F64_C2 = 1.90821492927058770002e-10  # ln 2 - C1
_F64_MANT = 4503599627370496.0  # 2**52


_F32_SCALE_BIAS = _F32(127.0 + 64.0)
_F32_TWO_M64 = _F32(2.0**-64)
_F64_SCALE_BIAS = 1023.0 + 64.0
_F64_TWO_M64 = 2.0**-64
# Cody-Waite's k = round(t · log2 e) by the 1.5 · 2^mantissa trick: adding and subtracting it
# rounds to nearest in two plain additions, which vectorise (np.floor does too, but costs more).
_F32_ROUND = _F32(12582912.0)  # 1.5 * 2**23
_F64_ROUND = 6755399441055744.0  # 1.5 * 2**52

# Helpers and kernels that evaluate e^t: FMA contraction only (see the module docstring).
_EXP_MATH = {"fastmath": {"contract"}}


@jit(**_EXP_MATH)
def _exp_nonpositive_f32(t: Any) -> Any:  # pragma: no cover - compiled
    """e^t for t <= 0 (float32); NaN input gives garbage, callers select NaN afterwards."""
    t = t if t > _F32_LO else _F32_LO
    kf = (t * _F32_LOG2E + _F32_ROUND) - _F32_ROUND
    r = t - kf * _F32_C1
    r = r - kf * _F32_C2
    p = _F32_P0
    p = p * r + _F32_P1
    p = p * r + _F32_P2
    p = p * r + _F32_P3
    p = p * r + _F32_P4
    p = p * r + _F32_P5
    p = p * r * r + r + _F32_ONE
    # 2^(k+64) from its exponent bits: k >= -150 after the clamp, so the biased exponent is >= 41
    scale = _bits_as_float(np.int32((kf + _F32_SCALE_BIAS) * _F32_MANT))
    return (p * scale) * _F32_TWO_M64


@jit(**_EXP_MATH)
def _exp_nonpositive_f64(t: Any) -> Any:  # pragma: no cover - compiled
    """e^t for t <= 0 (float64), Taylor polynomial of degree 13 on |r| <= ln2/2."""
    t = t if t > _F64_LO else _F64_LO
    kf = (t * _F64_LOG2E + _F64_ROUND) - _F64_ROUND
    r = t - kf * _F64_C1
    r = r - kf * _F64_C2
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r * r + r + 1.0
    scale = _bits_as_float(np.int64((kf + _F64_SCALE_BIAS) * _F64_MANT))
    return (p * scale) * _F64_TWO_M64


# --- sigmoid --------------------------------------------------------------------------------
# σ(x) = 1/(1+z) for x >= 0 and z/(1+z) for x < 0, z = e^{-|x|}: no overflow, both tails accurate.
# Every kernel works on elements [lo, hi) of flat contiguous arrays; slicing first lets the loop
# index start at 0, which spares the wrap-around checks that would stop vectorisation.


@kernel(**_EXP_MATH)
def sigmoid_f32(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover - compiled
    """y = σ(x), float32."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        z = _exp_nonpositive_f32(-abs(v))
        num = _F32_ONE if v >= _F32_ZERO else z
        s = num / (z + _F32_ONE)
        ys[i] = s if v == v else v


@kernel(**_EXP_MATH)
def sigmoid_f64(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover - compiled
    """y = σ(x), float64."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        z = _exp_nonpositive_f64(-abs(v))
        num = 1.0 if v >= 0.0 else z
        s = num / (z + 1.0)
        ys[i] = s if v == v else v


@kernel(**_EXP_MATH)
def sigmoid_grad_f32(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover
    """y = σ'(x) = z/(1+z)^2, z = e^{-|x|}, float32."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        z = _exp_nonpositive_f32(-abs(v))
        d = z + _F32_ONE
        s = z / (d * d)
        ys[i] = s if v == v else v


@kernel(**_EXP_MATH)
def sigmoid_grad_f64(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover
    """y = σ'(x) = z/(1+z)^2, z = e^{-|x|}, float64."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        z = _exp_nonpositive_f64(-abs(v))
        d = z + 1.0
        s = z / (d * d)
        ys[i] = s if v == v else v


@kernel()
def sigmoid_backward(
    lo: int, hi: int, grad_y: Array, y: Array, grad_x: Array, one: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = grad_y · ((1 − y) · y), in that order (as the NumPy path rounds)."""
    gs, ys, out = grad_y[lo:hi], y[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = ys[i]
        out[i] = ((one - v) * v) * gs[i]


# --- relu -----------------------------------------------------------------------------------


@kernel()
def relu(lo: int, hi: int, x: Array, y: Array, zero: Any) -> None:  # pragma: no cover
    """y = max(0, x) exactly as ``np.maximum(x, 0)``: NaN propagates and −0 gives +0.

    numba's ``np.maximum(a, b)`` returns ``a`` on ties, so ``a = +0`` turns −0 into +0.
    """
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        ys[i] = np.maximum(zero, xs[i])


@kernel()
def relu_grad(
    lo: int, hi: int, x: Array, y: Array, zero: Any, one: Any
) -> None:  # pragma: no cover - compiled
    """y = 0 where x <= 0, else 1 (relu'(0) = 0; NaN gives 1, PyTorch's ``x <= 0 ? 0 : 1``)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        ys[i] = zero if xs[i] <= zero else one


@kernel()
def relu_backward(
    lo: int, hi: int, grad_y: Array, y: Array, grad_x: Array, zero: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = 0 where y <= 0, else grad_y (so a NaN output passes the gradient, as in PyTorch)."""
    gs, ys, out = grad_y[lo:hi], y[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        g = gs[i]  # loaded unconditionally: a branch-free select
        out[i] = zero if ys[i] <= zero else g


# --- leaky relu -----------------------------------------------------------------------------
# The same operations, in the same order, as the NumPy path (``slope · x``, then ``x`` where
# ``x > 0``; ``grad_y · f'``), so both give the same bits; one pass instead of three.


@kernel()
def leaky_relu(
    lo: int, hi: int, x: Array, y: Array, zero: Any, slope: Any
) -> None:  # pragma: no cover - compiled
    """y = x where x > 0, else slope · x (NaN stays NaN)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        scaled = v * slope
        ys[i] = v if v > zero else scaled


@kernel()
def leaky_relu_grad(
    lo: int, hi: int, x: Array, y: Array, zero: Any, one: Any, slope: Any
) -> None:  # pragma: no cover - compiled
    """y = 1 where x > 0, else slope (also at 0, and at NaN, as PyTorch)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        ys[i] = one if xs[i] > zero else slope


@kernel()
def leaky_relu_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, zero: Any, one: Any, slope: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = f'(x) · grad_y with f' as :func:`leaky_relu_grad`."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        d = one if xs[i] > zero else slope
        out[i] = d * gs[i]


# --- thresholded relu -----------------------------------------------------------------------
# ``x <= θ ? 0 : ...`` as in the NumPy path and PyTorch's threshold: NaN takes the else branch.


@kernel()
def thresholded_relu(
    lo: int, hi: int, x: Array, y: Array, zero: Any, theta: Any
) -> None:  # pragma: no cover - compiled
    """y = 0 where x <= θ, else x."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        ys[i] = zero if v <= theta else v


@kernel()
def thresholded_relu_grad(
    lo: int, hi: int, x: Array, y: Array, zero: Any, one: Any, theta: Any
) -> None:  # pragma: no cover - compiled
    """y = 0 where x <= θ, else 1."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        ys[i] = zero if xs[i] <= theta else one


@kernel()
def thresholded_relu_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, zero: Any, theta: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = 0 where x <= θ, else grad_y."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        g = gs[i]  # loaded unconditionally: a branch-free select
        out[i] = zero if xs[i] <= theta else g


# --- hardswish ------------------------------------------------------------------------------
# The NumPy path's operations in its order: r = clip(x + 3, 0, 6) / 6, times max(x, -max_float)
# (so -inf gives the limit 0); f' = x/3 + 1/2 inside, 0 at x <= -3, 1 at x >= 3 and at NaN.


@kernel()
def hardswish(
    lo: int, hi: int, x: Array, y: Array, zero: Any, three: Any, six: Any, lowest: Any
) -> None:  # pragma: no cover - compiled
    """y = x · relu6(x + 3) / 6."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        r = np.minimum(np.maximum(v + three, zero), six) / six
        ys[i] = r * np.maximum(v, lowest)


@kernel()
def hardswish_grad(
    lo: int, hi: int, x: Array, y: Array, zero: Any, one: Any, half: Any, three: Any
) -> None:  # pragma: no cover - compiled
    """y = 0 for x <= -3, x/3 + 1/2 for -3 < x < 3, 1 for x >= 3 (and NaN)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = v / three + half
        d = zero if v <= -three else d
        ys[i] = d if v < three else one


@kernel()
def hardswish_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, zero: Any, one: Any, half: Any,
    three: Any,
) -> None:  # pragma: no cover - compiled
    """grad_x = hardswish'(x) · grad_y."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = v / three + half
        d = zero if v <= -three else d
        d = d if v < three else one
        out[i] = d * gs[i]
