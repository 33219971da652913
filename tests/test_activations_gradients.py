"""Derivatives and backward passes of the activations: central differences, the chain rule, kinks.

Central differences (float64) check ``f_grad`` and every ``f_backward`` away from the kinks; the
kinks themselves get exact tests with PyTorch's conventions (relu′(0) = 0, relu6′(6) = 0,
hardswish′(3) = 1, ...).
"""

from __future__ import annotations

import numpy as np
import pytest

from activation_cases import CASES, Case, away_from_kinks
from cnnblocks.autograd import Context
from cnnblocks.functional import activations as A
from gradcheck import check_op_gradient, check_vjp

RNG_SEED = 20261125


def _sample(case: Case, n: int, scale: float = 4.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * scale
    kinks = [k for k in case.kinks if abs(k) > 4]
    if kinks:  # put samples on both sides of far kinks such as softplus's threshold
        x = np.concatenate([x, [k + d for k in kinks for d in (-0.5, -0.1, 0.1, 0.5)]])
    return away_from_kinks(case, x)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_grad_matches_central_differences(case: Case) -> None:
    x = _sample(case, 200)
    h = 1e-6
    numeric = (case.f(x + h) - case.f(x - h)) / (2 * h)
    np.testing.assert_allclose(case.grad(x), numeric, rtol=1e-6, atol=1e-8, err_msg=case.id)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_backward_passes_gradcheck(case: Case) -> None:
    x = _sample(case, 12, seed=1).reshape(-1, 4)[:3]  # (3, 4)
    forward = getattr(A, f"{case.name}_forward")
    backward = getattr(A, f"{case.name}_backward")
    check_op_gradient(forward, backward, x, op=case.id, **case.kwargs)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_backward_is_grad_y_times_derivative(case: Case) -> None:
    rng = np.random.default_rng(RNG_SEED)
    x = np.concatenate([rng.standard_normal(50) * 5, list(case.kinks), [-30.0, 30.0]])
    g = rng.standard_normal(x.shape)
    _, ctx = case.forward(x)
    got = case.backward(g, ctx)
    expected = g * case.grad(x)
    if case.name in ("sigmoid", "tanh"):
        # these use the saved output y (σ′ = y(1 − y), tanh′ = 1 − y²), as PyTorch does: exact up
        # to the rounding of y, which costs relative accuracy (not absolute) where y is near ±1
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    else:
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(ctx.backward(g), got)


def test_ctx_backward_is_op_backward() -> None:
    x = np.array([-1.0, 2.0])
    _, ctx = A.relu_forward(x)
    assert isinstance(ctx, Context)
    assert ctx.op == "relu"
    np.testing.assert_array_equal(ctx.backward(np.array([3.0, 4.0])), [0.0, 4.0])


def test_backward_returns_fresh_arrays_each_call() -> None:
    _, ctx = A.sigmoid_forward(np.array([0.0, 1.0]))
    g = np.ones(2)
    first = ctx.backward(g)
    second = ctx.backward(g)
    assert first is not second
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(g, [1.0, 1.0])


# --- the kinks: PyTorch's conventions, exactly ---------------------------------------------------

KINKS = [
    ("relu", {}, 0.0, 0.0),
    ("relu6", {}, 0.0, 0.0),
    ("relu6", {}, 6.0, 0.0),
    ("leaky_relu", {}, 0.0, 0.01),
    ("leaky_relu", {"negative_slope": 0.2}, 0.0, 0.2),
    ("elu", {}, 0.0, 1.0),
    ("elu", {"alpha": 2.0}, 0.0, 2.0),
    ("selu", {}, 0.0, 1.6732632423543772 * 1.0507009873554805),
    ("celu", {"alpha": 2.0}, 0.0, 1.0),
    ("hardsigmoid", {}, -3.0, 0.0),
    ("hardsigmoid", {}, 3.0, 0.0),
    ("hardsigmoid", {"alpha": 0.2, "beta": 0.5}, 2.5, 0.0),
    ("hardsigmoid", {"alpha": 0.2, "beta": 0.5}, -2.5, 0.0),
    ("hardswish", {}, -3.0, 0.0),
    ("hardswish", {}, 3.0, 1.0),
    ("thresholded_relu", {}, 1.0, 0.0),
    ("thresholded_relu", {"theta": -2.0}, -2.0, 0.0),
    ("softplus", {}, 20.0, float(A.sigmoid(20.0))),  # the smooth side includes the threshold
    ("sigmoid", {}, 0.0, 0.25),
]


@pytest.mark.parametrize(("name", "kwargs", "x", "expected"), KINKS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_derivative_at_kink(
    name: str, kwargs: dict, x: float, expected: float, dtype: type
) -> None:
    if name == "softplus" and dtype != np.float64:
        expected = float(A.sigmoid(np.array(20.0, dtype=dtype)))
    xs = np.array([x], dtype=dtype)
    assert getattr(A, f"{name}_grad")(xs, **kwargs).tolist() == [np.asarray(expected, dtype)]
    _, ctx = getattr(A, f"{name}_forward")(xs, **kwargs)
    gx = getattr(A, f"{name}_backward")(np.ones(1, dtype), ctx)
    assert gx.tolist() == [np.asarray(expected, dtype)]


def test_prelu_kink_takes_the_weight() -> None:
    dx, dw = A.prelu_grad(np.array([0.0]), [0.25])
    assert dx.tolist() == [0.25]
    assert dw.tolist() == [0.0]


def test_kinked_backward_blocks_nan_gradient_where_derivative_is_zero() -> None:
    # relu-like ops select instead of multiply: a NaN incoming gradient at a dead unit stays 0
    g = np.array([np.nan, 1.0])
    for name, x in (("relu", [-1.0, 1.0]), ("relu6", [7.0, 1.0]), ("thresholded_relu", [0.0, 2.0])):
        _, ctx = getattr(A, f"{name}_forward")(np.array(x))
        assert getattr(A, f"{name}_backward")(g, ctx).tolist() == [0.0, 1.0], name


def test_sigmoid_grad_maximum_is_at_zero() -> None:
    assert A.sigmoid_grad(0.0) == 0.25
    x = np.linspace(-10, 10, 2001)
    d = A.sigmoid_grad(x)
    assert d.max() == 0.25
    assert x[np.argmax(d)] == 0.0


# --- prelu: gradients for x and for the weight ---------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "weight_size", "axis"),
    [((2, 3, 4, 5), 3, 1), ((2, 3, 4, 5), 1, 1), ((2, 3, 4), 4, -1), ((4,), 1, 1), ((), 1, 1),
     ((3, 5), 3, 0)],
)
def test_prelu_backward_passes_gradcheck(
    shape: tuple[int, ...], weight_size: int, axis: int
) -> None:
    rng = np.random.default_rng(3)
    x = away_from_kinks(Case("prelu", kinks=(0.0,)), rng.standard_normal(shape))
    w = rng.uniform(0.05, 0.5, weight_size)
    _, ctx = A.prelu_forward(x, w, axis=axis)
    g = rng.standard_normal(np.shape(x))
    grad_x, grad_w = A.prelu_backward(g, ctx)
    assert grad_x.shape == np.shape(x)
    assert grad_w.shape == w.shape
    check_vjp(
        lambda v: A.prelu(v, w, axis=axis), lambda gy: A.prelu_backward(gy, ctx)[0], x,
        grad_y=g, op="prelu", arg="x",
    )
    check_vjp(
        lambda v: A.prelu(x, v, axis=axis), lambda gy: A.prelu_backward(gy, ctx)[1], w,
        grad_y=g, op="prelu", arg="weight",
    )


def test_prelu_grad_is_elementwise_partials() -> None:
    x = np.array([[-2.0, 3.0], [0.0, -1.0]])
    dx, dw = A.prelu_grad(x, [0.1, 0.2], axis=0)
    np.testing.assert_array_equal(dx, [[0.1, 1.0], [0.2, 0.2]])
    np.testing.assert_array_equal(dw, [[-2.0, 0.0], [0.0, -1.0]])
    _, ctx = A.prelu_forward(x, np.array([0.1, 0.2]), axis=0)
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    grad_x, grad_w = A.prelu_backward(g, ctx)
    np.testing.assert_array_equal(grad_x, g * dx)
    np.testing.assert_array_equal(grad_w, [(g * dw)[0].sum(), (g * dw)[1].sum()])  # [-2, -4]


def test_prelu_gradient_dtypes() -> None:
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(1, 2, 3)
    w = np.array([0.25, 0.5], dtype=np.float32)
    y, ctx = A.prelu_forward(x, w)
    assert y.dtype == np.float32
    grad_x, grad_w = ctx.backward(np.ones_like(x))
    assert grad_x.dtype == np.float32
    assert grad_w.dtype == np.float32
    assert grad_w.shape == (2,)


def test_gradients_come_back_in_grad_y_dtype() -> None:
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    for case in CASES:
        _, ctx = case.forward(x)
        g64 = case.backward(np.ones(7, np.float64), ctx)
        assert g64.dtype == np.float64, case.id
        # computed in the wider dtype, so equal to float32's derivative widened
        np.testing.assert_allclose(g64, case.grad(x).astype(np.float64), rtol=1e-6, atol=1e-7)
