"""Unit tests of :func:`cnnblocks.onnx.run_node`: ONNX defaults, layouts, padding forms, errors.

Expected values are computed by hand in the comments (or with ``math``), or come from
``onnx.reference.ReferenceEvaluator`` on random tie-free inputs.
"""

from __future__ import annotations

import math
import re
import warnings

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from cnnblocks.errors import ParameterError
from cnnblocks.onnx import SUPPORTED_OPS, run_node


def _one(
    op_type: str, inputs: list[np.ndarray | None], attributes: dict[str, object] | None = None
) -> np.ndarray:
    (y,) = run_node(op_type, inputs, attributes)
    return y


# --- MaxPool indices --------------------------------------------------------------------------


def _planes_1_to_25(n: int, c: int) -> np.ndarray:
    # Plane (n, c) holds 1..25 row-major, shifted by 100*(n*C + c) so each plane differs.
    base = np.arange(1, 26, dtype=np.float32).reshape(5, 5)
    shift = 100 * np.arange(n * c, dtype=np.float32).reshape(n, c, 1, 1)
    return base + shift


@pytest.mark.parametrize(
    ("storage_order", "plane_indices"),
    [
        # Maxima 7, 9, 17, 19 sit at (row, col) (1,1), (1,3), (3,1), (3,3) of the 5x5 plane:
        # row-major offsets r*5 + c = 6, 8, 16, 18; column-major c*5 + r = 6, 16, 8, 18.
        (0, [[6, 8], [16, 18]]),
        (1, [[6, 16], [8, 18]]),
    ],
)
def test_max_pool_indices_are_whole_tensor_and_honour_storage_order(
    storage_order: int, plane_indices: list[list[int]]
) -> None:
    n, c = 2, 3
    x = _planes_1_to_25(n, c)
    y, indices = run_node(
        "MaxPool",
        [x],
        {"kernel_shape": [2, 2], "strides": [2, 2], "storage_order": storage_order},
        num_outputs=2,
    )
    assert indices.dtype == np.int64
    for plane in range(n * c):
        i, j = divmod(plane, c)
        np.testing.assert_array_equal(y[i, j], np.array([[7, 9], [17, 19]]) + 100 * plane)
        # ONNX flattens the whole N x C x H x W tensor: plane (n, c) starts at (n*C + c)*25.
        np.testing.assert_array_equal(indices[i, j], np.array(plane_indices) + 25 * plane)


def test_max_pool_indices_ignore_padding_and_count_3d_column_major() -> None:
    # One 2x3x4 plane with its maximum at (d, h, w) = (1, 2, 3); a kernel covering everything.
    x = np.zeros((1, 1, 2, 3, 4), dtype=np.float64)
    x[0, 0, 1, 2, 3] = 5.0
    attrs = {"kernel_shape": [2, 3, 4], "pads": [1, 1, 1, 0, 0, 0]}
    _, row_major = run_node("MaxPool", [x], {**attrs, "storage_order": 0}, num_outputs=2)
    _, col_major = run_node("MaxPool", [x], {**attrs, "storage_order": 1}, num_outputs=2)
    # Output (2, 2, 2); the window at output (1, 1, 1) covers the maximum.
    assert row_major[0, 0, 1, 1, 1] == 1 * 12 + 2 * 4 + 3  # d*H*W + h*W + w = 23
    assert col_major[0, 0, 1, 1, 1] == 1 + 2 * 2 + 3 * 2 * 3  # d + h*D + w*D*H = 23
    x[0, 0, 1, 2, 3], x[0, 0, 0, 1, 2] = 0.0, 5.0  # now at (0, 1, 2)
    _, row_major = run_node("MaxPool", [x], {**attrs, "storage_order": 0}, num_outputs=2)
    _, col_major = run_node("MaxPool", [x], {**attrs, "storage_order": 1}, num_outputs=2)
    assert row_major[0, 0, 1, 1, 1] == 0 * 12 + 1 * 4 + 2  # 6
    assert col_major[0, 0, 1, 1, 1] == 0 + 1 * 2 + 2 * 6  # 14


def test_max_pool_integer_input_keeps_dtype() -> None:
    x = np.array([[[[200, 3], [7, 250]]]], dtype=np.uint8)
    y = _one("MaxPool", [x], {"kernel_shape": [2, 2], "pads": [1, 1, 0, 0]})
    # Windows over rows -1..0 / 0..1 and cols -1..0 / 0..1; padding never wins, even over 3.
    assert y.dtype == np.uint8
    np.testing.assert_array_equal(y[0, 0], [[200, 200], [200, 250]])


