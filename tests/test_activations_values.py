"""Activation values against hand computations and math-module formulas; dtypes, 0-d, extremes.

Expected values come from closed forms worked by hand (σ(ln 3) = 3/4, tanh(ln 2) = 3/5, ...) or
from Python's ``math`` module evaluated point by point, never from cnnblocks itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from activation_cases import CASES, DEFAULT_CASES, EXTREMES, Case
from cnnblocks.functional import activations as A

LN2, LN3 = math.log(2.0), math.log(3.0)
SELU_A, SELU_L = 1.6732632423543772, 1.0507009873554805
FLOATS = (np.float16, np.float32, np.float64)


# --- hand values ----------------------------------------------------------------------------------


HAND_VALUES = [
    # (function, kwargs, x, expected f(x))
    ("sigmoid", {}, [0.0, LN3, -LN3], [0.5, 0.75, 0.25]),
    ("relu", {}, [-2.0, 0.0, 3.0], [0.0, 0.0, 3.0]),
    ("relu6", {}, [-1.0, 0.0, 3.0, 6.0, 9.0], [0.0, 0.0, 3.0, 6.0, 6.0]),
    ("leaky_relu", {}, [-2.0, 0.0, 3.0], [-0.02, 0.0, 3.0]),
    ("leaky_relu", {"negative_slope": 0.5}, [-2.0, 3.0], [-1.0, 3.0]),
    ("elu", {}, [-LN2, 0.0, 2.0], [-0.5, 0.0, 2.0]),
    ("elu", {"alpha": 3.0}, [-LN2], [-1.5]),
    ("selu", {}, [1.0, 0.0, -LN2], [SELU_L, 0.0, -0.5 * SELU_A * SELU_L]),
    ("celu", {"alpha": 2.0}, [-2 * LN2, 0.0, 5.0], [-1.0, 0.0, 5.0]),
    ("silu", {}, [0.0, LN3, -LN3], [0.0, 0.75 * LN3, -0.25 * LN3]),
    # softplus(ln 3) = ln 4 and tanh(ln 4) = 15/17
    ("mish", {}, [0.0, LN3], [0.0, LN3 * 15 / 17]),
    ("softplus", {}, [0.0, LN3, 25.0], [LN2, 2 * LN2, 25.0]),
    ("softplus", {"beta": 2.0}, [LN3 / 2], [LN2]),  # log(1 + 3)/2
    ("softplus", {"threshold": 100.0}, [25.0], [25.0 + math.log1p(math.exp(-25.0))]),
    ("softsign", {}, [1.0, -3.0, 0.0], [0.5, -0.75, 0.0]),
    ("tanh", {}, [LN2, -LN2, 0.0], [0.6, -0.6, 0.0]),
    ("hardsigmoid", {}, [-4.0, -3.0, 0.0, 1.5, 3.0, 4.0], [0.0, 0.0, 0.5, 0.75, 1.0, 1.0]),
    ("hardsigmoid", {"alpha": 0.2, "beta": 0.5}, [1.0, -3.0, 3.0], [0.7, 0.0, 1.0]),
    ("hardswish", {}, [-4.0, -3.0, -1.0, 0.0, 1.0, 3.0, 5.0], [0, 0, -1 / 3, 0, 2 / 3, 3, 5]),
    ("thresholded_relu", {}, [0.5, 1.0, 1.5, -2.0], [0.0, 0.0, 1.5, 0.0]),
    ("thresholded_relu", {"theta": -1.0}, [-1.0, -0.5], [0.0, -0.5]),
]

HAND_GRADS = [
    # (function, kwargs, x, expected f'(x))
    ("sigmoid", {}, [0.0, LN3, -LN3], [0.25, 3 / 16, 3 / 16]),
    ("elu", {}, [-LN2, 1.0], [0.5, 1.0]),
    ("celu", {"alpha": 2.0}, [-2 * LN2, 1.0], [0.5, 1.0]),
    ("selu", {}, [-LN2, 1.0], [0.5 * SELU_A * SELU_L, SELU_L]),
    ("silu", {}, [0.0, LN3], [0.5, 0.75 * (1 + LN3 * 0.25)]),
    ("mish", {}, [0.0], [0.6]),  # tanh(ln 2) = 3/5
    ("softplus", {}, [0.0, LN3, 25.0], [0.5, 0.75, 1.0]),
    ("softsign", {}, [1.0, -3.0], [0.25, 1 / 16]),
    ("tanh", {}, [LN2, 0.0], [0.64, 1.0]),
    ("hardsigmoid", {}, [0.0, 2.0, 4.0], [1 / 6, 1 / 6, 0.0]),
    ("hardswish", {}, [1.0, -1.0], [5 / 6, 1 / 6]),
    ("gelu", {}, [0.0], [0.5]),
    ("leaky_relu", {"negative_slope": 0.3}, [-1.0, 2.0], [0.3, 1.0]),
]


@pytest.mark.parametrize(("name", "kwargs", "x", "expected"), HAND_VALUES)
def test_hand_values(name: str, kwargs: dict, x: list, expected: list) -> None:
    got = getattr(A, name)(np.array(x), **kwargs)
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize(("name", "kwargs", "x", "expected"), HAND_GRADS)
def test_hand_derivatives(name: str, kwargs: dict, x: list, expected: list) -> None:
    got = getattr(A, f"{name}_grad")(np.array(x), **kwargs)
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-16)


def test_prelu_hand_values() -> None:
    x = np.array([[[-2.0, 4.0]], [[-2.0, 0.0]]]).reshape(1, 2, 2)  # (N=1, C=2, L=2)
    y = A.prelu(x, [0.5, 0.25])
    np.testing.assert_array_equal(y, [[[-1.0, 4.0], [-0.5, 0.0]]])
    # one shared weight
    np.testing.assert_array_equal(A.prelu(x, [0.5]), [[[-1.0, 4.0], [-1.0, 0.0]]])
    # channels along the last axis
    np.testing.assert_array_equal(A.prelu([[-4.0, -4.0]], [0.5, 0.25], axis=-1), [[-2.0, -1.0]])


# --- the exact gelu against math.erf / math.erfc -------------------------------------------------


def test_gelu_matches_math_erf_on_a_grid() -> None:
    x = np.linspace(-8, 8, 641)
    # x·Φ(x) with Φ from erfc, which keeps relative accuracy in the lower tail
    expected = [v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x]
    # erfc's condition number grows like x², so both sides round differently in the far tail
    np.testing.assert_allclose(A.gelu(x), expected, rtol=5e-14, atol=1e-300)
    # and the textbook form where 1 + erf does not cancel
    mid = np.linspace(-2, 8, 201)
    textbook = [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in mid]
    np.testing.assert_allclose(A.gelu(mid), textbook, rtol=1e-14, atol=1e-300)


def test_gelu_lower_tail_keeps_relative_accuracy() -> None:
    x = np.array([-10.0, -20.0, -30.0])
    expected = [v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x]
    np.testing.assert_allclose(A.gelu(x), expected, rtol=1e-12)  # condition number ~x²
    assert A.gelu(np.array(-10.0)) < -7.6e-23


def test_gelu_grad_matches_math_formula() -> None:
    x = np.linspace(-8, 8, 161)
    cdf = [0.5 * math.erfc(-v / math.sqrt(2)) for v in x]
    pdf = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in x]
    expected = [c + v * p for v, c, p in zip(x, cdf, pdf, strict=True)]
    np.testing.assert_allclose(A.gelu_grad(x), expected, rtol=1e-13, atol=1e-300)


def test_gelu_tanh_matches_formula() -> None:
    x = np.linspace(-6, 6, 121)
    k = math.sqrt(2 / math.pi)
    expected = [0.5 * v * (1 + math.tanh(k * (v + 0.044715 * v**3))) for v in x]
    np.testing.assert_allclose(A.gelu(x, approximate="tanh"), expected, rtol=1e-14, atol=1e-15)


# --- the sigmoid against its closed forms ---------------------------------------------------------


def test_sigmoid_matches_math_exp_in_both_tails() -> None:
    x = np.concatenate([np.linspace(-700, -1, 400), np.linspace(0, 700, 400)])
    expected = [1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)) for v in x]
    np.testing.assert_allclose(A.sigmoid(x), expected, rtol=4e-16, atol=0)


def test_sigmoid_grad_is_the_lessons_formula() -> None:
    # σ′(x) = 1/(2 + e^x + e^−x), evaluated in Python where it cannot overflow
    x = np.linspace(-700, 700, 1401)
    expected = [1 / (2 + math.exp(v) + math.exp(-v)) for v in x]
    np.testing.assert_allclose(A.sigmoid_grad(x), expected, rtol=1e-13, atol=0)


def test_tanh_grad_keeps_relative_accuracy() -> None:
    x = np.array([0.5, 5.0, 20.0, 300.0])
    expected = [1 / math.cosh(v) ** 2 for v in x]
    np.testing.assert_allclose(A.tanh_grad(x), expected, rtol=1e-14)
    np.testing.assert_allclose(A.tanh_grad(-x), expected, rtol=1e-14)


def test_softplus_lower_tail_and_identity() -> None:
    x = np.array([-700.0, -50.0, -1.0, 0.5, 10.0])
    expected = [math.log1p(math.exp(v)) for v in x]
    np.testing.assert_allclose(A.softplus(x), expected, rtol=1e-15, atol=0)


# --- dtypes and shapes ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_dtype_and_shape_preserved(case: Case, dtype: type) -> None:
    x = np.linspace(-5, 5, 24).astype(dtype).reshape(2, 3, 4)
    y, ctx = case.forward(x)
    for out in (case.f(x), case.grad(x), y):
        assert isinstance(out, np.ndarray)
        assert out.dtype == dtype, case.id
        assert out.shape == x.shape
    gx = case.backward(np.ones(x.shape, dtype), ctx)
    assert gx.dtype == dtype
    assert gx.shape == x.shape


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_zero_d_input_keeps_shape(case: Case) -> None:
    x = np.array(0.75, dtype=np.float32)
    y, ctx = case.forward(x)
    for out in (case.f(x), case.grad(x), y, case.backward(np.array(1.0, np.float32), ctx)):
        assert isinstance(out, np.ndarray)
        assert out.shape == ()
        assert out.dtype == np.float32
    # a Python float is an array-like too (float64, 0-d)
    assert case.f(0.75).shape == ()
    assert case.f(0.75).dtype == np.float64


def test_array_likes_and_non_contiguous_input() -> None:
    x = np.arange(-6.0, 6.0).reshape(3, 4)
    np.testing.assert_array_equal(A.relu(x.tolist()), np.maximum(x, 0))
    np.testing.assert_array_equal(A.relu(x.T), np.maximum(x.T, 0))
    np.testing.assert_array_equal(A.relu(x[:, ::2]), np.maximum(x[:, ::2], 0))


def test_float16_is_rounded_once() -> None:
    # computed in float32 and rounded once: equal to float32's result rounded to float16
    x = np.linspace(-8, 8, 101).astype(np.float16)
    for case in DEFAULT_CASES:
        expected = case.f(x.astype(np.float32)).astype(np.float16)
        np.testing.assert_array_equal(case.f(x), expected, err_msg=case.id)


def test_inputs_are_not_modified() -> None:
    x = np.linspace(-5, 5, 11)
    before = x.copy()
    for case in CASES:
        case.f(x)
        case.grad(x)
        _, ctx = case.forward(x)
        case.backward(np.ones_like(x), ctx)
    np.testing.assert_array_equal(x, before)


# --- integers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8])
def test_relu_and_relu6_accept_integers(dtype: type) -> None:
    x = np.array([0, 1, 5, 6, 7, 100], dtype=dtype)
    if np.issubdtype(dtype, np.signedinteger):
        x = np.concatenate([np.array([-3], dtype=dtype), x])
    expected_relu = [max(0, int(v)) for v in x]
    expected_relu6 = [min(max(0, int(v)), 6) for v in x]
    for name, expected in (("relu", expected_relu), ("relu6", expected_relu6)):
        y = getattr(A, name)(x)
        assert y.dtype == dtype
        assert y.tolist() == expected
    assert A.relu_grad(x).dtype == dtype
    assert A.relu_grad(x).tolist() == [int(v > 0) for v in x]
    _, ctx = A.relu_forward(x)
    g = A.relu_backward(np.full(x.shape, 2.0), ctx)
    assert g.dtype == np.float64
    assert g.tolist() == [2.0 * (v > 0) for v in x]


# --- NaN and infinities ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_nan_propagates(case: Case) -> None:
    y = case.f(np.array([np.nan, 1.0]))
    assert np.isnan(y[0]), case.id


LIMITS = {  # f(-inf), f(+inf): the mathematical limits
    "sigmoid": (0.0, 1.0), "relu": (0.0, np.inf), "relu6": (0.0, 6.0),
    "leaky_relu": (-np.inf, np.inf), "elu": (-1.0, np.inf), "selu": (-SELU_A * SELU_L, np.inf),
    "celu": (-1.0, np.inf), "gelu": (0.0, np.inf), "silu": (0.0, np.inf), "mish": (0.0, np.inf),
    "softplus": (0.0, np.inf), "softsign": (-1.0, 1.0), "tanh": (-1.0, 1.0),
    "hardsigmoid": (0.0, 1.0), "hardswish": (0.0, np.inf), "thresholded_relu": (0.0, np.inf),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_infinities_give_the_limits_without_warnings(case: Case, dtype: type) -> None:
    y = case.f(np.array([-np.inf, np.inf], dtype=dtype))
    np.testing.assert_array_equal(y, np.array(LIMITS[case.name], dtype=dtype))
    d = case.grad(np.array([-np.inf, np.inf], dtype=dtype))
    assert not np.isnan(d).any(), case.id


# --- extremes: no warnings (pytest turns them into errors) and the right limits -------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_and_softplus_at_plus_minus_1000(dtype: type) -> None:
    x = np.array([-1000.0, 1000.0], dtype=dtype)
    np.testing.assert_array_equal(A.sigmoid(x), np.array([0.0, 1.0], dtype=dtype))
    np.testing.assert_array_equal(A.softplus(x), np.array([0.0, 1000.0], dtype=dtype))
    np.testing.assert_array_equal(A.sigmoid_grad(x), np.zeros(2, dtype))
    np.testing.assert_array_equal(A.softplus_grad(x), np.array([0.0, 1.0], dtype=dtype))
    _, ctx = A.sigmoid_forward(x)
    np.testing.assert_array_equal(A.sigmoid_backward(np.ones(2, dtype), ctx), np.zeros(2, dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_between_300_and_400(dtype: type) -> None:
    # tinygrad's test_sigmoid_extreme: large inputs of both signs, gradient (numerically) 0
    x = np.concatenate([np.linspace(300, 400, 11), -np.linspace(300, 400, 11)]).astype(dtype)
    y = A.sigmoid(x)
    np.testing.assert_array_equal(y[:11], 1)
    expected_tail = np.array([math.exp(v) for v in x[11:].astype(np.float64)]).astype(dtype)
    np.testing.assert_allclose(y[11:], expected_tail, rtol=1e-6, atol=0)  # f32: exactly 0
    d = A.sigmoid_grad(x)
    assert np.all(d <= np.float64(math.exp(-299.0)))
    _, ctx = A.sigmoid_forward(x)
    assert np.all(A.sigmoid_backward(np.ones_like(x), ctx) <= np.float64(math.exp(-299.0)))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_extremes_raise_no_warning(case: Case, dtype: type) -> None:
    fmax = float(np.finfo(dtype).max)
    # selu(max) = 1.05·max is out of range: a genuine overflow, which NumPy rightly reports
    limits = [-fmax, fmax] if case.name != "selu" else []
    x = np.concatenate([EXTREMES, limits, [-fmax / 3, fmax / 3]]).astype(dtype)
    y, ctx = case.forward(x)
    values = (case.f(x), case.grad(x), y, case.backward(np.ones_like(x), ctx))
    for v in values:
        assert not np.isnan(v).any(), case.id


def test_sigmoid_output_is_in_unit_interval_at_extremes() -> None:
    for dtype in FLOATS:
        fmax = float(np.finfo(dtype).max)
        y = A.sigmoid(np.array([-fmax, -1e4, 1e4, fmax], dtype=dtype))
        assert np.all((y >= 0) & (y <= 1))


def test_softplus_large_beta_does_not_overflow() -> None:
    x = np.array([1e308, -1e308, 2.0])
    y = A.softplus(x, beta=10.0)
    np.testing.assert_array_equal(y[:2], [1e308, 0.0])
    np.testing.assert_allclose(y[2], 2.0 + math.log1p(math.exp(-20.0)) / 10.0, rtol=1e-15)


def test_celu_tiny_alpha_does_not_warn() -> None:
    np.testing.assert_array_equal(A.celu(np.array([-1.0, 1.0]), alpha=1e-310), [-1e-310, 1.0])


def test_hardsigmoid_steep_slope_does_not_warn() -> None:
    np.testing.assert_array_equal(A.hardsigmoid(np.array([-1e308, 1e308]), alpha=10.0), [0, 1])
    np.testing.assert_array_equal(
        A.hardsigmoid(np.array([-np.inf, 5.0, np.nan]), alpha=0.0, beta=0.25)[:2], [0.25, 0.25]
    )
