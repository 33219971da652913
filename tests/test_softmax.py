"""Softmax and log-softmax: hand values, stability, properties, gradients, errors, PyTorch."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cnnblocks.errors import ParameterError
from cnnblocks.functional.softmax import (
    log_softmax,
    log_softmax_backward,
    log_softmax_forward,
    log_softmax_grad,
    softmax,
    softmax_backward,
    softmax_forward,
    softmax_grad,
)
from gradcheck import check_op_gradient, numeric_vjp

LN3 = math.log(3.0)


def test_hand_values() -> None:
    np.testing.assert_allclose(softmax([0.0, LN3]), [0.25, 0.75], rtol=1e-15)
    np.testing.assert_allclose(log_softmax([0.0, 0.0]), [-math.log(2)] * 2, rtol=1e-15)
    # along axis 0 of a matrix: columns are normalised
    x = np.array([[0.0, 1.0], [LN3, 1.0]])
    np.testing.assert_allclose(softmax(x, axis=0), [[0.25, 0.5], [0.75, 0.5]], rtol=1e-15)
    np.testing.assert_allclose(softmax(x, axis=-2), softmax(x, axis=0), rtol=0)


def test_matches_math_exp_per_row() -> None:
    x = np.random.default_rng(0).standard_normal((4, 7)) * 3
    for row, s, ls in zip(x, softmax(x), log_softmax(x), strict=True):
        total = sum(math.exp(v) for v in row)
        np.testing.assert_allclose(s, [math.exp(v) / total for v in row], rtol=1e-14)
        np.testing.assert_allclose(ls, [v - math.log(total) for v in row], rtol=1e-14, atol=1e-15)


def test_large_inputs_do_not_overflow() -> None:
    np.testing.assert_allclose(softmax([1000.0, 1000.0 + LN3]), [0.25, 0.75], rtol=1e-12)
    np.testing.assert_allclose(softmax([-1000.0, -1000.0 + LN3]), [0.25, 0.75], rtol=1e-12)
    # log_softmax never takes the log of an underflowed 0
    np.testing.assert_array_equal(log_softmax([-1000.0, 0.0]), [-1000.0, 0.0])
    np.testing.assert_array_equal(softmax([-1000.0, 0.0]), [0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtype_and_shape_preserved(dtype: type) -> None:
    x = np.linspace(-3, 3, 24).astype(dtype).reshape(2, 3, 4)
    for fn in (softmax, log_softmax):
        for axis in (0, 1, 2, -1):
            y = fn(x, axis=axis)
            assert y.dtype == dtype
            assert y.shape == x.shape
    _, ctx = softmax_forward(x, axis=1)
    assert softmax_backward(np.ones_like(x), ctx).dtype == dtype


def test_zero_d_input_is_one_element() -> None:
    # PyTorch: softmax of a 0-d tensor along dim 0 (or -1) is 1
    for axis in (0, -1):
        assert softmax(np.array(3.0), axis=axis).shape == ()
        assert float(softmax(np.array(3.0), axis=axis)) == 1.0
        assert float(log_softmax(np.float32(3.0), axis=axis)) == 0.0
    _, ctx = softmax_forward(np.array(2.0))
    assert softmax_backward(np.array(5.0), ctx).shape == ()
    assert float(softmax_backward(np.array(5.0), ctx)) == 0.0


def test_infinities_and_nan_without_warnings() -> None:
    np.testing.assert_array_equal(softmax([-np.inf, 0.0]), [0.0, 1.0])
    np.testing.assert_array_equal(log_softmax([-np.inf, 0.0]), [-np.inf, 0.0])
    assert np.isnan(softmax([np.inf, 1.0])).all()  # undefined, as in PyTorch
    assert np.isnan(softmax([-np.inf, -np.inf])).all()
    assert np.isnan(softmax([np.nan, 1.0])).all()


# --- properties -----------------------------------------------------------------------------------

matrices = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
    elements=st.floats(-100, 100, allow_nan=False),
)


@given(matrices, st.integers(0, 2))
def test_softmax_sums_to_one(x: np.ndarray, axis: int) -> None:
    axis = axis % x.ndim
    s = softmax(x, axis=axis)
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-13)


@given(matrices, st.floats(-50, 50))
def test_softmax_ignores_a_shift(x: np.ndarray, c: float) -> None:
    np.testing.assert_allclose(softmax(x + c), softmax(x), rtol=1e-10, atol=1e-300)


@given(matrices)
def test_log_softmax_is_log_of_softmax(x: np.ndarray) -> None:
    s = softmax(x)
    ok = s > 1e-300  # where softmax has not underflowed
    np.testing.assert_allclose(log_softmax(x)[ok], np.log(s[ok]), rtol=1e-12, atol=1e-12)


# --- gradients ------------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
@pytest.mark.parametrize(
    ("forward", "backward"),
    [(softmax_forward, softmax_backward), (log_softmax_forward, log_softmax_backward)],
    ids=["softmax", "log_softmax"],
)
def test_backward_passes_gradcheck(forward: object, backward: object, axis: int) -> None:
    x = np.random.default_rng(axis + 5).standard_normal((2, 3, 4)) * 2
    check_op_gradient(forward, backward, x, axis=axis)  # type: ignore[arg-type]


def test_backward_equals_the_explicit_jacobian() -> None:
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal(5), rng.standard_normal(5)
    s = np.array([math.exp(v) for v in x])
    s /= s.sum()
    jac = np.diag(s) - np.outer(s, s)  # ∂s_i/∂x_j
    _, ctx = softmax_forward(x)
    np.testing.assert_allclose(softmax_backward(g, ctx), jac.T @ g, rtol=1e-13, atol=1e-15)
    jac_log = np.eye(5) - s[None, :]  # ∂ log s_i / ∂x_j = δ_ij − s_j
    _, ctx = log_softmax_forward(x)
    np.testing.assert_allclose(log_softmax_backward(g, ctx), jac_log.T @ g, rtol=1e-13)
    np.testing.assert_array_equal(ctx.backward(g), log_softmax_backward(g, ctx))


@pytest.mark.parametrize(("grad", "value"), [(softmax_grad, softmax),
                                             (log_softmax_grad, log_softmax)])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_grad_is_the_jacobian_by_central_differences(grad: object, value: object, axis: int
                                                     ) -> None:
    x = np.random.default_rng(3).standard_normal((2, 3, 4))
    jac = grad(x, axis=axis)  # type: ignore[operator]
    moved = np.moveaxis(x, axis, -1)
    assert jac.shape == (*moved.shape, moved.shape[-1])
    # row i of the Jacobian is the gradient of output i: probe it with a one-hot grad_y
    for i in range(moved.shape[-1]):
        probe = np.zeros(moved.shape)
        probe[..., i] = 1.0
        numeric = numeric_vjp(lambda v: value(v, axis=axis), x,  # type: ignore[operator]
                              np.moveaxis(probe, -1, axis))
        np.testing.assert_allclose(np.moveaxis(numeric, axis, -1), jac[..., i, :], atol=1e-8)


def test_grad_by_hand_and_shapes() -> None:
    # s = (1/4, 3/4): s_i (δ_ij − s_j) = [[3/16, −3/16], [−3/16, 3/16]]; log: δ_ij − s_j
    np.testing.assert_allclose(softmax_grad([0.0, LN3]), [[3 / 16, -3 / 16], [-3 / 16, 3 / 16]])
    np.testing.assert_allclose(log_softmax_grad([0.0, LN3]), [[0.75, -0.75], [-0.25, 0.25]])
    assert softmax_grad(np.array(2.0)).tolist() == [[0.0]]  # one element: s = 1, constant
    assert log_softmax_grad(np.zeros((2, 5), np.float16), axis=0).shape == (5, 2, 2)
    assert softmax_grad(np.zeros(3, np.float32)).dtype == np.float32
    assert log_softmax_grad(np.zeros(3, np.float16)).dtype == np.float16
    # rows of the softmax Jacobian sum to 0: the outputs always sum to 1
    np.testing.assert_allclose(softmax_grad([1000.0, 0.0, -3.0]).sum(axis=-1), 0.0, atol=1e-15)
    with pytest.raises(ParameterError, match=re.escape(
            "The 'x' parameter of softmax_grad() must be a floating-point array")):
        softmax_grad([1, 2])
    with pytest.raises(ParameterError, match=re.escape(
            "The 'axis' parameter of log_softmax_grad() must be an int in [-1, 1)")):
        log_softmax_grad([1.0, 2.0], axis=3)


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: softmax(np.ones((2, 3)), axis=2), "The 'axis' parameter of softmax() must be an "
         "int in [-2, 2) (x has shape (2, 3)). Got 2 instead."),
        (lambda: log_softmax_forward(np.ones(()), axis=1), "The 'axis' parameter of "
         "log_softmax_forward() must be an int in [-1, 1) (x has shape ()). Got 1 instead."),
        (lambda: softmax(np.ones(3), axis=None), "The 'axis' parameter of softmax() must be an "
         "int in [-1, 1) (x has shape (3,)). Got None instead."),
        (lambda: log_softmax([1, 2]), "The 'x' parameter of log_softmax() must be a "
         "floating-point array (float16, float32 or float64). Got an array of shape (2,) and "
         "dtype int64 instead."),
        (lambda: softmax_backward(np.ones((3, 2)), softmax_forward(np.ones((2, 3)))[1]),
         "The 'grad_y' parameter of softmax_backward() must be an array of shape (2, 3) (the "
         "forward output's shape). Got an array of shape (3, 2) and dtype float64 instead."),
        (lambda: log_softmax_backward(np.ones(3), softmax_forward(np.ones(3))[1]),
         "The 'ctx' parameter of log_softmax_backward() must be the Context returned by "
         "log_softmax_forward(). Got a Context made by softmax_forward() instead."),
    ],
)
def test_bad_input(call: object, message: str) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        call()  # type: ignore[operator]


# --- PyTorch parity -------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_matches_pytorch(dtype: type, axis: int) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((3, 4, 5)) * 10).astype(dtype)
    x[0, 0, 0] = 500.0
    g = rng.standard_normal(x.shape).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for ours_fwd, theirs in ((softmax_forward, torch.softmax), (log_softmax_forward,
                                                                torch.log_softmax)):
        t = torch.tensor(x, requires_grad=True)
        ty = theirs(t, dim=axis)
        ty.backward(torch.tensor(g))
        y, ctx = ours_fwd(x, axis=axis)
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=rtol, atol=rtol * 1e-2)
        np.testing.assert_allclose(ctx.backward(g), t.grad.numpy(), rtol=rtol, atol=rtol)
