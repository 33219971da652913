"""Every kind of bad pooling input gets a ParameterError naming function, argument, rule, value."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from cnnblocks import ParameterError
from cnnblocks import functional as F

X4 = np.zeros((1, 2, 6, 6))
X3 = np.zeros((1, 2, 6))


def _raises(call: Callable[[], Any], *fragments: str) -> str:
    with pytest.raises(ParameterError) as info:
        call()
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"
    return msg


def test_parameter_error_is_value_and_type_error() -> None:
    with pytest.raises(ValueError, match="kernel_size"):
        F.max_pool(X4, 0)
    with pytest.raises(TypeError, match="kernel_size"):
        F.max_pool(X4, 0)


@pytest.mark.parametrize("func", [F.max_pool, F.avg_pool])
def test_wrong_ndim_unbatched(func: Callable[..., Any]) -> None:
    _raises(lambda: func(np.zeros((6, 6)), 2),
            f"The 'x' parameter of {func.__name__}()", "batched 3-d (N, C, L), 4-d (N, C, H, W)",
            "x[None]", "Got an array of shape (6, 6)")
    _raises(lambda: func(np.zeros((1,) * 6), 2), "Got an array of shape (1, 1, 1, 1, 1, 1)")


def test_wrong_ndim_for_kernel_tuple() -> None:
    _raises(lambda: F.max_pool(np.zeros((2, 6, 6)), (2, 2)),
            "The 'x' parameter of max_pool() must be a 4-d array (N, C, H, W)",
            "data_format='NHWC', (N, H, W, C)", "kernel_size=(2, 2)", "shape (2, 6, 6)")
    _raises(lambda: F.max_pool(X4, (2, 2, 2, 2)),
            "The 'kernel_size' parameter of max_pool() must be an int or a tuple of 1, 2 or 3")


@pytest.mark.parametrize("name", ["kernel_size", "stride", "dilation"])
@pytest.mark.parametrize("value", [0, -2, (2, 0)])
@pytest.mark.parametrize("func", [F.max_pool, F.avg_pool])
def test_window_parameters_below_one(name: str, value: Any, func: Callable[..., Any]) -> None:
    kwargs = {"kernel_size": 2, name: value}
    _raises(lambda: func(X4, **kwargs),
            f"The '{name}' parameter of {func.__name__}() must be an int >= 1 or a tuple of 2 "
            f"such ints. Got {value!r} instead.")


@pytest.mark.parametrize("padding", [-1, (1, -1), (0, 0, -1, 0)])
def test_negative_padding(padding: Any) -> None:
    _raises(lambda: F.max_pool(X4, 3, padding=padding),
            "The 'padding' parameter of max_pool() must be an int >= 0", f"Got {padding!r}")


def test_unknown_padding_string() -> None:
    _raises(lambda: F.avg_pool(X4, 3, padding="FULL"),
            "The 'padding' parameter of avg_pool() must be", "'SAME'", "Got 'FULL' instead.")


def test_window_wholly_in_padding() -> None:
    msg = _raises(lambda: F.max_pool(X3, 2, 2, (0, 3)),
                  "max_pool() window 3 along L lies wholly in the padding",
                  "positions 6..7", "input has positions 0..5", "got (0, 3)")
    assert "padding" in msg


def test_output_smaller_than_one_shows_formula() -> None:
    # H = 2, k_h = 5, S_h = 5 (stride defaults to the kernel): floor(-3 / 5) + 1 = 0
    _raises(lambda: F.max_pool(np.zeros((1, 1, 2, 9)), (5, 2)),
            "max_pool() would give an output of size 0 < 1 along H",
            "H_out = floor((H + p1 + p2 - d*(k-1) - 1) / S) + 1",
            "floor((2 + 0 + 0 - 1*(5-1) - 1) / 5) + 1 = 0")


def test_output_formula_numbers_with_dilation() -> None:
    msg = _raises(lambda: F.avg_pool(np.zeros((1, 1, 4)), 3, 1, dilation=2),
                  "avg_pool() would give an output of size")
    assert "floor((4 + 0 + 0 - 2*(3-1) - 1) / 1) + 1 = 0" in msg


def test_unknown_data_format() -> None:
    _raises(lambda: F.max_pool(X4, 2, data_format="NCWH"),
            "The 'data_format' parameter of max_pool() must be one of", "'NHWC'",
            "Got 'NCWH' instead.")
    _raises(lambda: F.global_avg_pool(X4, data_format="HWC"), "global_avg_pool()", "'HWC'")


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64])
@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("avg_pool", lambda x: F.avg_pool(x, 2)),
        ("avg_pool_forward", lambda x: F.avg_pool_forward(x, 2)),
        ("lp_pool", lambda x: F.lp_pool(x, 2, 2)),
        ("global_avg_pool", F.global_avg_pool),
        ("global_lp_pool", F.global_lp_pool),
        ("adaptive_avg_pool", lambda x: F.adaptive_avg_pool(x, 2)),
    ],
)
def test_float_only_ops_reject_integers(dtype: type, name: str, call: Callable[..., Any]) -> None:
    x = np.zeros((1, 1, 4, 4), dtype=dtype)
    _raises(lambda: call(x),
            f"The 'x' parameter of {name}() must be a floating-point array",
            f"dtype {np.dtype(dtype).name}")


def test_bool_and_object_inputs() -> None:
    _raises(lambda: F.max_pool(np.zeros((1, 1, 4), dtype=bool), 2),
            "max_pool() must be a real numeric array", "dtype bool")
    _raises(lambda: F.max_pool([[[1, 2], [3]]], 2), "The 'x' parameter of max_pool()")


def test_flags_and_options() -> None:
    _raises(lambda: F.max_pool(X4, 2, ceil_mode=1), "'ceil_mode' parameter", "a bool", "Got 1")
    _raises(lambda: F.max_pool(X4, 2, return_indices="yes"), "'return_indices'", "a bool")
    _raises(lambda: F.avg_pool(X4, 2, count_include_pad=None), "'count_include_pad'", "a bool")
    _raises(lambda: F.avg_pool(X4, 2, divisor_override=0),
            "The 'divisor_override' parameter of avg_pool() must be an int >= 1. Got 0")
    _raises(lambda: F.lp_pool(X4, 0.5, 2), "The 'p' parameter of lp_pool() must be a real "
                                           "number >= 1.0. Got 0.5")
    _raises(lambda: F.global_lp_pool(X4, float("nan")), "'p' parameter of global_lp_pool()")


def test_adaptive_output_size() -> None:
    _raises(lambda: F.adaptive_avg_pool(X4, 0), "The 'output_size' parameter of "
                                                "adaptive_avg_pool() must be an int >= 1")
    _raises(lambda: F.adaptive_max_pool(X4, (2, -1)), "'output_size' parameter of "
                                                      "adaptive_max_pool()", "(2, -1)")
    _raises(lambda: F.adaptive_avg_pool(X4, (2,)),
            "The 'x' parameter of adaptive_avg_pool() must be a 3-d array")


def test_backward_checks_grad_and_context() -> None:
    y, ctx = F.max_pool_forward(X4, 2)
    _raises(lambda: F.max_pool_backward(np.zeros((1, 2, 3, 4)), ctx),
            "The 'grad_y' parameter of max_pool_backward() must be an array of shape "
            "(1, 2, 3, 3) (the shape of the forward output). Got an array of shape (1, 2, 3, 4)")
    _raises(lambda: F.max_pool_backward(np.zeros(y.shape, dtype=np.int32), ctx),
            "'grad_y' parameter of max_pool_backward() must be a floating-point array")
    _, avg_ctx = F.avg_pool_forward(X4, 2)
    _raises(lambda: F.max_pool_backward(np.zeros(y.shape), avg_ctx),
            "The 'ctx' parameter of max_pool_backward() must be the Context returned by "
            "max_pool_forward(). Got 'avg_pool' instead.")
    for forward, backward in [
        (lambda: F.avg_pool_forward(X4, 2), F.avg_pool_backward),
        (lambda: F.lp_pool_forward(X4, 2, 2), F.lp_pool_backward),
        (lambda: F.global_max_pool_forward(X4), F.global_max_pool_backward),
        (lambda: F.global_avg_pool_forward(X4), F.global_avg_pool_backward),
        (lambda: F.global_lp_pool_forward(X4), F.global_lp_pool_backward),
        (lambda: F.adaptive_avg_pool_forward(X4, 4), F.adaptive_avg_pool_backward),
        (lambda: F.adaptive_max_pool_forward(X4, 4), F.adaptive_max_pool_backward),
    ]:
        _, c = forward()
        _raises(lambda c=c, backward=backward: backward(np.zeros((9, 9)), c),  # type: ignore[misc]
                f"The 'grad_y' parameter of {backward.__name__}() must be an array of shape")


def test_max_unpool_mismatched_indices() -> None:
    y, idx = F.max_pool(np.random.default_rng(0).standard_normal((1, 1, 4, 4)), 2,
                        return_indices=True)
    _raises(lambda: F.max_unpool(y, idx[..., :1], 2),
            "The 'indices' parameter of max_unpool() must be an array of the same shape as y, "
            "(1, 1, 2, 2). Got an array of shape (1, 1, 2, 1)")
    _raises(lambda: F.max_unpool(y, idx + 16, 2),
            "The 'indices' parameter of max_unpool() must be flat positions in [0, 16) of an "
            "output plane of 4 x 4. Got values from")
    _raises(lambda: F.max_unpool(y, idx - 16, 2), "Got values from -")
    _raises(lambda: F.max_unpool(y, idx.astype(float), 2), "must be an integer array")
    _raises(lambda: F.max_unpool(y, idx, 2, output_size=(3, 3)),
            "flat positions in [0, 9) of an output plane of 3 x 3")
    _raises(lambda: F.max_unpool(y, idx, 2, output_size=(4,)), "'output_size' parameter of "
                                                                "max_unpool() must be a tuple of 2")
    _raises(lambda: F.max_unpool(y, idx, 2, padding="SAME"), "'padding' parameter of max_unpool()",
            "pass output_size")
    msg = _raises(lambda: F.max_unpool(np.zeros((1, 1, 1)), np.zeros((1, 1, 1), int), 1, 1,
                                       (1, 1)),
                  "max_unpool() would give an output of size -1 < 1 along L")
    assert re.search(r"\(1 - 1\)\*1 - 1 - 1 \+ 1 = -1", msg)


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("global_max_pool", F.global_max_pool),
        ("global_avg_pool", F.global_avg_pool),
        ("global_lp_pool", F.global_lp_pool),
        ("adaptive_avg_pool", lambda x: F.adaptive_avg_pool(x, 1)),
        ("adaptive_max_pool", lambda x: F.adaptive_max_pool(x, 1)),
    ],
)
def test_global_and_adaptive_need_a_cell_per_axis(name: str, call: Callable[..., Any]) -> None:
    _raises(lambda: call(np.zeros((1, 2, 3, 0))),
            f"The 'x' parameter of {name}() must be an array with every spatial size >= 1 in "
            "(N, C, H, W)", "Got an array of shape (1, 2, 3, 0)")


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("lp_pool", lambda x: F.lp_pool(x, 2, 2)),
        ("global_max_pool", F.global_max_pool),
        ("global_avg_pool", F.global_avg_pool),
        ("global_lp_pool", F.global_lp_pool),
        ("adaptive_avg_pool", lambda x: F.adaptive_avg_pool(x, 2)),
        ("adaptive_max_pool", lambda x: F.adaptive_max_pool(x, 2)),
        ("max_unpool", lambda x: F.max_unpool(x, np.zeros(x.shape, int), 2)),
    ],
)
def test_wrong_ndim_every_pool(name: str, call: Callable[..., Any]) -> None:
    _raises(lambda: call(np.zeros((4, 4))), f"parameter of {name}() must be a batched 3-d",
            "Got an array of shape (4, 4)")


def test_every_backward_checks_its_context() -> None:
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4))
    y, idx = F.max_pool(x, 2, return_indices=True)
    forwards = {
        "max_pool": lambda: F.max_pool_forward(x, 2),
        "avg_pool": lambda: F.avg_pool_forward(x, 2),
        "lp_pool": lambda: F.lp_pool_forward(x, 2, 2),
        "global_max_pool": lambda: F.global_max_pool_forward(x),
        "global_avg_pool": lambda: F.global_avg_pool_forward(x),
        "global_lp_pool": lambda: F.global_lp_pool_forward(x),
        "adaptive_avg_pool": lambda: F.adaptive_avg_pool_forward(x, 2),
        "adaptive_max_pool": lambda: F.adaptive_max_pool_forward(x, 2),
        "max_unpool": lambda: F.max_unpool_forward(y, idx, 2),
    }
    _, other = F.sigmoid_forward(x)
    for op, forward in forwards.items():
        out, ctx = forward()
        backward = getattr(F, f"{op}_backward")
        _raises(lambda b=backward, o=out: b(np.ones_like(o), other),  # type: ignore[misc]
                f"The 'ctx' parameter of {op}_backward() must be the Context returned by "
                f"{op}_forward(). Got 'sigmoid' instead.")
        _raises(lambda b=backward, o=out: b(np.ones_like(o), "ctx"),  # type: ignore[misc]
                f"The 'ctx' parameter of {op}_backward()", "Got 'ctx' instead.")
        assert backward(np.ones_like(out), ctx).shape == np.shape(x if op != "max_unpool" else y)