# --- pads, auto_pad, ceil_mode ----------------------------------------------------------------

SQUARE = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])


def test_pads_are_all_begins_then_all_ends() -> None:
    # ONNX [h_begin, w_begin, h_end, w_end] = [0, 1, 0, 0]: one column of padding on the left.
    # Read as (top, bottom, left, right) it would add a row at the bottom instead.
    attrs = {"kernel_shape": [2, 2], "pads": [0, 1, 0, 0]}
    y = _one("MaxPool", [SQUARE], attrs)
    assert y.shape == (1, 1, 1, 2)
    np.testing.assert_array_equal(y[0, 0], [[3.0, 4.0]])  # max(1, 3), max(1, 2, 3, 4)
    # AveragePool: count_include_pad defaults to 0, so the first window averages 1 and 3.
    np.testing.assert_allclose(_one("AveragePool", [SQUARE], attrs)[0, 0], [[2.0, 2.5]])
    counted = _one("AveragePool", [SQUARE], {**attrs, "count_include_pad": 1})
    np.testing.assert_allclose(counted[0, 0], [[1.0, 2.5]])  # (1 + 3) / 4


def test_pads_3d_axis_pairs() -> None:
    x = np.ones((1, 1, 3, 4, 5))
    # [1, 2, 3, 1, 0, 2] -> D (1, 1), H (2, 0), W (3, 2).
    y = _one("AveragePool", [x], {"kernel_shape": [2, 3, 4], "pads": [1, 2, 3, 1, 0, 2]})
    # D: 3 + 2 - 2 + 1 = 4; H: 4 + 2 - 3 + 1 = 4; W: 5 + 5 - 4 + 1 = 7.
    assert y.shape == (1, 1, 4, 4, 7)
    np.testing.assert_allclose(y, 1.0)  # padding excluded from the average


RAMP = np.arange(1.0, 6.0).reshape(1, 1, 5)  # [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        # SAME: L_out = ceil(5 / 2) = 3, total padding (3-1)*2 + 2 - 5 = 1.
        ({"auto_pad": "SAME_UPPER"}, [2, 4, 5]),  # pad after: windows [0,1] [2,3] [4,5)
        ({"auto_pad": b"SAME_UPPER"}, [2, 4, 5]),  # bytes, as the protobuf gives them
        ({"auto_pad": "SAME_LOWER"}, [1, 3, 5]),  # pad before: windows [-1,0] [1,2] [3,4]
        ({"auto_pad": "VALID"}, [2, 4]),
        # VALID ignores ceil_mode: ceil((5 - 2 + 1) / 2) = 2 = floor((5 - 2) / 2) + 1.
        ({"auto_pad": "VALID", "ceil_mode": 1}, [2, 4]),
        # Explicit zero pads with ceil_mode keep the overhanging last window [4, 5].
        ({"pads": [0, 0], "ceil_mode": 1}, [2, 4, 5]),
        ({"auto_pad": "NOTSET", "pads": [1, 0]}, [1, 3, 5]),
    ],
)
def test_auto_pad_and_ceil_mode(attrs: dict[str, object], expected: list[float]) -> None:
    y = _one("MaxPool", [RAMP], {"kernel_shape": [2], "strides": [2], **attrs})
    np.testing.assert_array_equal(y[0, 0], expected)


def test_same_upper_average_excludes_the_padding() -> None:
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    # k=2, s=1 (ONNX's default stride): SAME pads (0, 1) or (1, 0).
    upper = _one("AveragePool", [x], {"kernel_shape": [2], "auto_pad": "SAME_UPPER"})
    lower = _one("AveragePool", [x], {"kernel_shape": [2], "auto_pad": "SAME_LOWER"})
    np.testing.assert_allclose(upper[0, 0], [1.5, 2.5, 3.5, 4.0])
    np.testing.assert_allclose(lower[0, 0], [1.0, 1.5, 2.5, 3.5])


def test_strides_default_to_one() -> None:
    y = _one("MaxPool", [RAMP], {"kernel_shape": [2]})
    np.testing.assert_array_equal(y[0, 0], [2, 3, 4, 5])


