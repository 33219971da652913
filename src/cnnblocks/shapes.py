"""Output-size rules for pooling, as pure functions.

The lesson's formula for a window of size ``k_h`` sliding with stride ``S_h`` over ``H`` rows padded
with ``p_h1`` rows on top and ``p_h2`` at the bottom is

.. math::

    H_{out} = \\frac{H + p_{h1} + p_{h2} - k_h}{S_h} + 1, \\qquad
    W_{out} = \\frac{W + p_{w1} + p_{w2} - k_w}{S_w} + 1 .

When the division is not exact the quotient is rounded down (floor mode), or up (``ceil_mode``)
with PyTorch's and ONNX's rule that a last window starting inside the right padding is dropped.
With dilation ``d`` the window covers ``d (k - 1) + 1`` cells, so in general

.. math::

    L_{out} = \\left\\lfloor \\frac{L + p_1 + p_2 - d (k - 1) - 1}{S} \\right\\rfloor + 1 .

Every padding form the package accepts is normalised here, once, into per-axis
``(before, after)`` pairs (Flax's and PyTorch's internal ``pad_lr`` form). The same functions serve
argument validation, the docstrings, and the command line that explains an output size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from cnnblocks._checks import as_int_tuple, fail
from cnnblocks.errors import ParameterError

__all__ = [
    "PADDING_STRINGS",
    "PaddingSpec",
    "PoolGeometry",
    "adaptive_bins",
    "axis_names",
    "explain_output_shape",
    "normalize_padding",
    "parse_data_format",
    "pool_geometry",
    "pool_output_shape",
    "pool_output_size",
    "same_padding",
]

PaddingSpec: TypeAlias = int | str | Sequence[int] | Sequence[Sequence[int]]
PADDING_STRINGS = ("SAME", "SAME_UPPER", "SAME_LOWER", "VALID")

_CHANNELS_FIRST = {1: "NCL", 2: "NCHW", 3: "NCDHW"}
_CHANNELS_LAST = {1: "NLC", 2: "NHWC", 3: "NDHWC"}


def adaptive_bins(length: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive bins: bin ``i`` covers ``[floor(i L / O), ceil((i + 1) L / O))``.

    Returns int64 starts and ends.

    >>> adaptive_bins(10, 4)
    (array([0, 2, 5, 7]), array([ 3,  5,  8, 10]))
    """
    i = np.arange(out, dtype=np.int64)
    return (i * length) // out, -(-((i + 1) * length) // out)


def axis_names(rank: int) -> tuple[str, ...]:
    """Letters the lesson uses for the spatial axes.

    ``('L',)`` for 1-D, ``('H', 'W')`` for 2-D, ``('D', 'H', 'W')`` for 3-D.
    """
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}[rank]


def parse_data_format(data_format: Any, rank: int, *, func: str) -> bool:
    """Return True for channels-last layouts.

    Accepted: ``'NCHW'``/``'NHWC'`` for every rank (they mean channels first/last), the
    rank-specific names ``'NCL'``, ``'NLC'``, ``'NCDHW'``, ``'NDHWC'``, and
    ``'channels_first'``/``'channels_last'`` (Keras).
    """
    first = {"NCHW", "channels_first", _CHANNELS_FIRST[rank]}
    last = {"NHWC", "channels_last", _CHANNELS_LAST[rank]}
    if data_format in first:
        return False
    if data_format in last:
        return True
    choices = sorted(first) + sorted(last)
    listed = ", ".join(repr(c) for c in choices)
    raise fail(func, "data_format", f"one of {{{listed}}}", data_format)


