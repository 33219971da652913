"""Vectorisable elementary functions for the compiled activation kernels, one job each.

numba's ``exp``, ``expm1``, ``log1p`` and ``erfc`` compile to scalar libm calls (no SVML here),
which caps a kernel at a fraction of memory bandwidth. The helpers here use only operations that
vectorise (multiply-adds, selects, bit moves), are branch-free, and are inlined into the kernels
that call them. Each takes its argument in a restricted range (stated), which is all the
activations need and spares the range checks.

exp. ``e^t`` for ``t <= 0``: Cody–Waite range reduction ``t = k ln2 + r`` (``|r| <= ln2/2``), a
polynomial for ``e^r`` (Cephes ``expf``'s for float32, Taylor to degree 13 for float64) and the
power of two built from exponent bits. The scale is applied as ``(p · 2^(k+64)) · 2^-64``: the
first product is exact (its result is a normal number for every ``k`` the clamp allows) and only
the second can round, so results down to the subnormals are right with a single bit-built factor.
Arguments below −104 (float32) or −746 (float64) give exactly 0, like the correctly rounded value.

expm1. ``e^t − 1`` for ``t <= 0`` with relative accuracy near 0 (``e^t − 1`` alone loses it
there): the same reduction, then ``e^t − 1 = 2^k · expm1(r) + (2^k − 1)``, where ``2^k − 1`` is
exact and the sum is one FMA (fdlibm's idea); ``expm1(r)`` is its Taylor polynomial.

log1p. ``log(1 + z)`` for ``0 <= z <= 1`` (softplus needs ``z = e^{−|x|}``): ``1 + z = 2^e (1 + f)``
with ``f = z`` (``e = 0``, ``z < 1/2``) or ``f = (z − 1)/2`` (``e = 1``), both exact, so
``f ∈ [−1/4, 1/2)``; then ``log1p(f) = 2 atanh(s)``, ``s = f/(2 + f)``, written as
``f − s (f − R(s))`` so that the leading term ``f`` carries no rounding (fdlibm's ``log1p``).

normal tail. ``Q(a) = ½ erfc(a/√2)`` with relative accuracy in the tail, for gelu, as
``e^{−a²/2}`` (from an exact ``a²``) times a fitted polynomial (see the section below); a
float32-arithmetic version serves the float32 gelu kernels.

Everything is compiled with ``fastmath={'contract'}`` only: multiply-adds fuse into FMA
instructions (one rounding instead of two, so never less accurate), which halves the work of the
polynomials; no other IEEE rule is relaxed (NaN, inf and signed zeros behave as written). NaN
arguments give unspecified values: callers select NaN afterwards.

The float64 helpers serve float64 kernels. Kernels for float32 input also compute in float64
(and round once), but need only ~2^-29 relative accuracy: :func:`exp_nonpositive`,
:func:`expm1_nonpositive` and :func:`log1p_unit` pick, by the input's
dtype when a kernel is compiled, the full helper or a shorter one (lower degrees, one-constant
reduction), about 40% cheaper.

Accuracy (measured against 80-bit ``np.longdouble``): the float64 ``exp``, ``expm1`` and
``log1p`` are within about 1.2 ulp; the float32 ``exp`` within 2 ulp. The activations' own
bounds are pinned by tests/test_engine_activations.py.

numba's on-disk cache is keyed on the source file of each *kernel*, not of the helpers it
inlines: after editing this module, delete the cached kernels of the modules that use it
(``numba_activations.*`` and ``numba_smooth_activations.*`` in the cache directory), or they may
keep the old code. (An installed upgrade replaces every file, so users are not affected.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks.engine._numba import jit, numba_module

__all__ = [
    "EXP_MATH",
    "F32_ONE",
    "F32_ZERO",
    "exp_nonpositive",
    "exp_nonpositive_f32",
    "exp_nonpositive_f64",
    "expm1_nonpositive",
    "expm1_nonpositive_f64",
    "log1p_unit",
    "log1p_unit_f64",
    "normal_tail_f32",
    "normal_tail_f64",
]

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


@_numba.extending.intrinsic  # type: ignore[untyped-decorator]
def _float_as_bits(typingctx: Any, value: Any) -> Any:  # pragma: no cover - compiled
    """Reinterpret float64 as int64 bits (a free register move)."""
    if value != _types.float64:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], context.get_value_type(_types.int64))

    return _types.int64(value), codegen


@_numba.extending.intrinsic  # type: ignore[untyped-decorator]
def _float32_as_bits(typingctx: Any, value: Any) -> Any:  # pragma: no cover - compiled
    """Reinterpret float32 as int32 bits (a free register move)."""
    if value != _types.float32:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], context.get_value_type(_types.int32))

    return _types.int32(value), codegen


@jit()
def _pow2_f64(shifted: Any, bias: Any) -> Any:  # pragma: no cover - compiled
    """2^(k + bias) from ``shifted = k + 1.5·2^52`` (k an integer, |k| < 2^51), by integer ops.

    The low bits of ``shifted`` hold k in two's complement, and the constant's own bits vanish
    when shifted into the exponent field, so ``(bits + bias) << 52`` is the power of two. AVX2
    has no float64 → int64 vector conversion; this keeps the float64 helpers vectorised.
    """
    return _bits_as_float((_float_as_bits(shifted) + bias) << 52)


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
F32_ONE = _F32(1.0)
F32_ZERO = _F32(0.0)
_F32_MANT = _F32(8388608.0)  # 2**23

# float64 constants
_F64_LO = -746.0
_F64_LOG2E = 1.4426950408889634
_F64_C1 = 6.93147180369123816490e-01  # ln 2, high part (exact in few bits)
_F64_C2 = 1.90821492927058770002e-10  # ln 2 - C1


_F32_SCALE_BIAS = _F32(127.0 + 64.0)
_F32_TWO_M64 = _F32(2.0**-64)
_I64_SCALE_BIAS = np.int64(1023 + 64)
_F64_TWO_M64 = 2.0**-64
# Cody-Waite's k = round(t · log2 e) by the 1.5 · 2^mantissa trick: adding and subtracting it
# rounds to nearest in two plain additions, which vectorise (np.floor does too, but costs more).
_F32_ROUND = _F32(12582912.0)  # 1.5 * 2**23
_F64_ROUND = 6755399441055744.0  # 1.5 * 2**52

# Helpers and kernels that evaluate e^t: FMA contraction only (see the module docstring).
EXP_MATH = {"fastmath": {"contract"}}
# Helpers that return tuples are inlined by numba itself (LLVM leaves such calls in the loop).
_TAIL_MATH = {**EXP_MATH, "inline": "always"}


@jit(**EXP_MATH)
def exp_nonpositive_f32(t: Any) -> Any:  # pragma: no cover - compiled
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
    p = p * r * r + r + F32_ONE
    # 2^(k+64) from its exponent bits: k >= -150 after the clamp, so the biased exponent is >= 41
    scale = _bits_as_float(np.int32((kf + _F32_SCALE_BIAS) * _F32_MANT))
    return (p * scale) * _F32_TWO_M64


@jit(**EXP_MATH)
def exp_nonpositive_f64(t: Any) -> Any:  # pragma: no cover - compiled
    """e^t for t <= 0 (float64), Taylor polynomial of degree 13 on |r| <= ln2/2."""
    t = t if t > _F64_LO else _F64_LO
    shifted = t * _F64_LOG2E + _F64_ROUND
    kf = shifted - _F64_ROUND
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
    scale = _pow2_f64(shifted, _I64_SCALE_BIAS)
    return (p * scale) * _F64_TWO_M64


# --- expm1 ----------------------------------------------------------------------------------

# Below −40, e^t − 1 rounds to −1 in float64; the clamp keeps 2^k a normal number (k >= −58).
_EXPM1_LO = -40.0
_I64_BIAS = np.int64(1023)


@jit(**EXP_MATH)
def expm1_nonpositive_f64(t: Any) -> Any:  # pragma: no cover - compiled
    """e^t − 1 for t <= 0 (float64), relative accuracy near 0; −inf gives −1."""
    t = t if t > _EXPM1_LO else _EXPM1_LO
    shifted = t * _F64_LOG2E + _F64_ROUND
    kf = shifted - _F64_ROUND
    r = t - kf * _F64_C1
    r = r - kf * _F64_C2
    # expm1(r) = r + r^2 q(r), q = 1/2! + r/3! + ... + r^11/13!: truncation below 2^-56 relative
    q = 1.0 / 6227020800.0
    q = q * r + 1.0 / 479001600.0
    q = q * r + 1.0 / 39916800.0
    q = q * r + 1.0 / 3628800.0
    q = q * r + 1.0 / 362880.0
    q = q * r + 1.0 / 40320.0
    q = q * r + 1.0 / 5040.0
    q = q * r + 1.0 / 720.0
    q = q * r + 1.0 / 120.0
    q = q * r + 1.0 / 24.0
    q = q * r + 1.0 / 6.0
    q = q * r + 0.5
    p = (r * r) * q + r
    scale = _pow2_f64(shifted, _I64_BIAS)  # 2^k, exact
    # 2^k e^r − 1 = 2^k expm1(r) + (2^k − 1): the second term is exact, the sum one FMA
    return scale * p + (scale - 1.0)


# --- log1p ----------------------------------------------------------------------------------

_LN2_HI = 6.93147180369123816490e-01  # ln 2 = LN2_HI + LN2_LO, LN2_HI with trailing zero bits
_LN2_LO = 1.90821492927058770002e-10


@jit(**EXP_MATH)
def log1p_unit_f64(z: Any) -> Any:  # pragma: no cover - compiled
    """log(1 + z) for 0 <= z <= 1 (float64), relative accuracy near 0."""
    upper = z >= 0.5
    f = (z - 1.0) * 0.5 if upper else z  # exact: Sterbenz, then a halving
    e = 1.0 if upper else 0.0
    s = f / (f + 2.0)
    s2 = s * s
    # R = 2 s^2/3 + 2 s^4/5 + ... + 2 s^22/23 (|s| <= 1/5: truncation below 2^-55 relative)
    r = 2.0 / 23.0
    r = r * s2 + 2.0 / 21.0
    r = r * s2 + 2.0 / 19.0
    r = r * s2 + 2.0 / 17.0
    r = r * s2 + 2.0 / 15.0
    r = r * s2 + 2.0 / 13.0
    r = r * s2 + 2.0 / 11.0
    r = r * s2 + 2.0 / 9.0
    r = r * s2 + 2.0 / 7.0
    r = r * s2 + 2.0 / 5.0
    r = r * s2 + 2.0 / 3.0
    r = r * s2
    # log1p(f) = 2s + s R = f − s (f − R), since 2s = f − s f
    return e * _LN2_HI + ((f - s * (f - r)) + e * _LN2_LO)


# --- shorter float64 helpers for float32 results ----------------------------------------------
# A float32 result needs its float64 value only to about 2^-30 relative (then rounding to
# float32 stays within 0.5 + 2^-6 ulp): a single-constant reduction, lower-degree polynomials,
# and a clamp that keeps 2^k normal (every float32 result below e^-200 is 0 anyway). About 40%
# fewer operations than the float64 helpers, which sets the float32 kernels' speed.

_SHORT_LO = -200.0
_SHORT_EXPM1_LO = -20.0  # e^t − 1 rounds to −1 in float32 below −17.4
_LN2 = 0.6931471805599453


@jit(**EXP_MATH)
def _exp_short(t: Any) -> Any:  # pragma: no cover - compiled
    """e^t for t <= 0 to ~2^-31 relative (float64 arithmetic); below −200 gives e^-200."""
    t = t if t > _SHORT_LO else _SHORT_LO
    shifted = t * _F64_LOG2E + _F64_ROUND
    kf = shifted - _F64_ROUND
    r = t - kf * _LN2  # one FMA: error |k| · ulp(ln 2)/2 <= 2^-45, below what float32 needs
    p = 1.0 / 40320.0  # Taylor to degree 8 on |r| <= ln2/2: truncation 2^-32
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _pow2_f64(shifted, _I64_BIAS)


@jit(**EXP_MATH)
def _expm1_short(t: Any) -> Any:  # pragma: no cover - compiled
    """e^t − 1 for t <= 0 to ~2^-31 relative (float64 arithmetic)."""
    t = t if t > _SHORT_EXPM1_LO else _SHORT_EXPM1_LO
    shifted = t * _F64_LOG2E + _F64_ROUND
    kf = shifted - _F64_ROUND
    r = t - kf * _LN2
    q = 1.0 / 362880.0  # expm1(r) = r + r^2 q(r), Taylor to degree 9
    q = q * r + 1.0 / 40320.0
    q = q * r + 1.0 / 5040.0
    q = q * r + 1.0 / 720.0
    q = q * r + 1.0 / 120.0
    q = q * r + 1.0 / 24.0
    q = q * r + 1.0 / 6.0
    q = q * r + 0.5
    p = (r * r) * q + r
    scale = _pow2_f64(shifted, _I64_BIAS)
    return scale * p + (scale - 1.0)


@jit(**EXP_MATH)
def _log1p_unit_short(z: Any) -> Any:  # pragma: no cover - compiled
    """log(1 + z) for 0 <= z <= 1 to ~2^-31 relative (float64 arithmetic)."""
    upper = z >= 0.5
    f = (z - 1.0) * 0.5 if upper else z
    e = 1.0 if upper else 0.0
    s = f / (f + 2.0)
    s2 = s * s
    r = 2.0 / 13.0  # R to s^12: truncation 2^-35 relative
    r = r * s2 + 2.0 / 11.0
    r = r * s2 + 2.0 / 9.0
    r = r * s2 + 2.0 / 7.0
    r = r * s2 + 2.0 / 5.0
    r = r * s2 + 2.0 / 3.0
    r = r * s2
    return e * _LN2 + (f - s * (f - r))


# --- by the input's dtype ---------------------------------------------------------------------
# The kernels are written once for float32 and float64 input; these pick, when numba compiles a
# kernel for one input dtype, the float64 helper that dtype needs (``like`` is any value of the
# input's dtype, e.g. the element just loaded). Resolved at compile time: no run-time branch.


def exp_nonpositive(t: float, like: float) -> float:
    """e^t for t <= 0, in float64, as accurate as a result of ``like``'s dtype needs."""
    raise NotImplementedError("compiled only (numba overload)")