def test_lp_pool_default_p_is_2_and_uses_absolute_values() -> None:
    x = np.array([[[3.0, -4.0, 0.0, -1.0]]])
    y = _one("LpPool", [x], {"kernel_shape": [2], "strides": [2]})
    np.testing.assert_allclose(y, [[[5.0, 1.0]]])
    y = _one("LpPool", [x], {"kernel_shape": [2], "strides": [2], "p": 1})
    np.testing.assert_allclose(y, [[[7.0, 1.0]]])


def test_global_pools() -> None:
    x = np.array([[[3.0, -4.0]], [[1.0, 2.0]]]).reshape(1, 2, 2)  # N=1, C=2, L=2
    np.testing.assert_allclose(_one("GlobalMaxPool", [x]), [[[3.0], [2.0]]])
    np.testing.assert_allclose(_one("GlobalAveragePool", [x]), [[[-0.5], [1.5]]])
    # GlobalLpPool has no ONNX node test: sqrt(9 + 16) = 5, sqrt(1 + 4); p=1: 3 + 4 = 7, 1 + 2.
    np.testing.assert_allclose(_one("GlobalLpPool", [x]), [[[5.0], [math.sqrt(5.0)]]])
    np.testing.assert_allclose(_one("GlobalLpPool", [x], {"p": 1}), [[[7.0], [3.0]]])
    assert _one("GlobalMaxPool", [np.ones((2, 3, 4, 5, 6))]).shape == (2, 3, 1, 1, 1)


def test_global_pools_take_any_number_of_spatial_axes() -> None:
    # ONNX defines the global pools for any rank; regression: 4 spatial axes used to be refused
    # with a message about global_max_pool(). Planes of 2*2*2*2 = 16 cells: channel 0 holds
    # 0..15, channel 1 holds 16..31 shifted by -100, i.e. -84..-69.
    x = np.arange(2 * 16, dtype=np.float64).reshape(1, 2, 2, 2, 2, 2)
    x[0, 1] -= 100
    np.testing.assert_allclose(_one("GlobalMaxPool", [x]).ravel(), [15.0, -69.0])
    np.testing.assert_allclose(_one("GlobalAveragePool", [x]).ravel(), [7.5, -76.5])
    np.testing.assert_allclose(_one("GlobalLpPool", [x], {"p": 1}).ravel(),
                               [120.0, sum(range(69, 85))])
    assert _one("GlobalAveragePool", [x]).shape == (1, 2, 1, 1, 1, 1)


@pytest.mark.parametrize("op_type", ["GlobalMaxPool", "GlobalAveragePool", "GlobalLpPool"])
@pytest.mark.parametrize("shape", [(2, 3), (1, 2, 3, 0)])
def test_global_pools_reject_rank_below_three_and_empty_planes(
    op_type: str, shape: tuple[int, ...]
) -> None:
    with pytest.raises(ParameterError) as info:
        run_node(op_type, [np.ones(shape)], {})
    assert (f"The '{op_type}.X' parameter of run_node() must be an array of rank >= 3 "
            f"(N, C, spatial...) with every spatial size >= 1. Got an array of shape {shape}"
            ) in str(info.value)


# --- MaxUnpool --------------------------------------------------------------------------------


