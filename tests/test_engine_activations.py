"""The compiled activation kernels on their own: exactness and accuracy against independent sources.

Piecewise-linear kernels must give the same bits as the NumPy formulas written out here (the
operations of the NumPy path, in its order). Transcendental kernels are measured in ulps against
a higher-precision evaluation that shares no code with them: float32 kernels against NumPy/SciPy
in float64, float64 kernels against ``np.longdouble`` (80-bit x87 here) where NumPy has the
function in that precision (exp, expm1, log1p, tanh).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from cnnblocks.engine import fast_activations as fa
from cnnblocks.functional import activations as A
from cnnblocks.functional._rectifiers import _prelu_weight

FLOATS = [np.float32, np.float64]
SIZES = [pytest.param(37, id="serial"), pytest.param(fa.PARALLEL_MIN + 1001, id="parallel")]


def _same_bits(got: np.ndarray | None, want: np.ndarray) -> None:
    assert got is not None
    assert got.dtype == want.dtype
    assert_array_equal(got, want)
    assert_array_equal(np.signbit(got), np.signbit(want))  # −0 where NumPy gives −0


def _edgy(dtype: Any, n: int, seed: int, scale: float = 4.0) -> np.ndarray:
    x = (np.random.default_rng(seed).standard_normal(n) * scale).astype(dtype)
    big = np.finfo(dtype).max
    x[:14] = [0.0, -0.0, np.nan, np.inf, -np.inf, 6.0, 3.0, -3.0, big, -big, 1e-30, -1e-30,
              np.nextafter(dtype(6), dtype(0)), np.nextafter(dtype(-3), dtype(0))]
    return x


# --- piecewise linear: bit for bit the NumPy path ---------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", SIZES)
def test_relu6_matches_numpy_exactly(dtype: Any, n: int) -> None:
    x = _edgy(dtype, n, 1)
    _same_bits(fa.relu6(x), np.clip(x, 0, 6))  # NaN stays, −0 stays −0 (np.clip)
    _same_bits(fa.relu6_grad(x), (~((x <= 0) | (x >= 6))).astype(dtype))  # NaN: 1
    y = np.clip(x, 0, 6)
    g = np.random.default_rng(2).standard_normal(n).astype(dtype)
    _same_bits(fa.relu6_backward(g, y), np.where((y <= 0) | (y >= 6), dtype(0), g))


@pytest.mark.parametrize(("alpha", "beta"), [(1 / 6, 0.5), (0.2, 0.5), (10.0, 0.25), (-0.5, 0.3)])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", SIZES)
def test_hardsigmoid_matches_numpy_exactly(dtype: Any, n: int, alpha: float, beta: float) -> None:
    x = _edgy(dtype, n, 3)
    with np.errstate(over="ignore", invalid="ignore"):
        v = x * dtype(alpha) + dtype(beta)
    inside = (v > 0) & (v < 1)
    _same_bits(fa.hardsigmoid(x, alpha, beta), np.clip(v, 0, 1))
    _same_bits(fa.hardsigmoid_grad(x, alpha, beta), np.where(inside, dtype(alpha), dtype(0)))
    g = np.random.default_rng(4).standard_normal(n).astype(dtype)
    _same_bits(fa.hardsigmoid_backward(g, x, alpha, beta),
               np.where(inside, g, dtype(0)) * dtype(alpha))
    assert fa.hardsigmoid(x, 0.0, 0.5) is None  # α = 0: NumPy maps ±inf to β, not inf·0


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", SIZES)
def test_softsign_matches_numpy_exactly(dtype: Any, n: int) -> None:
    x = _edgy(dtype, n, 5)
    big = np.finfo(dtype).max
    xc = np.clip(x, -big, big)
    _same_bits(fa.softsign(x), xc / (np.abs(xc) + dtype(1)))  # ±inf give ±1
    r = dtype(1) / (np.abs(x) + dtype(1))
    _same_bits(fa.softsign_grad(x), r * r)
    g = np.random.default_rng(6).standard_normal(n).astype(dtype)
    _same_bits(fa.softsign_backward(g, x), (r * r) * g)


PRELU_LAYOUTS = [
    ((2, 3, 4, 5), 3, 1),  # NCHW, a weight per channel
    ((2, 3, 4, 5), 1, 1),  # one shared weight
    ((4, 6), 6, 1),  # (N, C)
    ((5,), 1, 1),  # no channel axis
    ((3, 70, 50), 50, -1),  # channels last: the weights vary along the contiguous axis
    ((40, 7, 300), 7, 1),  # parallel, planes longer than a block boundary
    ((8, 300, 30), 300, 1),  # more channels than fit one block's 64-per-channel rule
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(("shape", "channels", "axis"), PRELU_LAYOUTS)
def test_prelu_matches_numpy(dtype: Any, shape: tuple[int, ...], channels: int, axis: int) -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[:4] = [0.0, -0.0, np.nan, -np.inf]
    w = rng.uniform(-0.5, 0.5, channels).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    _, wb = _prelu_weight(x, w, axis, "test")
    wx = wb.astype(dtype)
    _same_bits(fa.prelu(x, wb), np.where(x > 0, x, x * wx))
    d = np.where(x > 0, dtype(1), np.broadcast_to(wx, x.shape))
    _same_bits(fa.prelu_grad(x, wb), d)
    out = fa.prelu_backward(g, x, wb)
    assert out is not None
    gx, gw = out
    _same_bits(gx, d * g)
    # the weight gradient: float64 sums of the products rounded in x's dtype, in any order
    contrib = (np.minimum(x, 0) * g).astype(np.float64)
    ax = x.ndim - wb.ndim
    want = contrib.sum(axis=tuple(i for i in range(x.ndim) if i != ax)).reshape(-1)
    assert gw.dtype == np.float64
    assert gw.shape == (w.size,)
    finite = np.isfinite(want)
    assert_array_equal(gw[~finite], want[~finite])  # NaN and −inf inputs poison their channel
    scale = np.abs(contrib[np.isfinite(contrib)]).sum()
    np.testing.assert_allclose(gw[finite], want[finite], rtol=1e-12, atol=1e-12 * scale)
    # the facade through its context: grad_weight in grad_y's dtype and weight's shape
    _, ctx = A.prelu_forward(x, w, axis=axis)
    grad_x, grad_w = A.prelu_backward(g, ctx)
    _same_bits(grad_x, d * g)
    assert grad_w.dtype == dtype
    assert grad_w.shape == w.shape


def test_prelu_declines_what_it_does_not_handle() -> None:
    x = np.zeros((2, 3, 4), np.float32)
    _, wb = _prelu_weight(x, np.ones(3, np.float32), 1, "test")
    assert fa.prelu(np.asfortranarray(x), wb) is None  # channel mapping assumes C order
    assert fa.prelu(x.astype(np.float16), wb) is None
    assert fa.prelu_backward(np.zeros((2, 3, 4)), x, wb) is None  # grad_y of another dtype


# --- transcendental kernels: ulp error against a higher-precision reference --------------------

SELU = (1.6732632423543772, 1.0507009873554805)
_WIDE = {np.float32: np.float64, np.float64: np.longdouble}


def _ulp_error(got: np.ndarray, want: np.ndarray, floor: Any = 0.0, cond: Any = 1.0) -> float:
    """Largest error of ``got`` in units of the last place of got's dtype at the true value.

    ``floor`` (per element) measures in ulps of ``floor`` where |want| is smaller: near a
    derivative's root, whose formula sums terms of size ~1 that cancel in any implementation.
    ``cond`` (per element, >= 1) divides the error by the function's condition number where
    that is large (rounding an intermediate is then amplified as much as rounding x would be).
    """
    dtype = got.dtype
    with np.errstate(over="ignore"):
        mag = np.maximum(np.abs(want), floor).astype(dtype)
    spacing = np.maximum(np.spacing(mag), np.finfo(dtype).smallest_subnormal).astype(want.dtype)
    same = (got == want) | (np.isnan(got) & np.isnan(want))  # also equal infinities
    err = np.where(same, 0, np.abs(got.astype(want.dtype) - want) / spacing)
    return float(np.max(err / cond))


def _spread(dtype: Any, top: float, n: int = 60_000) -> np.ndarray:
    """Uniform values in [−top, top], normals, and log-uniform magnitudes of both signs."""
    rng = np.random.default_rng(8)
    mags = np.exp(rng.uniform(np.log(1e-30), np.log(np.finfo(dtype).max) * 0.999, n))
    x = np.concatenate([rng.uniform(-top, top, n), rng.standard_normal(n) * 3,
                        mags * np.sign(rng.standard_normal(n)), [0.0, -0.0, top, -top]])
    return x.astype(dtype)


def _sigma(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1, e) / (1 + e)


def _softplus_wide(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _references(x: np.ndarray) -> dict[str, tuple[Any, ...]]:
    """name -> (kernel output, reference in the wider dtype, ulp floor[, condition number])."""
    w = x.astype(_WIDE[x.dtype.type])
    wt = w.dtype.type
    out: dict[str, tuple[Any, ...]] = {}
    # silu', mish' and gelu' cross 0 between −3 and 0: measured there against ulp(1/2)
    root = np.where((w > -3) & (w < 0), 0.5, 0.0)
    for name, (alpha, scale, d) in {"elu": (1.0, 1.0, 1.0), "elu_a0.5": (0.5, 1.0, 1.0),
                                    "selu": (*SELU, 1.0), "celu_a2": (2.0, 1.0, 2.0),
                                    "celu_a0.5": (0.5, 1.0, 0.5)}.items():
        neg = np.minimum(w, 0) / wt(d)
        out[name] = (fa.exp_unit(x, alpha, scale, d),
                     wt(scale) * np.where(w > 0, w, wt(alpha) * np.expm1(neg)), 0.0)
        out[name + "_grad"] = (fa.exp_unit_grad(x, alpha, scale, d),
                               np.where(w > 0, wt(scale), wt(scale) * wt(alpha) / wt(d)
                                        * np.exp(neg)), 0.0)
    for beta, threshold in ((1.0, 20.0), (2.0, 10.0), (0.5, 20.0)):
        # z = βx exactly for float32 input; for float64 the kernel (like the NumPy path and
        # PyTorch) starts from the rounded product
        z = w * wt(beta) if x.dtype == np.float32 else (x * beta).astype(w.dtype)
        linear = x * x.dtype.type(beta) > x.dtype.type(threshold)
        out[f"softplus_b{beta}"] = (fa.softplus(x, beta, threshold),
                                    np.where(linear, w, _softplus_wide(z) / wt(beta)), 0.0)
        out[f"softplus_b{beta}_grad"] = (fa.softplus_grad(x, beta, threshold),
                                         np.where(linear, 1, _sigma(z)), 0.0)
    s, s_neg = _sigma(w), _sigma(-w)
    # x · (a subnormal e^x): e^x's rounding, in units of the smallest subnormal, is multiplied
    # by |x| (up to 745); above the subnormal range this does not arise
    tiny = np.abs(w) * (s < np.finfo(x.dtype).tiny) + 1
    out["silu"] = (fa.silu(x), w * s, 0.0, tiny)
    out["silu_grad"] = (fa.silu_grad(x), s * (1 + w * s_neg), root, tiny)
    t = np.tanh(_softplus_wide(w))
    out["mish"] = (fa.mish(x), w * t, 0.0, tiny)
    out["mish_grad"] = (fa.mish_grad(x), t + w * s * (1 - t * t), root, tiny)
    out["tanh"] = (fa.tanh(x), np.tanh(w), 0.0)
    out["tanh_grad"] = (fa.tanh_grad(x), 1 / np.cosh(w) ** 2, 0.0)
    k = np.sqrt(wt(2) / wt(np.pi))
    two_w = 2 * k * (w + wt(0.044715) * w**3)
    sg, sg_neg = _sigma(two_w), _sigma(-two_w)
    # exact gelu against SciPy's ndtr (float32) or an erfc-free float64 reference: for float64,
    # see test_gelu_float64_against_mpmath_free_reference below
    if x.dtype == np.float32:
        from scipy.special import ndtr

        cdf = ndtr(w)
        pdf = np.exp(-w * w / 2) / np.sqrt(2 * np.pi)
        # below x ≈ −13.1, Φ(x) is subnormal in float32 (see the float64 test below)
        sub = np.abs(w) * (cdf < np.finfo(np.float32).tiny) + 1
        out["gelu"] = (fa.gelu(x), w * cdf, 0.0, sub)
        out["gelu_grad"] = (fa.gelu_grad(x), cdf + w * pdf, root, sub)
    # float64 computes 2w in float64: its rounding is amplified |2w| times in the lower tail
    cond = np.maximum(1, np.abs(two_w)) if x.dtype == np.float64 else 1.0
    out["gelu_tanh"] = (fa.gelu_tanh(x), w * sg, 0.0, cond)
    out["gelu_tanh_grad"] = (fa.gelu_tanh_grad(x),
                             sg + w * 2 * sg * sg_neg * k * (1 + 3 * wt(0.044715) * w * w), root,
                             cond)
    return out


# Pinned bounds (measured maxima, rounded up with some margin). float32: evaluated in float64 with
# helpers accurate to ~2^-30 and rounded once, so within half an ulp plus 2^-6 (measured 0.503).
# float64: a few ulp.
F32_BOUND = 0.51
F32_BOUNDS = {
    # float32 arithmetic (speed): the float32 exp (1 ulp) and σ's division; measured 3.2, 5.0
    # (near the root of silu'), 2.35
    "silu": 4.0, "silu_grad": 6.0, "softplus_grad": 3.0,
    # float32 arithmetic: e^{−x²/2} (exact x²), s = 6/(|x| + 3) and the tail polynomial each
    # round in float32; measured 5.6 and 5.3
    "gelu": 7.0, "gelu_grad": 7.0,
}
F64_BOUNDS = {
    "elu": 1.5, "elu_grad": 1.5, "selu": 2.5, "selu_grad": 2.5, "celu": 1.5, "celu_grad": 1.5,
    "softplus": 2.0, "softplus_grad": 3.0, "silu": 3.5, "silu_grad": 6.5, "mish": 5.0,
    "mish_grad": 7.0, "tanh": 3.0, "tanh_grad": 4.5, "gelu_tanh": 3.5, "gelu_tanh_grad": 3.5,
}


def _f64_bound(name: str) -> float:
    grad = name.endswith("_grad")
    base = re.sub(r"_[ab][\d.]+$", "", name.removesuffix("_grad"))  # drop the parameters
    return F64_BOUNDS[base + ("_grad" if grad else "")]


@pytest.mark.parametrize("dtype", FLOATS)
def test_transcendental_kernels_within_pinned_ulps(dtype: Any) -> None:
    x = _spread(dtype, 110.0)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        refs = _references(x)
    worst = {}
    for name, (got, want, *how) in refs.items():
        assert got is not None, name
        assert got.dtype == dtype, name
        with np.errstate(over="ignore", invalid="ignore"):
            worst[name] = _ulp_error(got, want, *how)
    f32 = {n: F32_BOUNDS.get(re.sub(r"_b[\d.]+", "", n), F32_BOUND) for n in worst}
    bound = {n: f32[n] if dtype == np.float32 else _f64_bound(n) for n in worst}
    assert all(worst[n] <= bound[n] for n in worst), {n: round(worst[n], 3) for n in worst}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", SIZES)
def test_transcendental_backward_is_grad_times_grad_y(dtype: Any, n: int) -> None:
    # each backward kernel forms f'(x) as its _grad kernel does and multiplies by grad_y in
    # float64, rounding once. float64: exactly the rounded product of the _grad output and
    # grad_y (half an ulp); float32: the _grad output was itself rounded (two relative
    # roundings of 2^-24 each: under 2 ulp)
    x = _edgy(dtype, n, 9)
    g = np.random.default_rng(10).standard_normal(n).astype(dtype)
    g[:4] = [np.nan, np.inf, 0.0, -0.0]
    pairs = [
        (fa.exp_unit_backward(g, x, *SELU, 1.0), fa.exp_unit_grad(x, *SELU, 1.0)),
        (fa.exp_unit_backward(g, x, 0.5, 1.0, 0.5), fa.exp_unit_grad(x, 0.5, 1.0, 0.5)),
        (fa.softplus_backward(g, x, 2.0, 10.0), fa.softplus_grad(x, 2.0, 10.0)),
        (fa.silu_backward(g, x), fa.silu_grad(x)),
        (fa.mish_backward(g, x), fa.mish_grad(x)),
        (fa.gelu_tanh_backward(g, x), fa.gelu_tanh_grad(x)),
        (fa.gelu_backward(g, x), fa.gelu_grad(x)),
    ]
    for got, d in pairs:
        assert got is not None
        assert d is not None
        want = d.astype(_WIDE[dtype]) * g
        with np.errstate(invalid="ignore"):
            assert _ulp_error(got, want) <= (2.0 if dtype == np.float32 else 0.5)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", SIZES)
def test_tanh_backward_matches_numpy_exactly(dtype: Any, n: int) -> None:
    y = np.random.default_rng(11).uniform(-1, 1, n).astype(dtype)
    y[:3] = [np.nan, 1.0, -0.0]
    g = np.random.default_rng(12).standard_normal(n).astype(dtype)
    _same_bits(fa.tanh_backward(g, y), (dtype(1) - y * y) * g)


SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("dtype", FLOATS)
def test_transcendental_kernels_at_special_values(dtype: Any) -> None:
    x = np.array(SPECIAL, dtype)
    big = np.finfo(dtype).max

    def check(got: np.ndarray | None, want: list[float]) -> None:
        assert got is not None
        assert_array_equal(got, np.array(want, dtype))

    nan = np.nan
    check(fa.exp_unit(x, 2.0, 1.0, 1.0), [0, 0, np.inf, -2, nan])
    check(fa.exp_unit(x, 1.0, 1.0, 1e-310), [0, 0, np.inf, -1, nan])  # x/α overflows to −inf
    check(fa.exp_unit_grad(x, 2.0, 3.0, 1.0), [6, 6, 3, 0, 3])  # NaN: x > 0's branch (PyTorch)
    check(fa.softplus(x, 1.0, 20.0), [np.log(2), np.log(2), np.inf, 0, nan])
    check(fa.softplus_grad(x, 1.0, 20.0), [0.5, 0.5, 1, 0, nan])
    check(fa.silu(x), [0, 0, np.inf, 0, nan])
    check(fa.silu_grad(x), [0.5, 0.5, 1, 0, nan])
    check(fa.mish(x), [0, 0, np.inf, 0, nan])
    check(fa.mish_grad(x), [0.6, 0.6, 1, 0, nan])
    check(fa.tanh(x), [0, 0, 1, -1, nan])
    assert np.signbit(fa.tanh(x)[1])  # tanh(−0) = −0
    check(fa.tanh_grad(x), [1, 1, 0, 0, nan])
    check(fa.gelu(x), [0, 0, np.inf, 0, nan])
    check(fa.gelu_grad(x), [0.5, 0.5, 1, 0, nan])
    check(fa.gelu_tanh(x), [0, 0, np.inf, 0, nan])
    check(fa.gelu_tanh_grad(x), [0.5, 0.5, 1, 0, nan])
    # the largest finite inputs: limits without inf · 0
    edge = np.array([-big, big], dtype)
    check(fa.silu(edge), [0, big])
    check(fa.mish(edge), [0, big])
    check(fa.gelu_tanh(edge), [0, big])
    check(fa.gelu(edge), [0, big])
    check(fa.gelu_grad(edge), [0, 1])
    check(fa.silu_grad(edge), [0, 1])
    check(fa.mish_grad(edge), [0, 1])


def _normal_cdf_longdouble(x: np.ndarray) -> np.ndarray:
    """Φ(x) in 80-bit long double, from textbook series (independent of the kernels' method).

    Marsaglia's series Φ = ½ + φ(x) Σ x^{2n+1}/(2n+1)!! where it converges without much
    cancellation (x > −2.5), and the continued fraction Q(a) = φ(a)/(a + 1/(a + 2/(a + …)))
    for the lower tail (a = −x >= 2.5), evaluated backwards from a fixed depth.
    """
    ld = np.longdouble
    x = x.astype(ld)
    pdf = np.exp(-(x * x) / 2) / np.sqrt(8 * np.arctan(ld(1)))  # 2π to long double precision
    term = x.copy()
    total = x.copy()
    for n in range(1, 400):  # x² / (2n + 1) < 1 long before: terms fall below 2^-64
        term = term * (x * x) / (2 * n + 1)
        total = total + term
    series = 0.5 + pdf * total
    a = np.where(x < -2.5, -x, ld(3))
    frac = np.zeros_like(a)
    for k in range(2000, 0, -1):
        frac = k / (a + frac)
    tail = pdf / (a + frac)
    return np.where(x < -2.5, tail, series)


def test_gelu_float64_within_pinned_ulps() -> None:
    rng = np.random.default_rng(13)
    x = np.concatenate([rng.uniform(-38, 9, 20_000), rng.standard_normal(20_000) * 3,
                        [0.0, -0.0, -2.5, 2.5, -1e-300, 1e-300]])
    w = x.astype(np.longdouble)
    cdf = _normal_cdf_longdouble(x)
    pdf = np.exp(-(w * w) / 2) / np.sqrt(8 * np.arctan(np.longdouble(1)))
    want = w * cdf
    # below x ≈ −37.5, Φ(x) is subnormal and x · Φ(x) loses precision as any x · (subnormal)
    tiny = np.abs(w) * (cdf < np.finfo(np.float64).tiny) + 1
    root = np.where((w > -3) & (w < 0), 0.5, 0.0)
    got, d = fa.gelu(x), fa.gelu_grad(x)
    assert got is not None
    assert d is not None
    # measured 5.2 and 3.2: e^{−x²/2}, s = 8/(|x| + 4) and the products each round once
    assert _ulp_error(got, want, 0.0, tiny) <= 6.0
    assert _ulp_error(d, cdf + w * pdf, root, tiny) <= 4.0


def test_normal_cdf_reference_against_scipy() -> None:
    # the long double reference above agrees with SciPy's ndtr to ndtr's accuracy (its erfc
    # rounds x²/2, so it loses about x² ulp in the lower tail: measured 31 ulp at −5)
    from scipy.special import ndtr

    x = np.linspace(-5, 8, 2001)
    np.testing.assert_allclose(ndtr(x), _normal_cdf_longdouble(x).astype(np.float64), rtol=1e-14)


def test_prelu_weight_gradient_does_not_depend_on_the_thread_count() -> None:
    import cnnblocks

    rng = np.random.default_rng(14)
    x = rng.standard_normal((16, 8, 40, 40)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    w = rng.uniform(0, 0.5, 8).astype(np.float32)
    _, wb = _prelu_weight(x, w, 1, "test")
    before = cnnblocks.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            cnnblocks.set_num_threads(n)
            out = fa.prelu_backward(g, x, wb)
            assert out is not None
            results.append(out)
    finally:
        cnnblocks.set_num_threads(before)
    _same_bits(results[0][0], results[1][0])
    _same_bits(results[0][1], results[1][1])  # fixed blocks: the same sums in the same order