def expm1_nonpositive(t: float, like: float) -> float:
    """e^t − 1 for t <= 0, in float64, as accurate as ``like``'s dtype needs."""
    raise NotImplementedError("compiled only (numba overload)")


def log1p_unit(z: float, like: float) -> float:
    """log(1 + z) for 0 <= z <= 1, in float64, as accurate as ``like``'s dtype needs."""
    raise NotImplementedError("compiled only (numba overload)")


def _by_dtype(short: Any, full: Any) -> Any:
    # numba requires the implementation's parameters (names and annotations) to match these
    def typer(arg: Any, like: Any) -> Any:
        chosen = short if like == _types.float32 else full

        def impl(arg: Any, like: Any) -> Any:  # pragma: no cover - compiled
            return chosen(arg)

        return impl

    return typer


_overload = _numba.extending.overload
_overload(exp_nonpositive, inline="always")(_by_dtype(_exp_short, exp_nonpositive_f64))
_overload(expm1_nonpositive, inline="always")(_by_dtype(_expm1_short, expm1_nonpositive_f64))
_overload(log1p_unit, inline="always")(_by_dtype(_log1p_unit_short, log1p_unit_f64))


# --- the normal distribution's upper tail -----------------------------------------------------
# Q(a) = ½ erfc(a/√2) = P(X > a) for a >= 0, with relative accuracy however small it gets (Φ(x)
# = Q(−x) for x < 0, 1 − Q(x) otherwise): Q(a) = e^{−a²/2} · R(a), where R(a) = Q(a) e^{a²/2} is
# smooth and slowly varying (½ at 0, about φ(0)/a for large a). With s = 2K/(a + K),
# R = s · P(s − 1) and P is a polynomial fitted (interpolation at Chebyshev points, in 50-digit
# arithmetic with mpmath) on a ∈ [0, 40] (float64: degree 22, K = 4, relative error 6e-16, about
# the rounding of s) or [0, 16] (float32, below: degree 10, K = 3, 1.2e-9). Above those a the
# result is 0 in the dtype anyway (the exponential carries it there; a is clipped only inside
# s). e^{−a²/2} needs a² exactly: Dekker's product gives the rounding error l of h = fl(a²), and
# e^{−(h + l)/2} = e^{−h/2}(1 − l/2) to far below an ulp.

