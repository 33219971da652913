"""`shape --compare`: other frameworks' output sizes, checked against SEMANTICS.md's numbers."""

from __future__ import annotations

import pytest

from cnnblocks.errors import ParameterError
from cnnblocks.frameworks import FRAMEWORKS, compare_frameworks


def _sizes(*args: object, **kwargs: object) -> dict[str, tuple[int, ...] | None]:
    return {a.framework: a.output_size for a in compare_frameworks(*args, **kwargs)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("length", "kernel", "stride", "pad", "torch_onnx", "paddle"),
    [
        # SEMANTICS.md, "Ceil mode (PyTorch = ONNX)": (L,k,s,p) -> 3, 3, 16; Paddle 4, 4, 17.
        (9, 4, 4, 2, 3, 4),
        (5, 2, 2, 1, 3, 4),
        (32, 1, 2, 0, 16, 17),
    ],
)
def test_ceil_mode_drop_rule_pytorch_onnx_vs_paddle(
    length: int, kernel: int, stride: int, pad: int, torch_onnx: int, paddle: int
) -> None:
    sizes = _sizes((length,), kernel, stride, pad, ceil_mode=True)
    assert sizes["cnnblocks"] == (torch_onnx,)
    assert sizes["PyTorch"] == (torch_onnx,)
    assert sizes["ONNX"] == (torch_onnx,)
    assert sizes["onnxruntime"] == (torch_onnx,)
    assert sizes["Paddle"] == (paddle,)


def test_paddle_note_explains_the_missing_drop() -> None:
    answers = {a.framework: a for a in compare_frameworks((9,), 4, 4, 2, ceil_mode=True)}
    assert "Paddle#64725" in answers["Paddle"].note
    assert answers["PyTorch"].note == ""


def test_same_padding_everywhere_but_pytorch() -> None:
    # SEMANTICS.md: SAME, L=4, k=2, s=1 pads (0, 1), out = ceil(4/1) = 4.
    answers = {a.framework: a for a in compare_frameworks((4,), 2, 1, "SAME")}
    assert answers["cnnblocks"].how.startswith("pads (0, 1)")
    for name in ("cnnblocks", "ONNX", "onnxruntime", "TensorFlow/Keras", "Paddle"):
        assert answers[name].output_size == (4,), name
    assert answers["PyTorch"].output_size is None
    assert "no padding strings" in answers["PyTorch"].note


def test_pytorch_rejects_padding_over_half_the_effective_kernel() -> None:
    # pad <= ((k-1)*d + 1) // 2: k=3, d=1 allows 1, not 2.
    answers = {a.framework: a for a in compare_frameworks((10,), 3, 1, 2)}
    assert answers["PyTorch"].output_size is None
    assert "at most half" in answers["PyTorch"].note
    assert answers["ONNX"].output_size == (12,)  # floor((10 + 4 - 2 - 1)/1) + 1
    assert answers["onnxruntime"].output_size == (12,)


def test_onnxruntime_requires_pad_below_kernel_where_the_spec_does_not() -> None:
    # k=2, d=3 spans 4 cells, so pad 2 still touches the input (legal in the ONNX spec and in
    # PyTorch: ((2-1)*3 + 1)//2 = 2), but onnxruntime wants pad < k = 2.
    answers = {a.framework: a for a in compare_frameworks((8,), 2, 1, 2, dilation=3)}
    assert answers["ONNX"].output_size == (9,)  # floor((8 + 4 - 3*(2-1) - 1)/1) + 1
    assert answers["PyTorch"].output_size == (9,)
    assert answers["onnxruntime"].output_size is None
    assert "pad < kernel" in answers["onnxruntime"].note
    assert answers["TensorFlow/Keras"].output_size is None  # no dilation in Keras pooling
    assert answers["Paddle"].output_size is None


def test_asymmetric_padding_pytorch_cannot_tensorflow_only_if_same() -> None:
    # (top, bottom, left, right) = (0, 1, 0, 1) on 4x4, k=2, s=1 are exactly TF's SAME pads.
    answers = {a.framework: a for a in compare_frameworks((4, 4), 2, 1, (0, 1, 0, 1))}
    assert answers["PyTorch"].output_size is None
    assert "pytorch#71362" in answers["PyTorch"].note
    assert answers["TensorFlow/Keras"].output_size == (4, 4)
    assert answers["TensorFlow/Keras"].how == "padding='same'"
    assert answers["ONNX"].how.startswith("pads=[0, 0, 1, 1],")  # all begins, then all ends
    # Other uneven pads have no TF spelling.
    other = {a.framework: a for a in compare_frameworks((4, 4), 2, 1, (1, 0, 0, 1))}
    assert other["TensorFlow/Keras"].output_size is None


def test_tensorflow_valid_rounds_down_where_ceil_mode_rounds_up() -> None:
    sizes = _sizes((7, 7), 2, 2, 0, ceil_mode=True)
    assert sizes["cnnblocks"] == (4, 4)  # ceil((7-2)/2) + 1
    assert sizes["TensorFlow/Keras"] == (3, 3)  # 'valid' = floor
    assert _sizes((7, 7), 2, 2, 0)["TensorFlow/Keras"] == (3, 3)


def test_every_framework_answers_in_order() -> None:
    answers = compare_frameworks((28, 28), 2)
    assert tuple(a.framework for a in answers) == FRAMEWORKS
    assert all(a.output_size == (14, 14) for a in answers)


def test_invalid_settings_raise_parameter_error() -> None:
    with pytest.raises(ParameterError, match="output of size 0 < 1"):
        compare_frameworks((3,), 5)
    with pytest.raises(ParameterError, match="'kernel_size' parameter of compare_frameworks"):
        compare_frameworks((8,), 0)
    with pytest.raises(ParameterError, match="'input_size' parameter of compare_frameworks"):
        compare_frameworks((), 2)
