"""Argument handling shared by the pooling operators of :mod:`cnnblocks.functional.pooling`.

Turns what a caller passed into checked arrays and geometry: the input's spatial rank and layout
(``NCHW`` or ``NHWC``), windowed-pool geometry, output shapes, bool flags, and a backward call's
``grad_y`` and context. Every check raises a :class:`~cnnblocks.errors.ParameterError` naming the
public function it was given (``func``), so messages read as if raised by that function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cnnblocks import _checks
from cnnblocks._checks import fail
from cnnblocks.autograd import Context
from cnnblocks.shapes import PoolGeometry, axis_names, parse_data_format, pool_geometry


def _layout_words(rank: int) -> str:
    axes = ", ".join(axis_names(rank))
    return f"(N, C, {axes}) or, with data_format='NHWC', (N, {axes}, C)"


def _check_numeric(x: np.ndarray, func: str, name: str = "x") -> None:
    # dtype.kind: 'i'/'u' integers, 'f' floats (bool is 'b'); np.issubdtype costs ~5 µs a call
    if x.dtype.kind not in "iuf":
        raise fail(func, name, "a real numeric array (integer or floating-point)", x)


def _spatial_rank(x: np.ndarray, size_arg: Any, size_name: str, func: str) -> int:
    """Rank from a tuple-valued size argument, else from the input (``x.ndim - 2``)."""
    if isinstance(size_arg, Sequence) and not isinstance(size_arg, str):
        rank = len(size_arg)
        if rank not in (1, 2, 3):
            raise fail(
                func, size_name,
                "an int or a tuple of 1, 2 or 3 entries (one per spatial axis)", size_arg,
            )
        if x.ndim != rank + 2:
            raise fail(
                func, "x",
                f"a {rank + 2}-d array {_layout_words(rank)} to match the {rank} spatial "
                f"axes of {size_name}={tuple(size_arg)!r}",
                x,
            )
        return rank
    rank = x.ndim - 2
    if rank not in (1, 2, 3):
        raise fail(
            func, "x",
            "a batched 3-d (N, C, L), 4-d (N, C, H, W) or 5-d (N, C, D, H, W) array "
            "(channels last with data_format='NHWC'; add a batch axis with x[None])",
            x,
        )
    return rank


def _check_spatial_not_empty(
    arr: np.ndarray, spatial: tuple[int, ...], rank: int, func: str
) -> None:
    """Global and adaptive pools need at least one cell per spatial axis."""
    if min(spatial) < 1:
        raise fail(func, "x", f"an array with every spatial size >= 1 in {_layout_words(rank)}",
                   arr)


def _split(shape: tuple[int, ...], channels_last: bool) -> tuple[int, int, tuple[int, ...]]:
    if channels_last:
        return shape[0], shape[-1], shape[1:-1]
    return shape[0], shape[1], shape[2:]


def _prepare(
    x: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: Any,
    data_format: Any,
    func: str,
) -> tuple[np.ndarray, PoolGeometry, bool]:
    """Validate a windowed pool's arguments; return the array, its geometry and its layout."""
    arr = _checks.as_array(x, func=func)
    _check_numeric(arr, func)
    rank = _spatial_rank(arr, kernel_size, "kernel_size", func)
    channels_last = parse_data_format(data_format, rank, func=func)
    _, _, spatial = _split(arr.shape, channels_last)
    geometry = pool_geometry(
        spatial, kernel_size, stride, padding, dilation, ceil_mode, func=func
    )
    return arr, geometry, channels_last


def _out_shape(
    input_shape: tuple[int, ...], spatial_out: tuple[int, ...], channels_last: bool
) -> tuple[int, ...]:
    n, c, _ = _split(input_shape, channels_last)
    return (n, *spatial_out, c) if channels_last else (n, c, *spatial_out)


def _check_bool(value: Any, func: str, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise fail(func, name, "a bool", value)
    return bool(value)


def _backward_args(
    grad_y: Any, ctx: Any, op: str, func: str
) -> tuple[np.ndarray, Mapping[str, Any]]:
    """Check a backward call's arguments; return ``grad_y`` as an array and what forward saved.

    ``ctx`` must come from ``op``'s forward, and ``grad_y`` must be a floating array shaped like
    the forward output.
    """
    if not isinstance(ctx, Context) or ctx.op != op:
        got = ctx.op if isinstance(ctx, Context) else ctx
        raise fail(func, "ctx", f"the Context returned by {op}_forward()", got)
    grad = _checks.as_array(grad_y, func=func, name="grad_y")
    expected = tuple(ctx.saved["output_shape"])
    if grad.shape != expected:
        raise fail(
            func, "grad_y",
            f"an array of shape {expected} (the shape of the forward output)", grad,
        )
    _checks.check_float_dtype(grad, func=func, name="grad_y")
    return grad, ctx.saved


def _window_context(
    op: str,
    backward_fn: Callable[[np.ndarray, Context], Any],
    input_shape: tuple[int, ...],
    output_shape: tuple[int, ...],
    geometry: PoolGeometry,
    channels_last: bool,
    **extra: Any,
) -> Context:
    """The Context of a windowed pool: what every backward and :func:`_backward_args` read.

    ``extra`` holds what one operator adds (indices, divisor options, the Lp exponent).
    """
    return Context(
        op=op,
        backward_fn=backward_fn,
        saved={
            **extra,
            "input_shape": input_shape,
            "output_shape": output_shape,
            "geometry": geometry,
            "channels_last": channels_last,
        },
    )