_TAIL_K = 4.0


@jit(**_TAIL_MATH)
def normal_tail_f64(a: Any) -> Any:  # pragma: no cover - compiled
    """(Q(a), e^{−a²/2}) for a >= 0 (float64); a beyond 40 gives (0, 0), like the true values."""
    a = a if a < 40.0 else 40.0
    h = a * a
    # the exact rounding error of h (Dekker's product: a = a_hi + a_lo, halves of 26 bits)
    split = a * 134217729.0  # 2^27 + 1
    a_hi = split - (split - a)
    a_lo = a - a_hi
    low = ((a_hi * a_hi - h) + 2.0 * (a_hi * a_lo)) + a_lo * a_lo
    e = exp_nonpositive_f64(-0.5 * h)
    e = e - e * (0.5 * low)
    s = (2.0 * _TAIL_K) / (a + _TAIL_K)
    tau = s - 1.0
    p = -1.2488280200029095e-10
    p = p * tau + 1.2691196470620224e-12
    p = p * tau + 1.7470660194938526e-09
    p = p * tau + -1.855298759093918e-09
    p = p * tau + -9.543391054301357e-09
    p = p * tau + 1.93274602390274e-08
    p = p * tau + 3.294288820085557e-08
    p = p * tau + -1.2750891740710582e-07
    p = p * tau + -7.812383744212232e-08
    p = p * tau + 7.398766482692555e-07
    p = p * tau + 8.936635406848001e-08
    p = p * tau + -4.393026871032225e-06
    p = p * tau + -2.384804257406088e-07
    p = p * tau + 2.888685301874638e-05
    p = p * tau + 1.6668031222948035e-05
    p = p * tau + -0.00020385230531007358
    p = p * tau + -0.00043496154522550747
    p = p * tau + 0.0009425236207031271
    p = p * tau + 0.0075495718613345815
    p = p * tau + 0.023315232244961674
    p = p * tau + 0.04839217509277742
    p = p * tau + 0.07598708024648647
    p = p * tau + 0.09441064130196894
    return e * (s * p), e



