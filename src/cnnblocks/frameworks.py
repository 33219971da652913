"""What other frameworks give for the same pooling settings, and why they differ.

Pure functions over integers; nothing here imports a framework. The rules come from
``SEMANTICS.md`` (PyTorch 2.13, ONNX 1.23 and onnxruntime 1.32, TensorFlow 2.21 / Keras 3.15,
PaddlePaddle 3.3, run side by side), per spatial axis with kernel ``k``, stride ``S``, dilation
``d`` and padding ``p1`` (before) / ``p2`` (after):

- floor mode, everyone: ``L_out = floor((L + p1 + p2 - d (k - 1) - 1) / S) + 1``;
- ceil mode, PyTorch = ONNX = cnnblocks: the ceiling, then ``L_out -= 1`` when the last window
  would start in the right padding, ``(L_out - 1) S >= L + p1``; Paddle takes the ceiling without
  that drop, so its extra window can lie wholly in padding (Paddle#64725);
- ``SAME`` (TF/Keras, ONNX ``SAME_UPPER``, Paddle): ``L_out = ceil(L / S)``; ``VALID``: no padding;
- PyTorch takes one padding per axis (no asymmetric padding, pytorch#71362), no padding strings, and
  requires ``pad <= ((k - 1) d + 1) // 2``; onnxruntime requires ``pad < k``; the ONNX spec allows
  any ``pad >= 0``; TF/Keras pooling takes only ``'SAME'``/``'VALID'`` and has no ceil mode or
  dilation; Paddle pooling has no dilation.

The comparison is for max pooling (average pooling shares the shape rules; its divisor defaults
differ and are listed in ``SEMANTICS.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cnnblocks._checks import as_int_tuple, fail
from cnnblocks.shapes import PADDING_STRINGS, pool_geometry

__all__ = ["FRAMEWORKS", "FrameworkAnswer", "compare_frameworks"]

FRAMEWORKS = ("cnnblocks", "PyTorch", "ONNX", "onnxruntime", "TensorFlow/Keras", "Paddle")


@dataclass(frozen=True, slots=True)
class FrameworkAnswer:
    """One framework's output size for the settings, or why it has none.

    Attributes
    ----------
    framework : str
        One of :data:`FRAMEWORKS`.
    output_size : tuple of int or None
        Spatial output size, one entry per axis; ``None`` when the framework rejects or cannot
        express the settings.
    how : str
        How the settings are spelled in that framework (or what it would need instead).
    note : str
        Why the answer differs from cnnblocks', or why there is none; empty when it agrees.
    """

    framework: str
    output_size: tuple[int, ...] | None
    how: str
    note: str


def _floor_or_ceil(n: int, k: int, s: int, p1: int, p2: int, d: int, ceil: bool, drop: bool) -> int:
    numerator = n + p1 + p2 - d * (k - 1) - 1
    out = (-(-numerator // s) if ceil else numerator // s) + 1
    if ceil and drop and out >= 1 and (out - 1) * s >= n + p1:
        out -= 1
    return out


def compare_frameworks(
    input_size: Sequence[int],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> list[FrameworkAnswer]:
    """Output size of a pooling layer in each framework of :data:`FRAMEWORKS`.

    Parameters
    ----------
    input_size : sequence of int
        Spatial sizes only, e.g. ``(H, W)``.
    kernel_size, stride, padding, dilation, ceil_mode
        As for :func:`cnnblocks.shapes.pool_output_shape`; ``stride=None`` means the kernel size.

    Returns
    -------
    list of FrameworkAnswer
        cnnblocks first, then the others in the order of :data:`FRAMEWORKS`.

    Raises
    ------
    ParameterError
        If the settings are invalid for cnnblocks itself (the reference answer).

    Examples
    --------
    >>> [a.output_size for a in compare_frameworks((9,), 4, 4, 2, ceil_mode=True)]
    [(3,), (3,), (3,), (3,), None, (4,)]
    """
    func = "compare_frameworks"
    rank = len(input_size)
    if rank < 1 or rank > 3:
        raise fail(func, "input_size", "1 to 3 spatial sizes", tuple(input_size))
    sizes = as_int_tuple(tuple(input_size), rank, func=func, name="input_size")
    kernel = as_int_tuple(kernel_size, rank, func=func, name="kernel_size")
    strides = kernel if stride is None else as_int_tuple(stride, rank, func=func, name="stride")
    dilations = as_int_tuple(dilation, rank, func=func, name="dilation")
    if not isinstance(ceil_mode, bool):
        raise fail(func, "ceil_mode", "a bool", ceil_mode)
    geometry = pool_geometry(sizes, kernel, strides, padding, dilations, ceil_mode, func=func)
    pads, ours = geometry.padding, geometry.output_size
    mode = padding.upper() if isinstance(padding, str) else None
    if mode is not None and mode not in PADDING_STRINGS:  # normalize_padding already checked
        raise fail(func, "padding", "a padding string", padding)
    settings = _Settings(sizes, kernel, strides, dilations, pads, ceil_mode, mode)
    rounding = "ceil" if ceil_mode else "floor"
    answers = [
        FrameworkAnswer(
            "cnnblocks",
            ours,
            f"pads {_pairs(pads)}, {rounding} mode",
            "follows PyTorch and ONNX: ceil mode drops a last window that would start in the "
            "right padding"
            if ceil_mode
            else "",
        )
    ]
    answers.append(_pytorch(settings, ours))
    answers.append(_onnx(settings, ours))
    answers.append(_onnxruntime(settings, ours))
    answers.append(_tensorflow(settings, ours))
    answers.append(_paddle(settings, ours))
    return answers


@dataclass(frozen=True, slots=True)
class _Settings:
    sizes: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    ceil_mode: bool
    mode: str | None  # the padding string, upper-cased, if one was given

    def sizes_with(self, ceil: bool, drop: bool) -> tuple[int, ...] | None:
        out = tuple(
            _floor_or_ceil(n, k, s, p[0], p[1], d, ceil, drop)
            for n, k, s, p, d in zip(
                self.sizes, self.kernel, self.stride, self.pads, self.dilation, strict=True
            )
        )
        return out if min(out) >= 1 else None

    @property
    def symmetric(self) -> bool:
        return all(p1 == p2 for p1, p2 in self.pads)

    @property
    def same_sizes(self) -> tuple[int, ...]:
        return tuple(math.ceil(n / s) for n, s in zip(self.sizes, self.stride, strict=True))


def _pairs(pads: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"({a}, {b})" for a, b in pads)


def _agree(ours: tuple[int, ...], theirs: tuple[int, ...] | None, note: str) -> str:
    return "" if theirs == ours else note


def _pytorch(st: _Settings, ours: tuple[int, ...]) -> FrameworkAnswer:
    name = "PyTorch"
    if st.mode is not None and st.mode != "VALID":
        return FrameworkAnswer(
            name,
            None,
            f"padding={st.mode!r} is not accepted",
            "torch.nn.functional.max_pool2d takes no padding strings (only convolutions take "
            "'same'); pass the pads as ints, or F.pad first if they are uneven",
        )
    if not st.symmetric:
        return FrameworkAnswer(
            name,
            None,
            "one pad per axis only",
            f"asymmetric padding {_pairs(st.pads)} cannot be expressed (pytorch#71362); the "
            "workaround F.pad(x, ..., value=-inf) + padding=0 is slow",
        )
    limits = [((k - 1) * d + 1) // 2 for k, d in zip(st.kernel, st.dilation, strict=True)]
    pad_each = tuple(p for p, _ in st.pads)
    how = f"padding={pad_each}, ceil_mode={st.ceil_mode}"
    if any(p > lim for p, lim in zip(pad_each, limits, strict=True)):
        return FrameworkAnswer(
            name,
            None,
            how,
            f"rejected: PyTorch requires pad <= ((k - 1)*d + 1)//2 = {tuple(limits)} "
            '("pad should be at most half of effective kernel size")',
        )
    got = st.sizes_with(st.ceil_mode, drop=True)
    return FrameworkAnswer(name, got, how, _agree(ours, got, "differs"))


def _onnx(st: _Settings, ours: tuple[int, ...]) -> FrameworkAnswer:
    name = "ONNX"
    got: tuple[int, ...] | None
    if st.mode in ("SAME", "SAME_UPPER", "SAME_LOWER"):
        auto = "SAME_LOWER" if st.mode == "SAME_LOWER" else "SAME_UPPER"
        got = st.same_sizes
        return FrameworkAnswer(
            name,
            got,
            f"auto_pad={auto!r}",
            _agree(ours, got, "auto_pad SAME ignores ceil_mode: L_out = ceil(L / S)"),
        )
    pads = [p for p, _ in st.pads] + [q for _, q in st.pads]  # ONNX: all begins, then all ends
    got = st.sizes_with(st.ceil_mode, drop=True)
    return FrameworkAnswer(
        name,
        got,
        f"pads={pads}, ceil_mode={int(st.ceil_mode)}",
        _agree(ours, got, "differs"),
    )


def _onnxruntime(st: _Settings, ours: tuple[int, ...]) -> FrameworkAnswer:
    name = "onnxruntime"
    spec = _onnx(st, ours)
    if st.mode is None or st.mode == "VALID":
        too_big = [
            (p, k) for pair, k in zip(st.pads, st.kernel, strict=True) for p in pair if p >= k
        ]
        if too_big:
            p, k = too_big[0]
            return FrameworkAnswer(
                name,
                None,
                spec.how,
                f"rejected: onnxruntime requires every pad < kernel (got pad {p}, kernel {k}); "
                "the ONNX spec itself allows it",
            )
    return FrameworkAnswer(name, spec.output_size, spec.how, spec.note)


def _tensorflow(st: _Settings, ours: tuple[int, ...]) -> FrameworkAnswer:
    name = "TensorFlow/Keras"
    if any(d != 1 for d in st.dilation):
        return FrameworkAnswer(
            name,
            None,
            "no dilation",
            "keras.layers.MaxPooling2D has no dilation (tf.nn.pool has one only with strides 1)",
        )
    valid = st.sizes_with(False, drop=True)
    same = st.same_sizes
    if st.mode in ("SAME", "SAME_UPPER"):
        return FrameworkAnswer(name, same, "padding='same'", _agree(ours, same, "differs"))
    if st.mode == "SAME_LOWER":
        return FrameworkAnswer(
            name,
            same,
            "padding='same' (odd cell after, not before)",
            "TF has only SAME_UPPER: the same size, but the windows sit one cell differently",
        )
    zero = all(p == (0, 0) for p in st.pads)
    if zero and not st.ceil_mode:
        return FrameworkAnswer(name, valid, "padding='valid'", _agree(ours, valid, "differs"))
    if zero and st.ceil_mode:
        note = (
            "TF has no ceil_mode; padding='valid' rounds down"
            if valid != ours
            else "TF has no ceil_mode, but here rounding up changes nothing"
        )
        return FrameworkAnswer(name, valid, "padding='valid'", "" if valid == ours else note)
    upper = tuple(
        (tot // 2, tot - tot // 2)
        for tot in (
            max((o - 1) * s + k - n, 0)
            for o, s, k, n in zip(same, st.stride, st.kernel, st.sizes, strict=True)
        )
    )
    if upper == st.pads and not st.ceil_mode:
        return FrameworkAnswer(
            name,
            same,
            "padding='same'",
            _agree(ours, same, "these pads are exactly TF's SAME pads"),
        )
    return FrameworkAnswer(
        name,
        None,
        "only 'same' or 'valid'",
        f"explicit pads {_pairs(st.pads)} cannot be given to pooling layers; tf.pad + 'valid' "
        "works for max pooling only if padded with -inf (zero padding changes averages, "
        "tensorflow#45579)",
    )


def _paddle(st: _Settings, ours: tuple[int, ...]) -> FrameworkAnswer:
    name = "Paddle"
    if any(d != 1 for d in st.dilation):
        return FrameworkAnswer(
            name, None, "no dilation", "paddle.nn.functional.max_pool2d has no dilation"
        )
    got: tuple[int, ...] | None
    if st.mode in ("SAME", "SAME_UPPER", "SAME_LOWER"):
        got = st.same_sizes
        return FrameworkAnswer(name, got, "padding='SAME'", _agree(ours, got, "differs"))
    flat = [v for pair in st.pads for v in pair]
    how = f"padding={flat}, ceil_mode={st.ceil_mode}"
    got = st.sizes_with(st.ceil_mode, drop=False)
    note = _agree(
        ours,
        got,
        "Paddle's ceil mode keeps a last window that starts in the right padding (no drop, "
        "Paddle#64725); that window returns -3.4e38 or NaN",
    )
    return FrameworkAnswer(name, got, how, note)