def same_padding(
    length: int, kernel: int, stride: int, dilation: int, lower: bool
) -> tuple[int, int]:
    """Padding that makes ``L_out = ceil(L / S)`` (TensorFlow's and ONNX's SAME).

    ``total = max((L_out - 1) S + d (k - 1) + 1 - L, 0)``; SAME_UPPER puts the odd cell after,
    SAME_LOWER before.

    Examples
    --------
    >>> same_padding(4, 2, 1, 1, lower=False)   # out = 4, total = 3*1 + 2 - 4 = 1, after
    (0, 1)
    >>> same_padding(5, 3, 2, 1, lower=True)    # out = 3, total = 2*2 + 3 - 5 = 2, even
    (1, 1)
    >>> same_padding(7, 2, 2, 1, lower=True)    # out = 4, total = 3*2 + 2 - 7 = 1, before
    (1, 0)
    """
    out = -(-length // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - length, 0)
    small, large = total // 2, total - total // 2
    return (large, small) if lower else (small, large)


def normalize_padding(
    padding: Any,
    spatial_shape: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    *,
    func: str = "normalize_padding",
) -> tuple[tuple[int, int], ...]:
    """Turn any accepted padding form into per-axis ``(before, after)`` pairs.

    Parameters
    ----------
    padding : int, tuple or str
        - ``p``: the same on every side;
        - ``(p_h, p_w)``: one per axis, both sides (one int per spatial axis);
        - ``(p_h1, p_h2, p_w1, p_w2)``: the lesson's order, top, bottom, left, right
          (two ints per spatial axis, before then after, axis by axis);
        - ``((p_h1, p_h2), (p_w1, p_w2))``: the same as pairs;
        - ``'VALID'`` (no padding), ``'SAME'`` = ``'SAME_UPPER'`` (odd cell after) or
          ``'SAME_LOWER'`` (odd cell before), case-insensitive.
    spatial_shape, kernel_size, stride, dilation : sequences of int
        One entry per spatial axis; SAME needs them.

    Returns
    -------
    tuple of (int, int)
        ``((before_0, after_0), ...)``, one pair per spatial axis.

    Examples
    --------
    >>> normalize_padding((0, 1, 2, 3), (8, 8), (2, 2), (2, 2), (1, 1))
    ((0, 1), (2, 3))
    >>> normalize_padding("SAME", (4,), (2,), (1,), (1,))
    ((0, 1),)
    """
    rank = len(spatial_shape)
    if isinstance(padding, str):
        mode = padding.upper()
        if mode not in PADDING_STRINGS:
            listed = ", ".join(repr(p) for p in PADDING_STRINGS)
            raise fail(func, "padding", f"an int, a tuple of ints or one of {{{listed}}}", padding)
        if mode == "VALID":
            return ((0, 0),) * rank
        lower = mode == "SAME_LOWER"
        return tuple(
            same_padding(n, k, s, d, lower)
            for n, k, s, d in zip(spatial_shape, kernel_size, stride, dilation, strict=True)
        )
    rule = (
        f"an int >= 0, a tuple of {rank} ints >= 0 (one per axis), a tuple of {2 * rank} ints >= 0 "
        f"(before and after, axis by axis), {rank} (before, after) pairs, "
        "or 'SAME'/'SAME_LOWER'/'VALID'"
    )
    if (
        isinstance(padding, Sequence)
        and padding
        and all(isinstance(p, Sequence) and not isinstance(p, str) for p in padding)
    ):
        if len(padding) != rank or any(len(p) != 2 for p in padding):
            raise fail(func, "padding", rule, padding)
        flat = tuple(v for pair in padding for v in pair)
    elif isinstance(padding, Sequence) and len(padding) == 2 * rank:
        flat = tuple(padding)
    else:
        try:
            per_axis = as_int_tuple(padding, rank, func=func, name="padding", minimum=0)
        except ParameterError:
            raise fail(func, "padding", rule, padding) from None
        return tuple((p, p) for p in per_axis)
    try:
        values = as_int_tuple(flat, 2 * rank, func=func, name="padding", minimum=0)
    except ParameterError:
        raise fail(func, "padding", rule, padding) from None
    return tuple((values[2 * i], values[2 * i + 1]) for i in range(rank))


def pool_output_size(
    length: int,
    kernel: int,
    stride: int,
    pad_before: int = 0,
    pad_after: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    *,
    func: str = "pool_output_size",
    axis: str = "L",
) -> int:
    """Output length of one spatial axis.

    .. math::

        L_{out} = \\left\\lfloor \\frac{L + p_1 + p_2 - d (k - 1) - 1}{S} \\right\\rfloor + 1

    With ``ceil_mode`` the floor becomes a ceiling, and the last window is dropped when it would
    start inside the right padding, i.e. when ``(L_out - 1) S >= L + p_1`` (PyTorch = ONNX).

    Raises
    ------
    ParameterError
        If the output would have fewer than one cell; the message shows the formula with the
        numbers filled in.

    Examples
    --------
    >>> pool_output_size(28, 2, 2)   # the lesson's 2x2, stride 2: halves the size
    14
    >>> pool_output_size(5, 2, 2, 1, 1, ceil_mode=True)
    3
    """
    # A public function in its own right (the CLI and the layers call it directly), so it checks
    # its arguments rather than dividing by a zero stride.
    for name, value, minimum in (
        ("length", length, 0),
        ("kernel_size", kernel, 1),
        ("stride", stride, 1),
        ("pad_before", pad_before, 0),
        ("pad_after", pad_after, 0),
        ("dilation", dilation, 1),
    ):
        as_int_tuple(value, 1, func=func, name=name, minimum=minimum)
    if not isinstance(ceil_mode, bool):
        raise fail(func, "ceil_mode", "a bool", ceil_mode)
    span = dilation * (kernel - 1) + 1
    numerator = length + pad_before + pad_after - span
    out = (-(-numerator // stride) if ceil_mode else numerator // stride) + 1
    if ceil_mode and out >= 1 and (out - 1) * stride >= length + pad_before:
        out -= 1
    if out < 1:
        rounding = "ceil" if ceil_mode else "floor"
        a = axis
        raise ParameterError(
            f"{func}() would give an output of size {out} < 1 along {a}: "
            f"{a}_out = {rounding}(({a} + p1 + p2 - d*(k-1) - 1) / S) + 1 = "
            f"{rounding}(({length} + {pad_before} + {pad_after} - {dilation}*({kernel}-1) - 1)"
            f" / {stride}) + 1 = {out}. Use a smaller kernel_size or dilation, or more padding."
        )
    return out


@dataclass(frozen=True, slots=True)
class PoolGeometry:
    """Everything a pooling kernel needs to know about the window, resolved to numbers.

    All tuples have one entry per spatial axis, in the order (D,) H, W.
    """

    input_size: tuple[int, ...]
    output_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    ceil_mode: bool

    @property
    def rank(self) -> int:
        """Number of spatial axes."""
        return len(self.input_size)


def _check_windows_touch_input(geometry: PoolGeometry, func: str) -> None:
    """Reject a window whose taps all fall in padding: no value is defined for it."""
    names = axis_names(geometry.rank)
    for i in range(geometry.rank):
        n, k, s, d = (
            geometry.input_size[i],
            geometry.kernel_size[i],
            geometry.stride[i],
            geometry.dilation[i],
        )
        before = geometry.padding[i][0]
        # All windows at once (no loop over positions): tap j of window o sits at
        # o*S - p1 + j*d; a window is empty if its first tap at or after 0 is past the kernel or
        # past the input.
        starts = np.arange(geometry.output_size[i]) * s - before
        first_taps = np.where(starts < 0, (-starts + d - 1) // d, 0)
        empty = np.flatnonzero((first_taps >= k) | (starts + first_taps * d >= n))
        if empty.size:
            o = int(empty[0])
            start = int(starts[o])
            raise ParameterError(
                f"{func}() window {o} along {names[i]} lies wholly in the padding: it covers "
                f"{names[i]} positions {start}..{start + d * (k - 1)} (step {d}) but the input "
                f"has positions 0..{n - 1}. The 'padding' parameter got {geometry.padding[i]} "
                f"for this axis; use less padding or a larger kernel_size."
            )


# pool_geometry's results for argument sets already seen. Validating and resolving the arguments
# in Python costs ~100 µs, more than the pooling itself on the small arrays of a training step, and
# a network calls every layer with the same settings again and again. Only successes are stored,
# keyed by the repr of plain Python values, so 2, 2.0, True and np.int64(2) never share an entry
# (the last two are rejected or resolved afresh each time, as before).
_GEOMETRY_CACHE: dict[str, PoolGeometry] = {}
_GEOMETRY_CACHE_SIZE = 512
_PLAIN_LEAVES = (int, bool, str, type(None))


def _plain(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is built only of ints, bools, strings, None, tuples and lists."""
    if type(value) in _PLAIN_LEAVES:
        return True
    if type(value) in (tuple, list) and depth < 3 and len(value) <= 16:
        return all(_plain(v, depth + 1) for v in value)
    return False


def pool_geometry(
    spatial_shape: Sequence[int],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    *,
    func: str = "pool_geometry",
) -> PoolGeometry:
    """Validate pooling settings against an input and resolve them to a :class:`PoolGeometry`.

    ``stride=None`` means the kernel size (non-overlapping windows).

    Raises
    ------
    ParameterError
        For a bad kernel_size, stride, dilation, padding or ceil_mode, an output size < 1, or a
        window lying wholly in the padding.

    Examples
    --------
    >>> g = pool_geometry((5, 7), (3, 2), 2, (1, 0, 0, 1))  # H: (5+1+0-3)//2+1, W: (7+0+1-2)//2+1
    >>> g.output_size, g.padding
    ((2, 4), ((1, 0), (0, 1)))
    """
    args = (spatial_shape, kernel_size, stride, padding, dilation, ceil_mode)
    key = repr(args) if _plain(args) else None
    if key is not None:
        cached = _GEOMETRY_CACHE.get(key)
        if cached is not None:
            return cached
    geometry = _resolve_geometry(
        spatial_shape, kernel_size, stride, padding, dilation, ceil_mode, func
    )
    if key is not None:
        if len(_GEOMETRY_CACHE) >= _GEOMETRY_CACHE_SIZE:
            _GEOMETRY_CACHE.clear()
        _GEOMETRY_CACHE[key] = geometry
    return geometry


def _resolve_geometry(
    spatial_shape: Sequence[int],
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: Any,
    func: str,
) -> PoolGeometry:
    """pool_geometry without the memo: validate everything and resolve it."""
    rank = len(spatial_shape)
    kernel = as_int_tuple(kernel_size, rank, func=func, name="kernel_size")
    strides = kernel if stride is None else as_int_tuple(stride, rank, func=func, name="stride")
    dilations = as_int_tuple(dilation, rank, func=func, name="dilation")
    if not isinstance(ceil_mode, bool):
        raise fail(func, "ceil_mode", "a bool", ceil_mode)
    pads = normalize_padding(padding, spatial_shape, kernel, strides, dilations, func=func)
    names = axis_names(rank)
    out = tuple(
        pool_output_size(n, k, s, p[0], p[1], d, ceil_mode, func=func, axis=a)
        for n, k, s, p, d, a in zip(
            spatial_shape, kernel, strides, pads, dilations, names, strict=True
        )
    )
    geometry = PoolGeometry(
        input_size=tuple(int(n) for n in spatial_shape),
        output_size=out,
        kernel_size=kernel,
        stride=strides,
        dilation=dilations,
        padding=pads,
        ceil_mode=ceil_mode,
    )
    _check_windows_touch_input(geometry, func)
    return geometry


def _split_shape(
    input_shape: Sequence[int], rank: int, channels_last: bool, func: str
) -> tuple[int, int, tuple[int, ...]]:
    if len(input_shape) != rank + 2 or any(int(n) < 1 for n in input_shape):
        layout = _CHANNELS_LAST[rank] if channels_last else _CHANNELS_FIRST[rank]
        raise fail(
            func, "input_shape", f"{rank + 2} sizes >= 1 in {layout} order", tuple(input_shape)
        )
    dims = tuple(int(n) for n in input_shape)
    if channels_last:
        return dims[0], dims[-1], dims[1:-1]
    return dims[0], dims[1], dims[2:]


def _rank_of(kernel_size: Any, input_shape: Sequence[int]) -> int:
    if isinstance(kernel_size, Sequence) and not isinstance(kernel_size, str):
        return len(kernel_size)
    return max(1, min(3, len(input_shape) - 2))


def _resolve_input(
    func: str,
    input_shape: Sequence[int],
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    data_format: str,
) -> tuple[int, int, PoolGeometry, bool]:
    """Batch size, channels, the window's geometry and the layout of a whole input shape."""
    rank = _rank_of(kernel_size, input_shape)
    channels_last = parse_data_format(data_format, rank, func=func)
    n, c, spatial = _split_shape(input_shape, rank, channels_last, func)
    geometry = pool_geometry(spatial, kernel_size, stride, padding, dilation, ceil_mode, func=func)
    return n, c, geometry, channels_last


def pool_output_shape(
    input_shape: Sequence[int],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    data_format: str = "NCHW",
) -> tuple[int, ...]:
    """Shape of a pooling output for an input of ``input_shape``; channels are kept.

    Examples
    --------
    >>> pool_output_shape((1, 3, 28, 28), 2)     # 2x2, stride 2: H and W halve, C stays
    (1, 3, 14, 14)
    >>> pool_output_shape((1, 5, 5, 3), 3, 2, (0, 1, 0, 1), data_format="NHWC")
    (1, 2, 2, 3)
    """
    n, c, geometry, channels_last = _resolve_input(
        "pool_output_shape", input_shape, kernel_size, stride, padding, dilation, ceil_mode,
        data_format,
    )
    if channels_last:
        return (n, *geometry.output_size, c)
    return (n, c, *geometry.output_size)


def explain_output_shape(
    input_shape: Sequence[int],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    data_format: str = "NCHW",
) -> str:
    """Explain, in words with the numbers filled in, the output shape of a pooling layer.

    Examples
    --------
    >>> print(explain_output_shape((1, 3, 4, 4), 2))  # doctest: +NORMALIZE_WHITESPACE
    input (N, C, H, W) = (1, 3, 4, 4); kernel (2, 2), stride (2, 2), dilation (1, 1),
    padding (top, bottom) = (0, 0), (left, right) = (0, 0), floor mode
    H_out = floor((H + p_h1 + p_h2 - d_h*(k_h - 1) - 1) / S_h) + 1
          = floor((4 + 0 + 0 - 1*(2 - 1) - 1) / 2) + 1 = 2
    W_out = floor((W + p_w1 + p_w2 - d_w*(k_w - 1) - 1) / S_w) + 1
          = floor((4 + 0 + 0 - 1*(2 - 1) - 1) / 2) + 1 = 2
    output (N, C, H_out, W_out) = (1, 3, 2, 2); channels kept
    """
    n, c, g, channels_last = _resolve_input(
        "explain_output_shape", input_shape, kernel_size, stride, padding, dilation, ceil_mode,
        data_format,
    )
    names = axis_names(g.rank)
    sides = {
        "D": ("front", "back"),
        "H": ("top", "bottom"),
        "W": ("left", "right"),
        "L": ("left", "right"),
    }
    in_axes = ", ".join(names)
    out_axes = ", ".join(f"{a}_out" for a in names)
    if channels_last:
        in_layout, out_layout = f"(N, {in_axes}, C)", f"(N, {out_axes}, C)"
        out_shape: tuple[int, ...] = (n, *g.output_size, c)
    else:
        in_layout, out_layout = f"(N, C, {in_axes})", f"(N, C, {out_axes})"
        out_shape = (n, c, *g.output_size)
    pad_words = ", ".join(
        f"({sides[a][0]}, {sides[a][1]}) = ({p[0]}, {p[1]})"
        for a, p in zip(names, g.padding, strict=True)
    )
    rounding = "ceil" if ceil_mode else "floor"
    lines = [
        f"input {in_layout} = {tuple(int(v) for v in input_shape)}; kernel {g.kernel_size}, "
        f"stride {g.stride}, dilation {g.dilation},",
        f"padding {pad_words}, {rounding} mode",
    ]
    for i, a in enumerate(names):
        s = a.lower()
        length, (p1, p2), stride = g.input_size[i], g.padding[i], g.stride[i]
        numerator = length + p1 + p2 - g.dilation[i] * (g.kernel_size[i] - 1) - 1
        # The formula's own value; ceil mode may then drop a last window (shown on its own line,
        # so that every "=" on the page is true).
        rounded = (math.ceil if ceil_mode else math.floor)(numerator / stride) + 1
        lines.append(
            f"{a}_out = {rounding}(({a} + p_{s}1 + p_{s}2 - d_{s}*(k_{s} - 1) - 1) / S_{s}) + 1"
        )
        lines.append(
            f"      = {rounding}(({length} + {p1} + {p2} - "
            f"{g.dilation[i]}*({g.kernel_size[i]} - 1) - 1) / {stride}) + 1 = {rounded}"
        )
        if rounded != g.output_size[i]:
            start = (rounded - 1) * stride
            lines.append(
                f"      - 1 = {g.output_size[i]}: the last window would start at "
                f"({rounded} - 1)*{stride} = {start} >= {a} + p_{s}1 = {length + p1},"
            )
            lines.append(f"        in the {sides[a][1]} padding, so it is dropped")
    lines.append(f"output {out_layout} = {out_shape}; channels kept")
    return "\n".join(lines)
