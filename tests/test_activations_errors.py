"""Bad input to the activations: a ParameterError naming function, argument, rule, value."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from activation_cases import DEFAULT_CASES, Case
from cnnblocks.errors import ParameterError
from cnnblocks.functional import activations as A

FLOAT_RULE = "must be a floating-point array (float16, float32 or float64)"

FLOAT_ONLY = [c for c in DEFAULT_CASES if c.name not in ("relu", "relu6")]


def _raises(fn: Callable[[], Any], message: str) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        fn()


@pytest.mark.parametrize("case", FLOAT_ONLY, ids=lambda c: c.id)
@pytest.mark.parametrize("form", ["", "_grad", "_forward"])
def test_float_only_ops_reject_integers(case: Case, form: str) -> None:
    func = f"{case.name}{form}"
    _raises(
        lambda: getattr(A, func)(np.arange(3), **case.kwargs),
        f"The 'x' parameter of {func}() {FLOAT_RULE}. Got an array of shape (3,) and dtype "
        "int64 instead.",
    )


def test_integer_lists_are_integers() -> None:
    _raises(lambda: A.sigmoid([1, 2]), f"of sigmoid() {FLOAT_RULE}. Got an array of shape (2,)")


@pytest.mark.parametrize("name", ["relu", "relu6"])
@pytest.mark.parametrize(
    ("value", "shown"),
    [(np.array([True]), "dtype bool"), (np.array([1j]), "dtype complex128")],
)
def test_relu_rejects_bool_and_complex(name: str, value: np.ndarray, shown: str) -> None:
    _raises(
        lambda: getattr(A, name)(value),
        f"The 'x' parameter of {name}() must be an integer or floating-point array (bool and "
        f"complex are not allowed). Got an array of shape (1,) and {shown} instead.",
    )


def test_ragged_input() -> None:
    _raises(
        lambda: A.sigmoid([[1.0], [2.0, 3.0]]),
        "The 'x' parameter of sigmoid() must be array-like. Got [[1.0], [2.0, 3.0]] instead.",
    )


BAD_PARAMETERS = [
    (lambda: A.elu([1.0], alpha="a"), "The 'alpha' parameter of elu() must be a finite real "
     "number. Got 'a' instead."),
    (lambda: A.elu_grad([1.0], alpha=float("nan")), "The 'alpha' parameter of elu_grad() must be "
     "a finite real number. Got nan instead."),
    (lambda: A.celu([1.0], alpha=0), "The 'alpha' parameter of celu() must be a real number > "
     "0.0. Got 0 instead."),
    (lambda: A.celu_forward([1.0], alpha=-1.0), "The 'alpha' parameter of celu_forward() must be "
     "a real number > 0.0. Got -1.0 instead."),
    (lambda: A.softplus([1.0], beta=0), "The 'beta' parameter of softplus() must be a real "
     "number > 0.0. Got 0 instead."),
    (lambda: A.softplus_grad([1.0], beta=-2.0), "The 'beta' parameter of softplus_grad() must be "
     "a real number > 0.0. Got -2.0 instead."),
    (lambda: A.softplus([1.0], threshold=float("inf")), "The 'threshold' parameter of softplus() "
     "must be a finite real number. Got inf instead."),
    (lambda: A.gelu([1.0], approximate="exact"), "The 'approximate' parameter of gelu() must be "
     "one of {'none', 'tanh'}. Got 'exact' instead."),
    (lambda: A.gelu_grad([1.0], approximate=None), "The 'approximate' parameter of gelu_grad() "
     "must be one of {'none', 'tanh'}. Got None instead."),
    (lambda: A.leaky_relu([1.0], negative_slope=None), "The 'negative_slope' parameter of "
     "leaky_relu() must be a finite real number. Got None instead."),
    (lambda: A.hardsigmoid([1.0], alpha=True), "The 'alpha' parameter of hardsigmoid() must be a "
     "finite real number. Got True instead."),
    (lambda: A.hardsigmoid([1.0], beta=[0.5]), "The 'beta' parameter of hardsigmoid() must be a "
     "finite real number. Got [0.5] instead."),
    (lambda: A.thresholded_relu([1.0], theta="1"), "The 'theta' parameter of thresholded_relu() "
     "must be a finite real number. Got '1' instead."),
]


@pytest.mark.parametrize(("call", "message"), BAD_PARAMETERS)
def test_bad_parameter_values(call: Callable[[], Any], message: str) -> None:
    _raises(call, message)


def test_parameter_error_is_value_and_type_error() -> None:
    with pytest.raises(ValueError, match="alpha"):
        A.celu([1.0], alpha=0)
    with pytest.raises(TypeError, match="alpha"):
        A.celu([1.0], alpha="1")


# --- backward: grad shape, grad dtype, wrong context ----------------------------------------------


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_backward_checks_grad_shape(case: Case) -> None:
    _, ctx = case.forward(np.ones((2, 3)))
    _raises(
        lambda: case.backward(np.ones(3), ctx),
        f"The 'grad_y' parameter of {case.name}_backward() must be an array of shape (2, 3) "
        "(the forward output's shape). Got an array of shape (3,) and dtype float64 instead.",
    )


def test_backward_checks_grad_dtype() -> None:
    _, ctx = A.relu_forward(np.ones(3))
    _raises(
        lambda: A.relu_backward(np.ones(3, dtype=np.int64), ctx),
        f"The 'grad_y' parameter of relu_backward() {FLOAT_RULE}. Got an array of shape (3,) "
        "and dtype int64 instead.",
    )


def test_backward_checks_the_context() -> None:
    _, ctx = A.sigmoid_forward(np.ones(3))
    _raises(
        lambda: A.relu_backward(np.ones(3), ctx),
        "The 'ctx' parameter of relu_backward() must be the Context returned by relu_forward(). "
        "Got a Context made by sigmoid_forward() instead.",
    )
    _raises(
        lambda: A.tanh_backward(np.ones(3), None),
        "The 'ctx' parameter of tanh_backward() must be the Context returned by tanh_forward(). "
        "Got None instead.",
    )


# --- prelu's weight and axis ----------------------------------------------------------------------


PRELU_ERRORS = [
    (lambda: A.prelu(np.ones((2, 3, 4)), np.ones(4)), "The 'weight' parameter of prelu() must be "
     "a 1-d array with 1 or 3 elements (one shared slope, or one per channel along axis 1 of x, "
     "whose shape is (2, 3, 4)). Got an array of shape (4,) and dtype float64 instead."),
    (lambda: A.prelu_forward(np.ones((2, 3, 4)), np.ones((3, 1))), "The 'weight' parameter of "
     "prelu_forward() must be a 1-d array with 1 or 3 elements (one shared slope, or one per "
     "channel along axis 1 of x, whose shape is (2, 3, 4)). Got an array of shape (3, 1)"),
    (lambda: A.prelu(np.ones(3), np.ones(3)), "The 'weight' parameter of prelu() must be a 1-d "
     "array with 1 element (x of shape (3,) has fewer than 2 dimensions, so no channel axis; "
     "pass axis=0 for one slope per element). Got an array of shape (3,) and dtype float64"),
    (lambda: A.prelu_grad(np.ones((2, 3)), np.ones(3), axis=2), "The 'axis' parameter of "
     "prelu_grad() must be an int in [-2, 2) (x has shape (2, 3)). Got 2 instead."),
    (lambda: A.prelu(np.ones((2, 3)), np.ones(3), axis=1.0), "The 'axis' parameter of prelu() "
     "must be an int. Got 1.0 instead."),
    (lambda: A.prelu(np.ones((2, 3)), np.ones(3, dtype=np.int64)), "The 'weight' parameter of "
     f"prelu() {FLOAT_RULE}. Got an array of shape (3,) and dtype int64 instead."),
    (lambda: A.prelu(np.arange(6).reshape(2, 3), np.ones(3)), "The 'x' parameter of prelu() "
     f"{FLOAT_RULE}. Got an array of shape (2, 3) and dtype int64 instead."),
]


@pytest.mark.parametrize(("call", "message"), PRELU_ERRORS)
def test_prelu_bad_input(call: Callable[[], Any], message: str) -> None:
    _raises(call, message)


def test_prelu_one_dimensional_input_with_axis_zero_is_per_element() -> None:
    np.testing.assert_array_equal(A.prelu([-2.0, -2.0], [0.5, 0.25], axis=0), [-1.0, -0.5])


def test_prelu_backward_checks_grad_shape() -> None:
    _, ctx = A.prelu_forward(np.ones((2, 3)), np.ones(3))
    _raises(
        lambda: A.prelu_backward(np.ones((3, 2)), ctx),
        "The 'grad_y' parameter of prelu_backward() must be an array of shape (2, 3) (the forward "
        "output's shape). Got an array of shape (3, 2) and dtype float64 instead.",
    )
