"""Max unpooling: ``max_unpool`` (the partial inverse of max pooling) and its forward/backward.

Part of :mod:`cnnblocks.functional.pooling`, which re-exports these names; scatters each value to
the flat per-plane index that :func:`~cnnblocks.functional.pooling.max_pool` returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnnblocks import _checks
from cnnblocks._checks import fail
from cnnblocks.autograd import Context
from cnnblocks.engine import fast_unpool
from cnnblocks.engine import pooling as engine
from cnnblocks.errors import ParameterError
from cnnblocks.functional._pool_args import _backward_args, _check_numeric, _spatial_rank, _split
from cnnblocks.shapes import axis_names, normalize_padding, parse_data_format

__all__ = [
    "max_unpool",
    "max_unpool_backward",
    "max_unpool_forward",
]


def _unpool_prepare(
    y: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    output_size: Any,
    data_format: Any,
    func: str,
) -> tuple[np.ndarray, np.ndarray, bool, tuple[int, ...]]:
    """Validate max_unpool's arguments; return y, indices, layout and the full output shape."""
    arr = _checks.as_array(y, func=func, name="y")
    _check_numeric(arr, func, "y")
    rank = _spatial_rank(arr, kernel_size, "kernel_size", func)
    channels_last = parse_data_format(data_format, rank, func=func)
    n, c, spatial = _split(arr.shape, channels_last)
    kernel = _checks.as_int_tuple(kernel_size, rank, func=func, name="kernel_size")
    strides = kernel if stride is None else _checks.as_int_tuple(
        stride, rank, func=func, name="stride"
    )
    names = axis_names(rank)
    if output_size is None:
        if isinstance(padding, str) and padding.upper() != "VALID":
            raise fail(
                func, "padding",
                "an int or a tuple of ints when output_size is not given (SAME padding depends "
                "on the unpooled size; pass output_size)",
                padding,
            )
        pads = normalize_padding(padding, spatial, kernel, strides, (1,) * rank, func=func)
        sizes = []
        for length, k, s, (p1, p2), a in zip(spatial, kernel, strides, pads, names, strict=True):
            size = (length - 1) * s - p1 - p2 + k
            if size < 1:
                raise ParameterError(
                    f"{func}() would give an output of size {size} < 1 along {a}: "
                    f"{a}_out = ({a}_in - 1)*S - p1 - p2 + k = ({length} - 1)*{s} - {p1} - {p2}"
                    f" + {k} = {size}. Use less padding or pass output_size."
                )
            sizes.append(size)
        out_spatial = tuple(sizes)
    else:
        rule = (f"a tuple of {rank} ints >= 1 (the spatial size) or of {rank + 2} ints "
                f"(the whole output shape)")
        if not isinstance(output_size, Sequence) or isinstance(output_size, str) or len(
            output_size
        ) not in (rank, rank + 2):
            raise fail(func, "output_size", rule, output_size)
        full = tuple(output_size)
        if len(full) == rank + 2:
            full = _split(full, channels_last)[2]
        try:
            out_spatial = _checks.as_int_tuple(full, rank, func=func, name="output_size")
        except ParameterError:
            raise fail(func, "output_size", rule, output_size) from None
    idx = _checks.as_array(indices, func=func, name="indices")
    if idx.shape != arr.shape:
        raise fail(func, "indices", f"an array of the same shape as y, {arr.shape}", idx)
    if idx.dtype == np.bool_ or not np.issubdtype(idx.dtype, np.integer):
        raise fail(func, "indices", "an integer array", idx)
    plane = int(np.prod(out_spatial))
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
        dims = " x ".join(str(v) for v in out_spatial)
        raise ParameterError(
            f"The 'indices' parameter of {func}() must be flat positions in [0, {plane}) of an "
            f"output plane of {dims}. Got values from {int(idx.min())} to {int(idx.max())} "
            f"instead (pass the output_size of the pooled input, or the matching indices)."
        )
    out_shape = (n, *out_spatial, c) if channels_last else (n, c, *out_spatial)
    return arr, idx, channels_last, out_shape


def _max_unpool_forward(
    func: str,
    y: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
    *,
    data_format: str = "NCHW",
) -> tuple[np.ndarray, Context]:
    """Max unpooling that also returns the Context for :func:`max_unpool_backward`."""
    arr, idx, channels_last, out_shape = _unpool_prepare(
        y, indices, kernel_size, stride, padding, output_size, data_format, func
    )
    # Duplicate indices: the last value written wins (PyTorch leaves the order unspecified).
    if fast_unpool.supports(arr):
        out = fast_unpool.forward(arr, idx, channels_last, out_shape)
    else:
        positions = engine.plane_positions(idx, channels_last, out_shape)
        out = np.zeros(out_shape, dtype=arr.dtype)
        out.reshape(-1)[positions.ravel()] = arr.ravel()
    ctx = Context(
        op="max_unpool",
        backward_fn=max_unpool_backward,
        saved={"indices": idx, "input_shape": arr.shape, "output_shape": out_shape,
               "channels_last": channels_last},
    )
    return out, ctx


def max_unpool_forward(
    y: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
    *,
    data_format: str = "NCHW",
) -> tuple[np.ndarray, Context]:
    """Max unpooling that also returns the Context for :func:`max_unpool_backward`."""
    return _max_unpool_forward(
        "max_unpool_forward", y, indices, kernel_size, stride, padding, output_size,
        data_format=data_format,
    )


def max_unpool(
    y: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
    *,
    data_format: str = "NCHW",
) -> np.ndarray:
    """Partial inverse of :func:`max_pool`: put each value back at its index, zeros elsewhere.

    .. math:: \\text{out}[n, c, \\text{indices}[n, c, o]] = y[n, c, o]

    Parameters
    ----------
    y, indices : array_like
        The pooled values and the int indices :func:`max_pool` returned (same shape).
    kernel_size, stride, padding
        Those of the max pooling; they give the default output size per axis,
        ``(L_in - 1) S - p1 - p2 + k`` (PyTorch).
    output_size : tuple of int, optional
        The unpooled size (spatial part, or the whole shape), needed when several input sizes pool
        to the same output.

    Raises
    ------
    ParameterError
        If ``indices`` does not have ``y``'s shape or names a cell outside the output plane.

    Examples
    --------
    >>> max_unpool(np.array([[[3.0]]]), np.array([[[1]]]), 2)
    array([[[0., 3.]]])
    """
    return _max_unpool_forward(
        "max_unpool", y, indices, kernel_size, stride, padding, output_size, data_format=data_format
    )[0]


def max_unpool_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Gradient of :func:`max_unpool`: gather ``grad_y`` at the indices (PyTorch).

    With duplicate indices every source gets the gradient of the shared cell, as in PyTorch.
    """
    grad, s = _backward_args(grad_y, ctx, "max_unpool", "max_unpool_backward")
    if fast_unpool.supports(grad):
        return fast_unpool.backward(grad, s["indices"], s["channels_last"])
    positions = engine.plane_positions(s["indices"], s["channels_last"], tuple(s["output_shape"]))
    return np.asarray(np.ascontiguousarray(grad).reshape(-1)[positions])