# --- the normal tail in float32 arithmetic --------------------------------------------------
# For float32 gelu, whose speed is set by this: through float64 (above) it costs ~2.5 ns a value,
# in float32 (eight lanes a vector) ~1.7. x²/2 must still be exact: with a = a_hi + a_lo (a_hi
# the top 12 significand bits), −a²/2 = t_hi + t_lo where t_hi = −a_hi²/2 is exact and
# t_lo = −(a_hi a_lo + a_lo²/2) small; Cody–Waite subtracts k ln2 from t_hi exactly (Sterbenz)
# and only then adds t_lo, so the reduced argument carries the whole exponent. e^r is Cephes'
# expf polynomial, R the degree-10 fit (K = 3) in float32. Accuracy: a few float32 ulp (the
# float32 roundings of e^r, s and the polynomial), pinned by the tests.

_F32_HI_MASK = np.int32(-4096)  # sign, exponent and the top 12 significand bits
_F32_TAIL_K = _F32(3.0)
_F32_TAIL_2K = _F32(6.0)
_F32_TAIL_CLIP = _F32(16.0)
_F32_MINUS_HALF = _F32(-0.5)
_F32_K_MIN = _F32(-150.0)


@jit(**_TAIL_MATH)
def normal_tail_f32(a: Any) -> Any:  # pragma: no cover - compiled
    """(Q(a), e^{−a²/2}) for float32 a >= 0, in float32 arithmetic; a beyond ~14.4 gives 0s."""
    a_hi = _bits_as_float(np.int32(_float32_as_bits(a) & _F32_HI_MASK))  # numba widens the &
    a_lo = a - a_hi
    t_hi = _F32_MINUS_HALF * (a_hi * a_hi)
    t_lo = _F32_MINUS_HALF * (a_lo * a_lo) - a_hi * a_lo
    t = t_hi + t_lo
    vanishes = not (t > _F32_LO)  # e^t is 0 in float32 below −104; also a = inf (t is NaN)
    kf = (t * _F32_LOG2E + _F32_ROUND) - _F32_ROUND
    r = t_hi - kf * _F32_C1  # exact
    r = (r - kf * _F32_C2) + t_lo
    p = _F32_P0
    p = p * r + _F32_P1
    p = p * r + _F32_P2
    p = p * r + _F32_P3
    p = p * r + _F32_P4
    p = p * r + _F32_P5
    p = p * r * r + r + F32_ONE
    kf = kf if kf > _F32_K_MIN else _F32_K_MIN
    scale = _bits_as_float(np.int32((kf + _F32_SCALE_BIAS) * _F32_MANT))
    e = (p * scale) * _F32_TWO_M64
    e = F32_ZERO if vanishes else e
    ac = a if a < _F32_TAIL_CLIP else _F32_TAIL_CLIP
    s = _F32_TAIL_2K / (ac + _F32_TAIL_K)
    tau = s - F32_ONE
    p = _F32(9.27513867524766e-06)
    p = p * tau + _F32(-2.2246598548923617e-05)
    p = p * tau + _F32(-4.083363237147678e-05)
    p = p * tau + _F32(0.00017246368704008612)
    p = p * tau + _F32(0.0001707157870403965)
    p = p * tau + _F32(-0.0011616802337053671)
    p = p * tau + _F32(-0.0017437183013462808)
    p = p * tau + _F32(0.007877131806545333)
    p = p * tau + _F32(0.03833627957646854)
    p = p * tau + _F32(0.08488866458173736)
    p = p * tau + _F32(0.12151394845212252)
    return e * (s * p), e