def _tie_free(shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.permutation(math.prod(shape)).reshape(shape).astype(np.float64)


def test_max_unpool_inverts_max_pool_with_whole_tensor_indices() -> None:
    x = _tie_free((2, 3, 4, 4), 0)
    attrs = {"kernel_shape": [2, 2], "strides": [2, 2]}
    y, indices = run_node("MaxPool", [x], attrs, num_outputs=2)
    assert indices.min() >= 0
    assert indices.max() < x.size
    unpooled = _one("MaxUnpool", [y, indices], attrs)
    # Independent expectation: in each 2x2 block keep the block's maximum, zero the rest.
    blocks = x.reshape(2, 3, 2, 2, 2, 2)
    is_max = blocks == blocks.max(axis=(3, 5), keepdims=True)
    np.testing.assert_array_equal(unpooled, np.where(is_max, blocks, 0.0).reshape(x.shape))
    # output_shape adds zeros after the end of each spatial axis (ONNX's reference and test).
    padded = _one("MaxUnpool", [y, indices, np.array([2, 3, 5, 6])], attrs)
    assert padded.shape == (2, 3, 5, 6)
    np.testing.assert_array_equal(padded[:, :, :4, :4], unpooled)
    assert not padded[:, :, 4:, :].any()
    assert not padded[:, :, :, 4:].any()


def test_max_unpool_default_stride_is_one_and_pads_shrink() -> None:
    y = np.array([[[5.0, 7.0]]])
    # Inferred length (2 - 1)*1 - (0 + 1) + 3 = 3; indices are whole-tensor offsets 0 and 2.
    out = _one("MaxUnpool", [y, np.array([[[0, 2]]])], {"kernel_shape": [3], "pads": [0, 1]})
    np.testing.assert_array_equal(out, [[[5.0, 0.0, 7.0]]])


def test_max_unpool_rejects_indices_outside_their_plane() -> None:
    y = np.ones((1, 2, 1, 1))
    # Plane (0, 1) owns whole-tensor indices 4..7 of the inferred 1x2x2x2 output; 3 is plane 0's.
    message = "The 'MaxUnpool.I' parameter of run_node()"
    with pytest.raises(ParameterError, match=re.escape(message)):
        run_node("MaxUnpool", [y, np.array([[[[0]], [[3]]]])], {"kernel_shape": [2, 2]})


# --- activations: ONNX attribute names and defaults -------------------------------------------


def test_hard_sigmoid_defaults_are_onnx_not_pytorch() -> None:
    x = np.array([-3.0, 0.0, 1.0, 2.5, 3.0])
    # ONNX: max(0, min(1, 0.2 x + 0.5)); PyTorch's x/6 + 1/2 would give 2/3 at x = 1.
    np.testing.assert_allclose(_one("HardSigmoid", [x]), [0.0, 0.5, 0.7, 1.0, 1.0])
    y = _one("HardSigmoid", [x], {"alpha": 0.5, "beta": 0.25})
    np.testing.assert_allclose(y, [0.0, 0.25, 0.75, 1.0, 1.0])


def test_leaky_relu_elu_celu_thresholded_relu_defaults() -> None:
    x = np.array([-2.0, -1.0, 0.5, 1.0, 1.5])
    np.testing.assert_allclose(_one("LeakyRelu", [x]), [-0.02, -0.01, 0.5, 1.0, 1.5])
    np.testing.assert_allclose(_one("LeakyRelu", [x], {"alpha": 0.5}), [-1.0, -0.5, 0.5, 1.0, 1.5])
    em1, em2 = math.exp(-1) - 1, math.exp(-2) - 1
    np.testing.assert_allclose(_one("Elu", [x]), [em2, em1, 0.5, 1.0, 1.5])
    np.testing.assert_allclose(_one("Elu", [x], {"alpha": 2.0}), [2 * em2, 2 * em1, 0.5, 1.0, 1.5])
    np.testing.assert_allclose(_one("Celu", [x]), [em2, em1, 0.5, 1.0, 1.5])
    # celu(x, 2) = 2 (e^(x/2) - 1) below 0.
    half = [2 * (math.exp(-1) - 1), 2 * (math.exp(-0.5) - 1), 0.5, 1.0, 1.5]
    np.testing.assert_allclose(_one("Celu", [x], {"alpha": 2.0}), half)
    # ThresholdedRelu's threshold is ONNX's "alpha", default 1, strict.
    np.testing.assert_allclose(_one("ThresholdedRelu", [x]), [0.0, 0.0, 0.0, 0.0, 1.5])
    np.testing.assert_allclose(_one("ThresholdedRelu", [x], {"alpha": 0.5}), [0, 0, 0, 1.0, 1.5])


def test_selu_attributes() -> None:
    x = np.array([-1.0, 2.0])
    alpha, gamma = 1.6732632423543772, 1.0507009873554805
    np.testing.assert_allclose(_one("Selu", [x]), [gamma * alpha * (math.exp(-1) - 1), 2 * gamma])
    y = _one("Selu", [x], {"alpha": 2.0, "gamma": 3.0})
    np.testing.assert_allclose(y, [3 * 2 * (math.exp(-1) - 1), 6.0])
    y = _one("Selu", [x], {"gamma": 3.0})  # alpha keeps ONNX's default
    np.testing.assert_allclose(y, [3 * alpha * (math.exp(-1) - 1), 6.0], rtol=1e-7)


def test_smooth_activations_by_hand() -> None:
    one = np.array([1.0])
    sqrt_2_over_pi = math.sqrt(2 / math.pi)
    exact = 0.5 * (1 + math.erf(1 / math.sqrt(2)))
    approx = 0.5 * (1 + math.tanh(sqrt_2_over_pi * (1 + 0.044715)))
    np.testing.assert_allclose(_one("Gelu", [one]), [exact])
    np.testing.assert_allclose(_one("Gelu", [one], {"approximate": b"tanh"}), [approx])
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    np.testing.assert_allclose(_one("Swish", [one]), [sig(1.0)])
    np.testing.assert_allclose(_one("Swish", [one], {"alpha": 2.0}), [sig(2.0)])
    np.testing.assert_allclose(_one("Sigmoid", [one]), [sig(1.0)])
    np.testing.assert_allclose(_one("Mish", [one]), [math.tanh(math.log1p(math.e))])
    np.testing.assert_allclose(_one("Tanh", [one]), [math.tanh(1.0)])
    np.testing.assert_allclose(_one("Softsign", [np.array([-1.0, 3.0])]), [-0.5, 0.75])
    hardswish = _one("HardSwish", [np.array([-3.0, 0.0, 1.0, 3.0])])
    np.testing.assert_allclose(hardswish, [0, 0, 2 / 3, 3])
    np.testing.assert_array_equal(_one("Relu", [np.array([-1.0, 0.0, 2.0])]), [0.0, 0.0, 2.0])


def test_softplus_is_plain_log1p_exp_without_a_threshold() -> None:
    x = np.array([0.0, 30.0, 1000.0, -1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = _one("Softplus", [x])
    # ln(1 + e^30) = 30 + ln(1 + e^-30) = 30 + 9.357623e-14: no cut-over to x at 20.
    np.testing.assert_allclose(y, [math.log(2), 30 + math.log1p(math.exp(-30)), 1000.0, 0.0],
                               rtol=1e-15, atol=0)


def test_softmax_axis_default_is_last() -> None:
    x = np.array([[0.0, math.log(3.0)], [0.0, 0.0]])
    np.testing.assert_allclose(_one("Softmax", [x]), [[0.25, 0.75], [0.5, 0.5]])
    np.testing.assert_allclose(_one("LogSoftmax", [x]), np.log([[0.25, 0.75], [0.5, 0.5]]))
    # axis=0: columns normalised: [e^0, e^0] -> 0.5 each; [3, 1] -> 0.75, 0.25.
    np.testing.assert_allclose(_one("Softmax", [x], {"axis": 0}), [[0.5, 0.75], [0.5, 0.25]])


def test_prelu_unidirectional_broadcasting() -> None:
    x = np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0]])
    # Slope aligned at the last axis (ONNX/NumPy), not per channel on axis 1 (PyTorch).
    y = _one("PRelu", [x, np.array([0.1, 0.2, 0.3])])
    np.testing.assert_allclose(y, [[-0.1, 2.0, -0.9], [4.0, -1.0, 6.0]])
    y = _one("PRelu", [x, np.array([[0.5], [2.0]])])
    np.testing.assert_allclose(y, [[-0.5, 2.0, -1.5], [4.0, -10.0, 6.0]])
    y = _one("PRelu", [x, np.array([0.25])])
    np.testing.assert_allclose(y, [[-0.25, 2, -0.75], [4, -1.25, 6]])
    full = np.array([[1.0, 1.0, 2.0], [1.0, 3.0, 1.0]])
    np.testing.assert_allclose(_one("PRelu", [x, full]), [[-1.0, 2.0, -6.0], [4.0, -15.0, 6.0]])
    ints = _one("PRelu", [np.array([-4, 4], dtype=np.int32), np.array([2], dtype=np.int32)])
    assert ints.dtype == np.int32
    np.testing.assert_array_equal(ints, [-8, 4])


