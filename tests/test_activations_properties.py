"""Properties the lesson states, checked with Hypothesis (minitorch's sigmoid checklist)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cnnblocks.functional import activations as A

EPS = float(np.finfo(np.float64).eps)

reals = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
moderate = st.floats(min_value=-700, max_value=700, allow_nan=False)
any_float = st.floats(allow_nan=False, allow_infinity=True)
arrays = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
    elements=st.floats(-1e3, 1e3, allow_nan=False),
)


@given(reals)
def test_sigmoid_symmetry(x: float) -> None:
    # σ(−x) = 1 − σ(x), to within an ulp of 1
    assert abs(float(A.sigmoid(-x)) - (1.0 - float(A.sigmoid(x)))) <= EPS


@given(any_float)
def test_sigmoid_is_a_probability(x: float) -> None:
    s = float(A.sigmoid(x))
    assert 0.0 <= s <= 1.0
    if -700 < x < 36:  # strictly inside except where the float format runs out
        assert 0.0 < s < 1.0


@given(moderate)
def test_sigmoid_grad_is_sigma_times_one_minus_sigma(x: float) -> None:
    s = float(A.sigmoid(x))
    lesson = 1 / (2 + math.exp(x) + math.exp(-x))
    assert math.isclose(float(A.sigmoid_grad(x)), lesson, rel_tol=1e-13)
    # σ(1 − σ) loses relative accuracy where σ rounds towards 1, so compare it absolutely
    assert math.isclose(float(A.sigmoid_grad(x)), s * (1 - s), rel_tol=1e-12, abs_tol=4 * EPS)


@given(any_float)
def test_sigmoid_grad_at_most_a_quarter(x: float) -> None:
    d = float(A.sigmoid_grad(x))
    assert 0.0 <= d <= 0.25
    if abs(x) > 1e-7:  # below that σ′ = 1/4 − x²/16 rounds to 1/4
        assert d < 0.25


def test_sigmoid_grad_is_a_quarter_at_zero() -> None:
    assert float(A.sigmoid_grad(0.0)) == 0.25
    assert float(A.sigmoid_grad(-0.0)) == 0.25


@given(reals, reals)
def test_sigmoid_is_increasing(a: float, b: float) -> None:
    lo, hi = min(a, b), max(a, b)
    assert A.sigmoid(lo) <= A.sigmoid(hi)


@given(arrays)
def test_relu_is_idempotent(x: np.ndarray) -> None:
    once = A.relu(x)
    np.testing.assert_array_equal(A.relu(once), once)
    assert np.all(once >= 0)


@given(arrays)
def test_relu6_is_idempotent_and_bounded(x: np.ndarray) -> None:
    once = A.relu6(x)
    np.testing.assert_array_equal(A.relu6(once), once)
    assert np.all((once >= 0) & (once <= 6))


@given(st.floats(-500, 500, allow_nan=False))
def test_tanh_is_a_rescaled_sigmoid(x: float) -> None:
    # tanh x = 2σ(2x) − 1
    assert math.isclose(float(A.tanh(x)), 2 * float(A.sigmoid(2 * x)) - 1, abs_tol=4 * EPS)
    # tanh′ x = 4σ′(2x)
    assert math.isclose(float(A.tanh_grad(x)), 4 * float(A.sigmoid_grad(2 * x)), rel_tol=1e-13)


@given(st.floats(-15, 15, allow_nan=False))
def test_softplus_minus_its_mirror_is_identity(x: float) -> None:
    # log(1 + e^x) − log(1 + e^{−x}) = x (threshold above the range so both sides are smooth)
    d = float(A.softplus(x, threshold=50.0)) - float(A.softplus(-x, threshold=50.0))
    assert math.isclose(d, x, abs_tol=1e-14)


@given(st.floats(-30, 30, allow_nan=False))
def test_silu_is_x_times_sigmoid_and_softplus_grad_is_sigmoid(x: float) -> None:
    assert math.isclose(float(A.silu(x)), x * float(A.sigmoid(x)), rel_tol=1e-15, abs_tol=1e-300)
    assert float(A.softplus_grad(x, threshold=50.0)) == float(A.sigmoid(x))


@given(arrays)
def test_elementwise_ops_keep_shape(x: np.ndarray) -> None:
    for name in ("sigmoid", "relu", "gelu", "hardswish", "softsign"):
        assert getattr(A, name)(x).shape == x.shape
