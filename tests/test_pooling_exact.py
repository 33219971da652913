"""Pooling on hand-computed cases: the lesson's examples and the semantics in SEMANTICS.md."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from cnnblocks import functional as F
from cnnblocks.autograd import Context
from cnnblocks.functional.pooling import adaptive_bins
from cnnblocks.shapes import PoolGeometry

# --------------------------------------------------------------------------- the lesson


def test_two_by_two_region_becomes_one_pixel() -> None:
    region = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert_array_equal(F.max_pool(region, 2), [[[[4.0]]]])
    assert_array_equal(F.avg_pool(region, 2), [[[[2.5]]]])  # (1 + 2 + 3 + 4) / 4


def test_two_by_two_stride_two_halves_h_and_w_and_keeps_c() -> None:
    x = np.arange(2 * 3 * 8 * 6, dtype=np.float64).reshape(2, 3, 8, 6)
    y = F.max_pool(x, 2, 2)
    assert y.shape == (2, 3, 4, 3)
    # each output is the bottom-right cell of its 2x2 block (values increase along rows/cols)
    assert_array_equal(y, x[:, :, 1::2, 1::2])
    assert_array_equal(F.avg_pool(x, 2), (x[:, :, ::2, ::2] + x[:, :, 1::2, ::2]
                                          + x[:, :, ::2, 1::2] + x[:, :, 1::2, 1::2]) / 4)


def test_d2l_three_by_three() -> None:
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    assert_array_equal(F.max_pool(x, 2, 1)[0, 0], [[4, 5], [7, 8]])
    assert_array_equal(F.avg_pool(x, 2, 1)[0, 0], [[2, 3], [5, 6]])


def test_asymmetric_padding_by_hand() -> None:
    # H=3, W=4; padding (top, bottom, left, right) = (1, 0, 0, 1); k=2, S=2
    # H_out = (3 + 1 + 0 - 2)/2 + 1 = 2; W_out = (4 + 0 + 1 - 2)/2 + 1 = 2.5 -> 2
    x = np.array([[[[1.0, 2.0, 3.0, 4.0],
                    [5.0, 6.0, 7.0, 8.0],
                    [9.0, 10.0, 11.0, 12.0]]]])
    y, idx = F.max_pool(x, 2, 2, (1, 0, 0, 1), return_indices=True)
    # rows of window 0: [pad, row 0]; window 1: rows 1-2. columns 0-1 and 2-3.
    assert_array_equal(y[0, 0], [[2, 4], [10, 12]])
    assert_array_equal(idx[0, 0], [[1, 3], [9, 11]])
    avg = F.avg_pool(x, 2, 2, (1, 0, 0, 1))  # count_include_pad: divisor 4 everywhere
    assert_allclose(avg[0, 0], [[(1 + 2) / 4, (3 + 4) / 4], [(5 + 6 + 9 + 10) / 4,
                                                             (7 + 8 + 11 + 12) / 4]])
    avg = F.avg_pool(x, 2, 2, (1, 0, 0, 1), count_include_pad=False)
    assert_allclose(avg[0, 0], [[1.5, 3.5], [7.5, 9.5]])


def test_small_shift_barely_changes_max_pool() -> None:
    # translation invariance: a bright pixel moved by one cell inside a 2x2 block pools the same
    a = np.zeros((1, 1, 4, 4))
    b = np.zeros((1, 1, 4, 4))
    a[0, 0, 0, 0] = 1.0
    b[0, 0, 1, 1] = 1.0
    assert_array_equal(F.max_pool(a, 2), F.max_pool(b, 2))


# --------------------------------------------------------------------------- max: exact semantics


def test_ties_send_gradient_to_first_max() -> None:
    y, ctx = F.max_pool_forward(np.array([[[2.0, 2.0, 1.0, 2.0]]]), 4)
    assert_array_equal(y, [[[2.0]]])
    assert_array_equal(F.max_pool_backward(np.ones((1, 1, 1)), ctx), [[[1, 0, 0, 0]]])


def test_ties_in_two_dimensions_are_row_major() -> None:
    x = np.array([[[[0.0, 1.0], [1.0, 0.0]]]])
    _, idx = F.max_pool(x, 2, return_indices=True)
    assert idx[0, 0, 0, 0] == 1  # (0, 1) comes before (1, 0) in row-major order
    _, idx = F.adaptive_max_pool(x, 1, return_indices=True)
    assert idx[0, 0, 0, 0] == 1
    _, ctx = F.global_max_pool_forward(x)
    assert_array_equal(ctx.backward(np.ones((1, 1, 1, 1))), [[[[0, 1], [0, 0]]]])


def test_overlapping_windows_accumulate() -> None:
    y, ctx = F.max_pool_forward(np.array([[[1.0, 3.0, 2.0, 0.0]]]), 2, 1)
    assert_array_equal(y, [[[3.0, 3.0, 2.0]]])
    assert_array_equal(F.max_pool_backward(np.ones((1, 1, 3)), ctx), [[[0, 2, 1, 0]]])


def test_nan_propagates_with_pytorch_index() -> None:
    # PyTorch 2.13 (checked): value NaN, index of the LAST NaN in the window, gradient there
    x = np.array([[[1.0, np.nan, 3.0, np.nan, 2.0]]])
    y, idx = F.max_pool(x, 5, return_indices=True)
    assert np.isnan(y[0, 0, 0])
    assert idx[0, 0, 0] == 3
    _, ctx = F.max_pool_forward(x, 5)
    assert_array_equal(ctx.backward(np.ones((1, 1, 1))), [[[0, 0, 0, 1, 0]]])
    # windows without NaN are unaffected; padding never hides a NaN
    y = F.max_pool(np.array([[[np.nan, 1.0, 2.0, 3.0]]]), 2, 2, 1)
    assert np.isnan(y[0, 0, 0])
    assert_array_equal(y[0, 0, 1:], [2.0, 3.0])
    assert np.isnan(F.avg_pool(x, 2)[0, 0, 0])
    assert np.isnan(F.global_max_pool(x)[0, 0, 0])
    assert F.global_max_pool_forward(x)[1].saved["indices"][0, 0, 0] == 3
    assert np.isnan(F.adaptive_max_pool(x, 1)[0, 0, 0])


def test_all_negative_input_with_padding_stays_negative() -> None:
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # -1 .. -9
    y = F.max_pool(x, 2, 2, 1)  # padding on every side: zero padding would give 0s
    assert_array_equal(y[0, 0], [[-1, -2], [-4, -5]])
    y = F.max_pool(x, 3, 1, "SAME")
    assert (y < 0).all()
    assert F.max_pool(x, 3, 1, 1).max() == -1


def test_all_minus_inf_window_returns_first_real_cell() -> None:
    x = np.full((1, 1, 3), -np.inf)
    y, idx = F.max_pool(x, 2, 2, 1, return_indices=True)
    assert_array_equal(y, [[[-np.inf, -np.inf]]])
    assert_array_equal(idx, [[[0, 1]]])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.int64])
def test_integer_max_pool(dtype: type) -> None:
    info = np.iinfo(dtype)
    x = np.array([[[[info.min, 3], [5, info.min]]]], dtype=dtype)
    y, idx = F.max_pool(x, 2, 1, 1, return_indices=True)
    assert y.dtype == dtype
    assert idx.dtype == np.int64
    assert_array_equal(y[0, 0], [[info.min, 3, 3], [5, 5, 3], [5, 5, info.min]])
    # padding is ignored, not 0: an all-minimum window returns the minimum at a real cell
    assert idx[0, 0, 0, 0] == 0
    assert idx[0, 0, 2, 2] == 3
    assert F.global_max_pool(x).dtype == dtype
    assert F.adaptive_max_pool(x, 1)[0, 0, 0, 0] == 5


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtypes_preserved(dtype: type) -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(dtype)
    assert F.max_pool(x, 2).dtype == dtype
    assert F.avg_pool(x, 2).dtype == dtype
    assert F.lp_pool(x, 2, 2).dtype == dtype
    assert F.global_avg_pool(x).dtype == dtype
    assert F.global_lp_pool(x).dtype == dtype
    assert F.adaptive_avg_pool(x, 3).dtype == dtype
    assert F.adaptive_max_pool(x, 3).dtype == dtype
    y, ctx = F.avg_pool_forward(x, 2)
    assert ctx.backward(np.ones_like(y)).dtype == dtype


def test_float16_average_is_summed_in_float32() -> None:
    # 60000 + 60000 overflows float16 (max 65504); the mean 60000 does not
    x = np.full((1, 1, 2), 60000, dtype=np.float16)
    assert_array_equal(F.avg_pool(x, 2), np.full((1, 1, 1), 60000, dtype=np.float16))
    assert_array_equal(F.global_avg_pool(x), np.full((1, 1, 1), 60000, dtype=np.float16))
    assert_array_equal(F.adaptive_avg_pool(x, 1), np.full((1, 1, 1), 60000, dtype=np.float16))


# --------------------------------------------------------------------------- average divisors


def test_count_include_pad_ones_six() -> None:
    # windows [-1,2) [1,4) [3,6) [5,8): the last one clipped to [-1, 7) has 2 taps, 1 real cell
    y = F.avg_pool(np.ones((1, 1, 6)), 3, 2, 1, ceil_mode=True, count_include_pad=True)
    assert_allclose(y, [[[2 / 3, 1, 1, 0.5]]])
    y = F.avg_pool(np.ones((1, 1, 6)), 3, 2, 1, ceil_mode=True, count_include_pad=False)
    assert_allclose(y, [[[1, 1, 1, 1]]])


def test_ceil_overhang_divisor_arange_49() -> None:
    x = np.arange(49.0).reshape(1, 1, 7, 7)
    y = F.avg_pool(x, 2, 3, ceil_mode=True)
    # last column: cells (0,6),(1,6) -> 19/2; (3,6),(4,6) -> 61/2; (6,6) alone -> 48
    assert_allclose(y[0, 0, :, -1], [9.5, 30.5, 48.0])
    assert_allclose(y[0, 0, 0, 0], (0 + 1 + 7 + 8) / 4)


def test_divisor_override_and_dilation() -> None:
    x = np.arange(1.0, 7.0).reshape(1, 1, 6)
    assert_allclose(F.avg_pool(x, 3, 3, divisor_override=1), [[[6.0, 15.0]]])
    # dilation 2, k=2, padding 1: window 0 taps at -1 (pad) and 1; count_include_pad counts both
    y = F.avg_pool(x, 2, 2, 1, dilation=2)
    assert_allclose(y, [[[2 / 2, (2 + 4) / 2, (4 + 6) / 2]]])
    y = F.avg_pool(x, 2, 2, 1, dilation=2, count_include_pad=False)
    assert_allclose(y, [[[2.0, 3.0, 5.0]]])


def test_avg_pool_backward_by_hand() -> None:
    _, ctx = F.avg_pool_forward(np.ones((1, 1, 6)), 3, 2, 1, ceil_mode=True)
    g = F.avg_pool_backward(np.array([[[3.0, 3.0, 3.0, 2.0]]]), ctx)
    # window divisors 3, 3, 3, 2; cells 0..5 are covered by windows {0}, {0,1}, {1}, {1,2}, ...
    assert_allclose(g, [[[1.0, 2.0, 1.0, 2.0, 1.0, 2.0]]])


# --------------------------------------------------------------------------- lp, global, adaptive


def test_lp_pool_by_hand() -> None:
    x = np.array([[[3.0, -4.0, 0.0, 12.0]]])
    assert_allclose(F.lp_pool(x, 2, 2), [[[5.0, 12.0]]])
    assert_allclose(F.lp_pool(x, 1, 2), [[[7.0, 12.0]]])  # |x| summed: ONNX, not PyTorch's -1
    assert_allclose(F.lp_pool(x, 2, 2, 2, 1), [[[3.0, 4.0, 12.0]]])  # padding adds 0
    _, ctx = F.lp_pool_forward(x, 2, 2)
    # d/dx sqrt(x1^2 + x2^2) = x / norm
    assert_allclose(ctx.backward(np.ones((1, 1, 2))), [[[0.6, -0.8, 0.0, 1.0]]])


def test_lp_gradient_is_zero_where_norm_is_zero() -> None:
    for p in (1.0, 2.0, 3.0):
        _, ctx = F.lp_pool_forward(np.zeros((1, 1, 4)), p, 2)
        assert_array_equal(ctx.backward(np.ones((1, 1, 2))), np.zeros((1, 1, 4)))
        _, ctx = F.global_lp_pool_forward(np.zeros((1, 1, 4)), p)
        assert_array_equal(ctx.backward(np.ones((1, 1, 1))), np.zeros((1, 1, 4)))


def test_global_pools_by_hand() -> None:
    x = np.array([[[[1.0, 3.0], [2.0, -6.0]]], [[[0.0, 0.0], [4.0, 0.0]]]])
    assert_array_equal(F.global_max_pool(x), [[[[3.0]]], [[[4.0]]]])
    assert_allclose(F.global_avg_pool(x), [[[[0.0]]], [[[1.0]]]])
    assert_allclose(F.global_lp_pool(x, 2), [[[[np.sqrt(50.0)]]], [[[4.0]]]])
    _, ctx = F.global_max_pool_forward(x)
    assert_array_equal(ctx.backward(np.array([[[[5.0]]], [[[7.0]]]])),
                       [[[[0, 5], [0, 0]]], [[[0, 0], [7, 0]]]])
    _, ctx = F.global_avg_pool_forward(x)
    assert_allclose(ctx.backward(np.full((2, 1, 1, 1), 4.0)), np.ones_like(x))
    x_last = np.moveaxis(x, 1, -1)
    assert F.global_avg_pool(x_last, data_format="NHWC").shape == (2, 1, 1, 1)
    assert F.global_max_pool(np.zeros((2, 3, 4, 5, 6))).shape == (2, 3, 1, 1, 1)


def test_adaptive_bins_ten_to_four() -> None:
    starts, ends = adaptive_bins(10, 4)
    assert_array_equal(starts, [0, 2, 5, 7])
    assert_array_equal(ends, [3, 5, 8, 10])
    y = F.adaptive_avg_pool(np.arange(10.0).reshape(1, 1, 10), 4)
    assert_allclose(y, [[[1.0, 3.0, 6.0, 8.0]]])  # means of 0..2, 2..4, 5..7, 7..9


def test_adaptive_three_to_five_repeats() -> None:
    y = F.adaptive_avg_pool(np.array([[[1.0, 2.0, 3.0]]]), 5)
    assert_allclose(y, [[[1.0, 1.5, 2.0, 2.5, 3.0]]])
    y, idx = F.adaptive_max_pool(np.array([[[1.0, 2.0, 3.0]]]), 5, return_indices=True)
    assert_array_equal(y, [[[1, 2, 2, 3, 3]]])
    assert_array_equal(idx, [[[0, 1, 1, 2, 2]]])
    _, ctx = F.adaptive_max_pool_forward(np.array([[[1.0, 2.0, 3.0]]]), 5)
    assert_array_equal(ctx.backward(np.ones((1, 1, 5))), [[[1, 2, 2]]])  # bins overlap: add


def test_adaptive_two_to_five_cells_shared_by_three_bins() -> None:
    # bins [i*2//5, ceil((i+1)*2/5)): [0,1) [0,1) [0,2) [1,2) [1,2); sizes 1, 1, 2, 1, 1
    x = np.array([[[1.0, 2.0]]])
    y, ctx = F.adaptive_avg_pool_forward(x, 5)
    assert_allclose(y, [[[1.0, 1.0, 1.5, 2.0, 2.0]]])
    # each cell gets 1 + 1 + 1/2 from the three bins covering it
    assert_allclose(ctx.backward(np.ones((1, 1, 5))), [[[2.5, 2.5]]])
    assert_allclose(ctx.backward(np.array([[[1.0, 2.0, 4.0, 8.0, 16.0]]])),
                    [[[1 + 2 + 2, 2 + 8 + 16]]])
    y, ctx = F.adaptive_max_pool_forward(x, 5)
    assert_array_equal(y, [[[1, 1, 2, 2, 2]]])
    assert_array_equal(ctx.backward(np.ones((1, 1, 5))), [[[2, 3]]])


def test_adaptive_bins_of_unequal_size_2d() -> None:
    # 5 -> 3 along H: bins [0,2) [1,4) [3,5) (sizes 2, 3, 2); 4 -> 2 along W: [0,2) [2,4)
    x = np.arange(20.0).reshape(1, 1, 5, 4)
    rows = [(0, 2), (1, 4), (3, 5)]
    cols = [(0, 2), (2, 4)]
    expected = [[x[0, 0, a:b, c:d].mean() for c, d in cols] for a, b in rows]
    assert_allclose(F.adaptive_avg_pool(x, (3, 2))[0, 0], expected)
    y, idx = F.adaptive_max_pool(-x, (3, 2), return_indices=True)  # max of -x: the first cell
    assert_array_equal(idx[0, 0], [[0, 2], [4, 6], [12, 14]])
    assert_array_equal(y[0, 0], -np.array([[0, 2], [4, 6], [12, 14]], dtype=float))


def test_adaptive_max_nan_in_unequal_bins_is_the_last_nan() -> None:
    # 5 -> 3: bins [0,2) [1,4) [3,5) (sizes 2, 3, 2); PyTorch's index is the bin's last NaN
    x = np.array([[[1.0, np.nan, 3.0, np.nan, 5.0]]])
    y, idx = F.adaptive_max_pool(x, 3, return_indices=True)
    assert np.isnan(y).all()
    assert_array_equal(idx, [[[1, 3, 3]]])
    y, idx = F.adaptive_max_pool(x[..., [0, 2, 4, 2, 0]], 3, return_indices=True)  # no NaN
    assert_array_equal(y, [[[3.0, 5.0, 3.0]]])  # bins {1, 3}, {3, 5, 3}, {3, 1}
    assert_array_equal(idx, [[[1, 2, 3]]])  # first maximum of each bin


def test_adaptive_pooling_has_no_loop_over_positions() -> None:
    # The speed rule: Python-level work grows with the taps of a bin (about L/O + 1), not with
    # the number of output positions. Count the Python and C calls made from cnnblocks.functional
    # for 40 -> 20 cells and for 4000 -> 2000 cells (two taps per bin in both): a loop over bins
    # would differ 100-fold. (The engine behind it may pick paths by size; it is not counted.)
    def calls(length: int, out: int) -> int:
        count = 0

        def profile(frame: Any, event: str, arg: object) -> None:
            nonlocal count
            name = str(frame.f_globals.get("__name__"))
            if event in ("call", "c_call") and name.startswith(package):
                count += 1

        x = np.random.default_rng(0).standard_normal((1, 2, length))
        sys.setprofile(profile)
        try:
            y, ctx = F.adaptive_avg_pool_forward(x, out)
            ctx.backward(np.ones_like(y))
            y, ctx = F.adaptive_max_pool_forward(x, out)
            ctx.backward(np.ones_like(y))
        finally:
            sys.setprofile(None)
        return count

    package = F.__name__ + "."  # the pooling facade and its private modules
    calls(40, 20)  # warm-up: first calls import and cache
    assert calls(40, 20) == calls(4000, 2000) == calls(400, 200) > 20


def test_adaptive_none_keeps_size() -> None:
    x = np.random.default_rng(0).standard_normal((1, 2, 6, 5))
    y = F.adaptive_avg_pool(x, (3, None))
    assert y.shape == (1, 2, 3, 5)
    assert_allclose(y, (x[:, :, 0::2] + x[:, :, 1::2]) / 2)


# --------------------------------------------------------------------------- unpooling


def test_max_unpool_puts_values_back() -> None:
    x = np.array([[[[1.0, 5.0, 2.0, 0.0],
                    [3.0, 4.0, 8.0, 7.0],
                    [0.0, 0.0, 1.0, 1.0],
                    [9.0, 0.0, 0.0, 6.0]]]])
    y, idx = F.max_pool(x, 2, return_indices=True)
    assert_array_equal(idx[0, 0], [[1, 6], [12, 15]])
    out = F.max_unpool(y, idx, 2)
    expected = np.zeros_like(x)
    expected[0, 0, 0, 1], expected[0, 0, 1, 2], expected[0, 0, 3, 0], expected[0, 0, 3, 3] = (
        5, 8, 9, 6)
    assert_array_equal(out, expected)
    # default size (in - 1)*S - p1 - p2 + k = (2 - 1)*2 - 0 - 0 + 2 = 4; odd sizes need output_size
    assert F.max_unpool(y, idx, 2, output_size=(5, 5)).shape == (1, 1, 5, 5)
    assert F.max_unpool(y, idx, 2, output_size=(1, 1, 5, 4)).shape == (1, 1, 5, 4)
    _, ctx = F.max_unpool_forward(y, idx, 2)
    grad = np.arange(16.0).reshape(1, 1, 4, 4)
    assert_array_equal(ctx.backward(grad), [[[[1, 6], [12, 15]]]])  # gathered at the indices


def test_max_unpool_duplicate_indices() -> None:
    # overlapping windows can share a maximum: both copies land on one cell (same value), and
    # the backward gathers the cell's gradient for each source, as PyTorch does
    x = np.array([[[1.0, 3.0, 2.0]]])
    y, idx = F.max_pool(x, 2, 1, return_indices=True)
    assert_array_equal(idx, [[[1, 1]]])
    out, ctx = F.max_unpool_forward(y, idx, 2, 1)
    assert_array_equal(out, [[[0.0, 3.0, 0.0]]])
    assert_array_equal(ctx.backward(np.array([[[0.0, 5.0, 0.0]]])), [[[5.0, 5.0]]])


def test_max_unpool_default_size_with_padding() -> None:
    y = np.ones((1, 1, 3))
    # (3 - 1)*2 - 1 - 0 + 3 = 6
    assert F.max_unpool(y, np.array([[[0, 2, 4]]]), 3, 2, (1, 0)).shape == (1, 1, 6)


# --------------------------------------------------------------------------- the backward mechanism


def test_generic_backward_and_context_contents() -> None:
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5))
    y, ctx = F.max_pool_forward(x, 3, 2, 1)
    assert isinstance(ctx, Context)
    assert ctx.op == "max_pool"
    assert {"indices", "input_shape", "geometry", "channels_last"} <= set(ctx.saved)
    assert isinstance(ctx.saved["geometry"], PoolGeometry)
    assert ctx.saved["indices"].dtype == np.int64
    g = np.ones_like(y)
    assert_array_equal(F.backward(g, ctx), F.max_pool_backward(g, ctx))
    assert_array_equal(F.backward(g, ctx), ctx.backward(g))
    # backward does not accumulate across calls
    assert_array_equal(ctx.backward(g), ctx.backward(g))