def test_prelu_rejects_slopes_that_broadcast_only_bidirectionally() -> None:
    x = np.ones((2, 3))
    for slope in (np.ones(2), np.ones((1, 2, 3))):
        message = "unidirectionally broadcastable to X of shape (2, 3)"
        with pytest.raises(ParameterError, match=re.escape(message)):
            run_node("PRelu", [x, slope])


# --- Clip: optional inputs --------------------------------------------------------------------

LINE = np.array([-2.0, -1.0, 0.0, 1.0, 2.0], dtype=np.float32)
LOW, HIGH = np.float32(-1.0), np.float32(1.0)


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ([LINE, LOW, HIGH], [-1, -1, 0, 1, 1]),
        ([LINE, None, HIGH], [-2, -1, 0, 1, 1]),
        ([LINE, LOW], [-1, -1, 0, 1, 2]),
        ([LINE, LOW, None], [-1, -1, 0, 1, 2]),
        ([LINE], [-2, -1, 0, 1, 2]),
        ([LINE, None, None], [-2, -1, 0, 1, 2]),
        ([LINE, np.float32(2.0), np.float32(1.0)], [1, 1, 1, 1, 1]),  # min > max: all max
        ([LINE, np.array([-1.0], dtype=np.float32), None], [-1, -1, 0, 1, 2]),
    ],
)
def test_clip_optional_bounds(inputs: list[np.ndarray | None], expected: list[float]) -> None:
    before = LINE.copy()
    y = _one("Clip", inputs)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(LINE, before)  # the input is not modified


