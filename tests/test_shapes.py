"""The output-size rule, the padding normaliser and the explanation text (cnnblocks.shapes).

Expected values are computed by hand from the lesson's formula
H_out = (H + p_h1 + p_h2 - k_h) / S_h + 1 (floor, or ceil with the drop rule of PyTorch/ONNX).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given

from cnnblocks import ParameterError
from cnnblocks import functional as F
from cnnblocks.shapes import (
    explain_output_shape,
    normalize_padding,
    pool_geometry,
    pool_output_shape,
    pool_output_size,
    same_padding,
)
from pooling_cases import pool_cases, pool_kwargs

# --------------------------------------------------------------------------- padding forms


@pytest.mark.parametrize(
    ("padding", "expected"),
    [
        (0, ((0, 0), (0, 0))),
        (2, ((2, 2), (2, 2))),
        ((1, 2), ((1, 1), (2, 2))),  # (p_h, p_w)
        ((0, 1, 2, 3), ((0, 1), (2, 3))),  # the lesson's (p_h1, p_h2, p_w1, p_w2)
        (((0, 1), (2, 3)), ((0, 1), (2, 3))),  # pairs
        ([[1, 0], [0, 1]], ((1, 0), (0, 1))),
        ("VALID", ((0, 0), (0, 0))),
        ("valid", ((0, 0), (0, 0))),
    ],
)
def test_normalize_padding_forms(padding: object, expected: tuple) -> None:
    assert normalize_padding(padding, (8, 8), (3, 3), (2, 2), (1, 1)) == expected


def test_normalize_padding_1d_and_3d() -> None:
    assert normalize_padding(1, (5,), (3,), (1,), (1,)) == ((1, 1),)
    assert normalize_padding((1, 2), (5,), (3,), (1,), (1,)) == ((1, 2),)  # 1-d: before, after
    assert normalize_padding((1, 0, 2), (5, 5, 5), (3,) * 3, (1,) * 3, (1,) * 3) == (
        (1, 1), (0, 0), (2, 2))
    assert normalize_padding((0, 1, 2, 3, 4, 5), (9,) * 3, (3,) * 3, (1,) * 3, (1,) * 3) == (
        (0, 1), (2, 3), (4, 5))


@pytest.mark.parametrize(
    ("length", "kernel", "stride", "dilation", "upper", "lower"),
    [
        # out = ceil(L/S); total = max((out-1)*S + d*(k-1) + 1 - L, 0)
        (4, 2, 1, 1, (0, 1), (1, 0)),  # out 4, total 1
        (5, 3, 2, 1, (1, 1), (1, 1)),  # out 3, total 2*2 + 3 - 5 = 2
        (6, 3, 2, 1, (0, 1), (1, 0)),  # out 3, total 4 + 3 - 6 = 1
        (7, 3, 1, 2, (2, 2), (2, 2)),  # out 7, total 6 + 5 - 7 = 4
        (6, 2, 2, 1, (0, 0), (0, 0)),  # out 3, total 4 + 2 - 6 = 0
        (5, 1, 3, 1, (0, 0), (0, 0)),  # out 2, total max(3 + 1 - 5, 0) = 0
    ],
)
def test_same_padding_by_hand(length: int, kernel: int, stride: int, dilation: int,
                              upper: tuple, lower: tuple) -> None:
    assert same_padding(length, kernel, stride, dilation, lower=False) == upper
    assert same_padding(length, kernel, stride, dilation, lower=True) == lower
    assert normalize_padding("SAME", (length,), (kernel,), (stride,), (dilation,)) == (upper,)
    assert normalize_padding("SAME_UPPER", (length,), (kernel,), (stride,), (dilation,)) == (
        upper,)
    assert normalize_padding("same_lower", (length,), (kernel,), (stride,), (dilation,)) == (
        lower,)
    g = pool_geometry((length,), kernel, stride, "SAME", dilation)
    assert g.output_size == (-(-length // stride),)


# --------------------------------------------------------------------------- output size


@pytest.mark.parametrize(
    ("length", "kernel", "stride", "pad", "expected"),
    [(9, 4, 4, 2, 3), (5, 2, 2, 1, 3), (32, 1, 2, 0, 16)],  # SEMANTICS.md ceil-mode checks
)
def test_ceil_mode_drop_rule(length: int, kernel: int, stride: int, pad: int, expected: int
                             ) -> None:
    assert pool_output_size(length, kernel, stride, pad, pad, ceil_mode=True) == expected


def test_ceil_mode_rounds_up_when_last_window_starts_inside() -> None:
    # 7 cells, k=2, s=3: (7 - 2)/3 = 1.67 -> floor 2 windows, ceil 3 (start 6 < 7: kept)
    assert pool_output_size(7, 2, 3) == 2
    assert pool_output_size(7, 2, 3, ceil_mode=True) == 3


def test_lesson_formulas() -> None:
    # 2x2, stride 2, no padding halves H and W
    assert pool_output_size(28, 2, 2) == 14
    assert pool_output_shape((8, 16, 28, 28), 2) == (8, 16, 14, 14)  # C kept
    # asymmetric padding by hand: H=5, p_h1=1, p_h2=0, k_h=3, S_h=2 -> (5+1+0-3)/2+1 = 2.5 -> 2
    #                             W=7, p_w1=0, p_w2=1, k_w=2, S_w=2 -> (7+0+1-2)/2+1 = 4
    assert pool_output_shape((1, 3, 5, 7), (3, 2), (2, 2), (1, 0, 0, 1)) == (1, 3, 2, 4)
    # dilation: span d*(k-1)+1 = 5 -> (10 - 5)/1 + 1 = 6
    assert pool_output_size(10, 3, 1, dilation=2) == 6


def test_pool_output_shape_layouts() -> None:
    assert pool_output_shape((2, 9, 9, 3), 3, 2, data_format="NHWC") == (2, 4, 4, 3)
    assert pool_output_shape((2, 3, 10), (4,), 2) == (2, 3, 4)
    assert pool_output_shape((1, 2, 4, 6, 8), (2, 2, 2)) == (1, 2, 2, 3, 4)


# --------------------------------------------------------------------------- explanation text


def test_explain_output_shape_fills_in_numbers() -> None:
    text = explain_output_shape((2, 5, 6, 3), (3, 2), (2, 2), (1, 0, 0, 1), data_format="NHWC")
    assert "input (N, H, W, C) = (2, 5, 6, 3)" in text
    assert "(top, bottom) = (1, 0)" in text
    assert "(left, right) = (0, 1)" in text
    assert "floor((5 + 1 + 0 - 1*(3 - 1) - 1) / 2) + 1 = 2" in text
    assert "floor((6 + 0 + 1 - 1*(2 - 1) - 1) / 2) + 1 = 3" in text
    assert text.endswith("output (N, H_out, W_out, C) = (2, 2, 3, 3); channels kept")


def test_explain_output_shape_mentions_dropped_window() -> None:
    # SEMANTICS.md: ceil((9 + 2 + 2 - 3 - 1) / 4) + 1 = ceil(9/4) + 1 = 4; the last window starts
    # at (4 - 1)*4 = 12 >= 9 + 2 (in the bottom padding), so it is dropped: 3.
    text = explain_output_shape((1, 1, 9, 9), 4, 4, 2, ceil_mode=True)
    assert "ceil mode" in text
    # Regression: the formula line used to print the dropped result ("... + 1 = 3"), an untrue
    # equation; it now shows the formula's value and the drop on a line of its own.
    assert "= ceil((9 + 2 + 2 - 1*(4 - 1) - 1) / 4) + 1 = 4\n" in text
    assert "- 1 = 3: the last window would start at (4 - 1)*4 = 12 >= H + p_h1 = 11," in text
    assert "in the bottom padding, so it is dropped" in text
    assert text.endswith("output (N, C, H_out, W_out) = (1, 1, 3, 3); channels kept")


def test_explain_output_shape_no_drop_line_when_nothing_is_dropped() -> None:
    # 7 cells, k=2, S=3, ceil: ceil(5/3) + 1 = 3 and window 2 starts at 6 < 7: kept
    text = explain_output_shape((1, 1, 7), 2, 3, ceil_mode=True)
    assert "= ceil((7 + 0 + 0 - 1*(2 - 1) - 1) / 3) + 1 = 3\n" in text
    assert "dropped" not in text


_EQUATION = re.compile(r"= (floor|ceil)\(\((\d+) \+ (\d+) \+ (\d+) - (\d+)\*\((\d+) - 1\) - 1\) "
                       r"/ (\d+)\) \+ 1 = (-?\d+)")


def _equations_hold(text: str) -> int:
    """Check every filled-in formula line of an explanation by plain arithmetic; count them."""
    found = _EQUATION.findall(text)
    for rounding, n, p1, p2, d, k, s, value in found:
        numerator = int(n) + int(p1) + int(p2) - int(d) * (int(k) - 1) - 1
        quotient = numerator / int(s)
        expected = (math.ceil(quotient) if rounding == "ceil" else math.floor(quotient)) + 1
        assert int(value) == expected, f"untrue equation in {text!r}"
    return len(found)


# --------------------------------------------------------------------------- errors


def test_output_below_one_shows_formula() -> None:
    with pytest.raises(ParameterError) as info:
        pool_output_size(2, 5, 1, func="max_pool", axis="H")
    msg = str(info.value)
    assert "max_pool()" in msg
    assert "size -2 < 1 along H" in msg
    assert "floor((2 + 0 + 0 - 1*(5-1) - 1) / 1) + 1 = -2" in msg


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((4, 2, 0), "The 'stride' parameter of pool_output_size() must be an int >= 1. Got 0"),
        ((4, 0, 1), "The 'kernel_size' parameter of pool_output_size() must be an int >= 1. Got 0"),
        ((4, 2, 1, -1), "The 'pad_before' parameter of pool_output_size() must be an int >= 0."),
        ((4, 2, 1, 0, -2), "The 'pad_after' parameter of pool_output_size() must be an int >= 0."),
        ((4, 2, 1, 0, 0, 0), "The 'dilation' parameter of pool_output_size() must be an int >= 1"),
        ((4.5, 2, 1), "The 'length' parameter of pool_output_size() must be an int >= 0. Got 4.5"),
        ((4, 2, 1, 0, 0, 1, 1), "The 'ceil_mode' parameter of pool_output_size() must be a bool."),
    ],
)
def test_pool_output_size_checks_its_arguments(args: tuple[object, ...], message: str) -> None:
    # Regression: a zero stride used to raise ZeroDivisionError, a zero kernel gave a size.
    with pytest.raises(ParameterError) as info:
        pool_output_size(*args)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_window_wholly_in_padding() -> None:
    with pytest.raises(ParameterError, match=r"window 0 along L lies wholly in the padding"):
        pool_geometry((5,), 3, 1, ((3, 0),), func="max_pool")


def test_window_in_the_middle_can_skip_the_input() -> None:
    # L=1, k=2, d=3, pads (3, 2): out = (1 + 5 - 4)/1 + 1 = 3 windows with taps at o-3 and o.
    # Window 0 reads cell 0 (tap 2 of 2); windows 1 and 2 straddle the single cell: both empty.
    with pytest.raises(ParameterError) as info:
        pool_geometry((1,), 2, 1, ((3, 2),), 3, func="max_pool")
    assert ("max_pool() window 1 along L lies wholly in the padding: it covers L positions -2..1 "
            "(step 3) but the input has positions 0..0") in str(info.value)
    # pads (2, 3): taps at o-2 and o+1, so window 0 (taps -2 and 1) already misses cell 0
    with pytest.raises(ParameterError, match=r"window 0 along L .* positions -2\.\.1 \(step 3\)"):
        pool_geometry((1,), 2, 1, ((2, 3),), 3, func="max_pool")
    # stride 3 skips the empty windows: the only window (taps -3 and 0) reads cell 0
    assert pool_geometry((1,), 2, 3, ((3, 0),), 3).output_size == (1,)


def test_unknown_padding_string() -> None:
    with pytest.raises(ParameterError, match=r"'padding' parameter of max_pool\(\).*Got 'FULL'"):
        pool_geometry((4, 4), 2, padding="FULL", func="max_pool")


@pytest.mark.parametrize("padding", [-1, (1, -1), (0, 0, 0), ((1, 2, 3), (0, 0)), 1.5, "", None])
def test_bad_padding_values(padding: object) -> None:
    with pytest.raises(ParameterError, match=r"The 'padding' parameter of max_pool\(\) must be"):
        pool_geometry((6, 6), 2, padding=padding, func="max_pool")


@pytest.mark.parametrize("name", ["kernel_size", "stride", "dilation"])
@pytest.mark.parametrize("value", [0, -1, (2, 0), (1, 2, 3), 2.0, True])
def test_window_parameters_below_one(name: str, value: object) -> None:
    args = {"kernel_size": 2, "stride": 1, "dilation": 1, name: value}
    with pytest.raises(ParameterError, match=rf"The '{name}' parameter of max_pool\(\) must be an"
                                             rf" int >= 1 or a tuple of 2 such ints"):
        pool_geometry((6, 6), args["kernel_size"], args["stride"], 0, args["dilation"],
                      func="max_pool")


def test_unknown_data_format() -> None:
    with pytest.raises(ParameterError, match=r"'data_format' parameter .* Got 'NCWH' instead"):
        pool_output_shape((1, 1, 4, 4), 2, data_format="NCWH")


# --------------------------------------------------------------------------- shape == actual shape


@given(pool_cases())
def test_shape_function_matches_actual_output(case: dict) -> None:
    x = np.zeros(case["shape"])
    kw = pool_kwargs(case)
    expected = pool_output_shape(case["shape"], **kw)
    assert F.max_pool(x, **kw).shape == expected
    assert F.avg_pool(x, **kw).shape == expected
    # the explanation ends with the same shape
    text = explain_output_shape(case["shape"], **kw)
    assert re.search(re.escape(f"= {expected}; channels kept"), text)
    assert _equations_hold(text) == len(case["shape"]) - 2
    # and channels last gives the transposed shape
    x_last = np.moveaxis(x, 1, -1)
    expected_last = pool_output_shape(x_last.shape, **kw, data_format="NHWC")
    assert expected_last == (expected[0], *expected[2:], expected[1])
    assert F.max_pool(x_last, **kw, data_format="NHWC").shape == expected_last


# pool_geometry memoises resolved geometries. The memo must never let a rejected value through
# because it hashes like an accepted one (2.0 == 2 == np.int64(2), True == 1 in Python).
@pytest.mark.parametrize(
    ("good", "bad", "message"),
    [
        ({"kernel_size": 2}, {"kernel_size": 2.0}, "kernel_size"),
        ({"kernel_size": 1}, {"kernel_size": True}, "kernel_size"),
        ({"kernel_size": (2, 2)}, {"kernel_size": (2, 2.0)}, "kernel_size"),
        ({"kernel_size": 2, "ceil_mode": True}, {"kernel_size": 2, "ceil_mode": 1}, "ceil_mode"),
        ({"kernel_size": 2, "stride": 1}, {"kernel_size": 2, "stride": 1.0}, "stride"),
        ({"kernel_size": 3, "padding": 1}, {"kernel_size": 3, "padding": 1.0}, "padding"),
    ],
)
def test_geometry_memo_still_rejects_lookalikes(good: dict, bad: dict, message: str) -> None:
    pool_geometry((8, 8), **good)
    pool_geometry((8, 8), **good)  # now served from the memo
    with pytest.raises(ParameterError, match=message):
        pool_geometry((8, 8), **bad)


def test_geometry_memo_gives_the_same_answer_as_a_fresh_resolution() -> None:
    # by hand (ceil_mode): H_out = ceil((9 + 1 + 0 - 3)/2) + 1 = 5, last window starts at
    # 4*2 = 8 < 9 + 1: kept; W_out = ceil((7 + 0 + 2 - 2)/2) + 1 = 5, but the last window starts at
    # 4*2 = 8 >= 7 + 0, inside the right padding: dropped, so 4
    first = pool_geometry((9, 7), (3, 2), 2, ((1, 0), (0, 2)), 1, True)
    again = pool_geometry((9, 7), (3, 2), 2, ((1, 0), (0, 2)), 1, True)
    assert again == first
    assert first.output_size == (5, 4)
    assert first.padding == ((1, 0), (0, 2))
    # an equal geometry from a differently spelled argument (list instead of tuple)
    assert pool_geometry((9, 7), [3, 2], 2, [[1, 0], [0, 2]], 1, True) == first