def test_clip_integers_and_opset_6_attributes() -> None:
    x = np.array([-100, 0, 100], dtype=np.int8)
    y = _one("Clip", [x, np.int8(-5), np.int8(5)])
    assert y.dtype == np.int8
    np.testing.assert_array_equal(y, [-5, 0, 5])
    y = _one("Clip", [LINE], {"min": -0.5, "max": 0.5})
    np.testing.assert_array_equal(y, [-0.5, -0.5, 0, 0.5, 0.5])


# --- dtypes -----------------------------------------------------------------------------------


def test_dtypes_and_zero_d_inputs_are_kept() -> None:
    for dtype in (np.float16, np.float32, np.float64):
        x = np.array([-1.0, 0.5], dtype=dtype)
        for op in ("Relu", "Sigmoid", "Elu", "Selu", "HardSigmoid", "Swish", "Softplus"):
            assert _one(op, [x]).dtype == dtype, op
    zero_d = np.array(-2.0, dtype=np.float32)
    for op in ("Relu", "LeakyRelu", "Tanh", "Gelu", "Mish"):
        y = _one(op, [zero_d])
        assert y.shape == (), op
        assert y.dtype == np.float32, op


def test_bfloat16_is_computed_in_float32_and_rounded_back() -> None:
    x = np.array([-1.0, 0.0, 3.0], dtype=ml_dtypes.bfloat16)
    y = _one("LeakyRelu", [x], {"alpha": 0.5})
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y.astype(np.float32), [-0.5, 0.0, 3.0])
    pooled = _one("MaxPool", [x.reshape(1, 1, 3)], {"kernel_shape": [2]})
    assert pooled.dtype == x.dtype
    np.testing.assert_array_equal(pooled.astype(np.float32), [[[0.0, 3.0]]])


# --- errors -----------------------------------------------------------------------------------


def test_unsupported_op_lists_the_supported_ones() -> None:
    message = f"run_node() does not support op_type 'Conv'; supported: {', '.join(SUPPORTED_OPS)}."
    with pytest.raises(ParameterError, match=re.escape(message)):
        run_node("Conv", [np.ones((1, 1, 3, 3))])
    # The operators issue 2 lists.
    assert set(SUPPORTED_OPS) == {
        "MaxPool", "AveragePool", "LpPool", "GlobalMaxPool", "GlobalAveragePool", "GlobalLpPool",
        "MaxUnpool", "Relu", "Sigmoid", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu",
        "ThresholdedRelu", "HardSigmoid", "HardSwish", "Tanh", "Softplus", "Softsign", "Gelu",
        "Mish", "Swish", "Softmax", "LogSoftmax", "Clip",
    }
    assert list(SUPPORTED_OPS) == sorted(SUPPORTED_OPS)


@pytest.mark.parametrize(
    ("op_type", "attributes", "message"),
    [
        (
            "Relu",
            {"alpha": 1.0},
            "run_node() does not support attribute 'alpha' of op_type 'Relu'; "
            "supported attributes of Relu: none.",
        ),
        (
            "LeakyRelu",
            {"alpha": 0.1, "beta": 1.0},
            "run_node() does not support attribute 'beta' of op_type 'LeakyRelu'; "
            "supported attributes of LeakyRelu: 'alpha'.",
        ),
        (
            "MaxPool",
            {"kernel_shape": [2], "group": 1},
            "run_node() does not support attribute 'group' of op_type 'MaxPool'",
        ),
        (
            "MaxPool",
            {},
            "run_node() needs attribute 'kernel_shape' for op_type 'MaxPool' (ONNX requires it); "
            "it was not given.",
        ),
        (
            "LeakyRelu",
            {"alpha": "big"},
            "The 'LeakyRelu.alpha' parameter of run_node() must be a real number. "
            "Got 'big' instead.",
        ),
        (
            "MaxPool",
            {"kernel_shape": [2], "auto_pad": "SAME"},
            "The 'MaxPool.auto_pad' parameter of run_node() must be one of "
            "{'NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'}. Got 'SAME' instead.",
        ),
        (
            "MaxPool",
            {"kernel_shape": [2], "auto_pad": "SAME_UPPER", "pads": [1, 0]},
            "run_node() got both auto_pad='SAME_UPPER' and non-zero pads=[1, 0] for op_type "
            "'MaxPool'; ONNX allows only one of them.",
        ),
        (
            "MaxPool",
            {"kernel_shape": [2], "pads": [1, 0, 0]},
            "The 'MaxPool.pads' parameter of run_node() must be a list of 2 ints >= 0 "
            "([x1_begin, x2_begin, ..., x1_end, x2_end]). Got [1, 0, 0] instead.",
        ),
        (
            "AveragePool",
            {"kernel_shape": [2], "strides": [0]},
            "The 'AveragePool.strides' parameter of run_node() must be a list of 1 ints >= 1 "
            "(one per spatial axis, as kernel_shape). Got [0] instead.",
        ),
        (
            "MaxPool",
            {"kernel_shape": [2], "storage_order": 2},
            "The 'MaxPool.storage_order' parameter of run_node() must be 0 (row-major) or 1 "
            "(column-major). Got 2 instead.",
        ),
        (
            "MaxPool",
            {"kernel_shape": [2, 2]},
            "The 'MaxPool.X' parameter of run_node() must be an array of rank "
            "2 + len(kernel_shape) = 4 (N, C, spatial...). "
            "Got an array of shape (1, 1, 5) and dtype float64 instead.",
        ),
        (
            "Gelu",
            {"approximate": "erf"},
            "The 'Gelu.approximate' parameter of run_node() must be one of {'none', 'tanh'}. "
            "Got 'erf' instead.",
        ),
        (
            "Softmax",
            {"axis": 3},
            "The 'Softmax.axis' parameter of run_node() must be an int in [-r, r-1] = [-3, 2] for "
            "an input of rank r = 3. Got 3 instead.",
        ),
    ],
)
def test_bad_attributes(op_type: str, attributes: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        run_node(op_type, [RAMP], attributes)


def test_bad_inputs_and_outputs() -> None:
    with pytest.raises(
        ParameterError,
        match=re.escape("run_node() needs input 'X' of op_type 'Relu'; got None (its inputs: X)."),
    ):
        run_node("Relu", [None])
    with pytest.raises(ParameterError, match=re.escape("needs input 'slope' of op_type 'PRelu'")):
        run_node("PRelu", [LINE])
    with pytest.raises(
        ParameterError,
        match=re.escape(
            "run_node() got 4 inputs for op_type 'Clip', which takes at most 3: "
            "input, min (optional), max (optional)."
        ),
    ):
        run_node("Clip", [LINE, LOW, HIGH, HIGH])
    with pytest.raises(
        ParameterError,
        match=re.escape(
            "The 'num_outputs' parameter of run_node() must be 1 for op_type 'Relu'. Got 2 instead."
        ),
    ):
        run_node("Relu", [LINE], num_outputs=2)
    with pytest.raises(
        ParameterError,
        match=re.escape("The 'num_outputs' parameter of run_node() must be an int in [1, 2]"),
    ):
        run_node("MaxPool", [RAMP], {"kernel_shape": [2]}, num_outputs=3)
    with pytest.raises(
        ParameterError,
        match=re.escape(
            "The 'Clip.min' parameter of run_node() must be a scalar of the input's dtype float32. "
            "Got an array of shape () and dtype float64 instead."
        ),
    ):
        run_node("Clip", [LINE, np.array(-1.0)])
    message = "The 'Clip.max' parameter of run_node() must be a scalar"
    with pytest.raises(ParameterError, match=re.escape(message)):
        run_node("Clip", [LINE, None, np.ones(2, dtype=np.float32)])
    with pytest.raises(ParameterError, match=re.escape("not both")):
        run_node("Clip", [LINE, LOW], {"max": 1.0})


# --- optional oracle: onnx.reference on random configurations ---------------------------------


def _reference(
    op_type: str, x: np.ndarray, attrs: dict[str, object], n_out: int
) -> list[np.ndarray]:
    outputs = ["y", "indices"][:n_out]
    node = helper.make_node(op_type, ["x"], outputs, **attrs)
    dtype = helper.np_dtype_to_tensor_dtype(x.dtype)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", dtype, x.shape)],
        [
            helper.make_tensor_value_info("y", dtype, None),
            *[helper.make_tensor_value_info("indices", TensorProto.INT64, None)][: n_out - 1],
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    return list(ReferenceEvaluator(model).run(None, {"x": x}))


def _random_configs(count: int, seed: int) -> list[tuple[str, tuple[int, ...], dict[str, object]]]:
    rng = np.random.default_rng(seed)
    configs = []
    for i in range(count):
        op = ("MaxPool", "AveragePool", "LpPool")[i % 3]
        rank = 2
        kernel = [int(k) for k in rng.integers(1, 4, rank)]
        dilations = [int(d) for d in rng.integers(1, 3, rank)]
        strides = [int(s) for s in rng.integers(1, 4, rank)]
        # pad <= d*(k-1)//2 per side keeps every window on some input cell (PyTorch's limit).
        limit = [d * (k - 1) // 2 for k, d in zip(kernel, dilations, strict=True)]
        pads = [int(rng.integers(0, lim + 1)) for lim in limit * 2]
        shape = (2, 2, *(int(n) for n in rng.integers(5, 9, rank)))
        attrs: dict[str, object] = {
            "kernel_shape": kernel,
            "strides": strides,
            "dilations": dilations,
            "pads": pads,
            "ceil_mode": int(rng.integers(0, 2)),
        }
        if op == "MaxPool":
            attrs["storage_order"] = int(rng.integers(0, 2))
        elif op == "AveragePool":
            attrs["count_include_pad"] = int(rng.integers(0, 2))
        else:
            attrs["p"] = int(rng.integers(1, 4))
        configs.append((op, shape, attrs))
    return configs


_FIXED_CONFIGS: list[tuple[str, tuple[int, ...], dict[str, object]]] = [
    # auto_pad padding counted by count_include_pad, as explicit pads are.
    (
        "AveragePool",
        (1, 1, 4),
        {"kernel_shape": [2], "auto_pad": "SAME_UPPER", "count_include_pad": 1},
    ),
    (
        "AveragePool",
        (1, 1, 5),
        {"kernel_shape": [3], "strides": [2], "auto_pad": "SAME_LOWER", "count_include_pad": 1},
    ),
    # The ceil-mode overhang beyond the declared pads is not counted.
    (
        "AveragePool",
        (1, 1, 6),
        {
            "kernel_shape": [3],
            "strides": [2],
            "pads": [1, 1],
            "ceil_mode": 1,
            "count_include_pad": 1,
        },
    ),
    ("LpPool", (1, 1, 5, 5), {"kernel_shape": [2, 2], "auto_pad": "SAME_UPPER", "p": 3}),
    (
        "MaxPool",
        (1, 1, 5, 6),
        {"kernel_shape": [3, 2], "strides": [2, 1], "auto_pad": "SAME_UPPER", "storage_order": 1},
    ),
]


@pytest.mark.parametrize(
    ("op_type", "shape", "attrs"), _FIXED_CONFIGS + _random_configs(12, seed=2026)
)
def test_matches_onnx_reference_evaluator(
    op_type: str, shape: tuple[int, ...], attrs: dict[str, object]
) -> None:
    # Tie-free and NaN-free: onnx.reference ignores NaN in max pooling where we propagate it.
    x = _tie_free(shape, 1) / 10.0 - 3.0
    n_out = 2 if op_type == "MaxPool" else 1
    expected = _reference(op_type, x, attrs, n_out)
    got = run_node(op_type, [x], attrs, num_outputs=n_out)
    assert [g.shape for g in got] == [e.shape for e in expected]
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12, atol=1e-12)
    if n_out == 2:
        np.testing.assert_array_equal(got[1], expected[1])
