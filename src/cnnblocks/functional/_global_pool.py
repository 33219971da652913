"""Global pooling (max, average, Lp) over all spatial axes, which are kept with size 1.

Part of :mod:`cnnblocks.functional.pooling`, which re-exports these names. Also holds the
PyTorch-rule argmax (first maximum, or the last NaN) and its cheap NaN pre-test, which adaptive
max pooling reuses.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnblocks import _checks
from cnnblocks.autograd import Context
from cnnblocks.engine import pooling as engine
from cnnblocks.functional._lp_pool import _check_p, _lp_local, _lp_scale
from cnnblocks.functional._pool_args import (
    _backward_args,
    _check_numeric,
    _check_spatial_not_empty,
    _out_shape,
    _spatial_rank,
    _split,
)
from cnnblocks.shapes import parse_data_format

__all__ = [
    "global_avg_pool",
    "global_avg_pool_backward",
    "global_avg_pool_forward",
    "global_lp_pool",
    "global_lp_pool_backward",
    "global_lp_pool_forward",
    "global_max_pool",
    "global_max_pool_backward",
    "global_max_pool_forward",
]


def _global_prepare(
    x: Any, data_format: Any, func: str
) -> tuple[np.ndarray, bool, np.ndarray, int]:
    """Return the array, its layout, a 3-d view ``(N, C, P)`` or ``(N, P, C)``, and the P axis."""
    arr = _checks.as_array(x, func=func)
    _check_numeric(arr, func)
    rank = _spatial_rank(arr, None, "x", func)
    channels_last = parse_data_format(data_format, rank, func=func)
    n, c, spatial = _split(arr.shape, channels_last)
    _check_spatial_not_empty(arr, spatial, rank, func)
    plane = math.prod(spatial)
    if channels_last:
        return arr, channels_last, arr.reshape(n, plane, c), 1
    return arr, channels_last, arr.reshape(n, c, plane), 2


def _global_out_shape(shape: tuple[int, ...], channels_last: bool) -> tuple[int, ...]:
    spatial = _split(shape, channels_last)[2]
    return _out_shape(shape, (1,) * len(spatial), channels_last)


def _may_hold_nan(a: np.ndarray) -> bool:
    """Cheap test: False guarantees no NaN (the float64 sum of a NaN-free array is not NaN
    unless it holds both infinities, which only costs the careful path)."""
    if a.dtype.kind != "f":
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isnan(np.sum(a, dtype=np.float64)))


def _argmax_last_nan(a: np.ndarray, axis: int, check_nan: bool = True) -> np.ndarray:
    """Argmax along ``axis`` (keepdims): the first maximum, or the last NaN if there is one.

    That is PyTorch's rule (``val > max || isnan(val)`` scanned in order). ``check_nan=False``
    skips the NaN search for data known to hold none.
    """
    index: np.ndarray = np.argmax(a, axis=axis, keepdims=True)
    if check_nan and a.dtype.kind == "f":
        nan = np.isnan(a)
        if nan.any():
            last = a.shape[axis] - 1 - np.argmax(np.flip(nan, axis), axis=axis, keepdims=True)
            index = np.where(nan.any(axis=axis, keepdims=True), last, index)
    return index


def _global_max_pool_forward(
    func: str,
    x: Any, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Global max pooling that also returns the Context (``saved["indices"]``: per-plane argmax)."""
    arr, channels_last, flat, reduce_axis = _global_prepare(x, data_format, func)
    index = _argmax_last_nan(flat, reduce_axis, _may_hold_nan(flat))
    out_shape = _global_out_shape(arr.shape, channels_last)
    y = np.take_along_axis(flat, index, axis=reduce_axis).reshape(out_shape)
    ctx = Context(
        op="global_max_pool",
        backward_fn=global_max_pool_backward,
        saved={
            "indices": index.reshape(out_shape),
            "input_shape": arr.shape,
            "output_shape": out_shape,
            "channels_last": channels_last,
        },
    )
    return y, ctx


def global_max_pool_forward(
    x: Any, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Global max pooling that also returns the Context (``saved["indices"]``: per-plane argmax)."""
    return _global_max_pool_forward(
        "global_max_pool_forward", x, data_format=data_format
    )


def global_max_pool(x: Any, *, data_format: str = "NCHW") -> np.ndarray:
    """Maximum over all spatial axes, which are kept with size 1.

    .. math:: y_{n,c} = \\max_i x_{n,c,i}

    ``(N, C, H, W) -> (N, C, 1, 1)`` (or ``(N, H, W, C) -> (N, 1, 1, C)``). NaN propagates;
    integer dtypes are accepted. The gradient goes to the first maximum (row-major), or the last
    NaN, as :func:`max_pool`.

    Examples
    --------
    >>> global_max_pool(np.array([[[1.0, 3.0], [2.0, 0.0]]])[None])
    array([[[[3.]]]])
    """
    return _global_max_pool_forward("global_max_pool", x, data_format=data_format)[0]


def global_max_pool_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Gradient of :func:`global_max_pool`: all of ``grad_y`` goes to the argmax cell."""
    grad, s = _backward_args(grad_y, ctx, "global_max_pool", "global_max_pool_backward")
    return engine.scatter_add_to_planes(
        grad, s["indices"], s["channels_last"], tuple(s["input_shape"])
    )


def _global_avg_pool_forward(
    func: str,
    x: Any, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Global average pooling that also returns the Context."""
    arr, channels_last, flat, reduce_axis = _global_prepare(x, data_format, func)
    _checks.check_float_dtype(arr, func=func)
    acc = np.float32 if arr.dtype == np.float16 else arr.dtype
    plane = flat.shape[reduce_axis]
    out_shape = _global_out_shape(arr.shape, channels_last)
    fast = engine.global_avg_pool_forward(arr, channels_last)  # compiled; None if not applicable
    if fast is not None:
        y = fast
    else:
        y = (flat.sum(axis=reduce_axis, dtype=acc) / plane).astype(arr.dtype).reshape(out_shape)
    ctx = Context(
        op="global_avg_pool",
        backward_fn=global_avg_pool_backward,
        saved={"input_shape": arr.shape, "output_shape": out_shape,
               "channels_last": channels_last, "plane": plane},
    )
    return y, ctx


def global_avg_pool_forward(
    x: Any, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Global average pooling that also returns the Context."""
    return _global_avg_pool_forward(
        "global_avg_pool_forward", x, data_format=data_format
    )


def global_avg_pool(x: Any, *, data_format: str = "NCHW") -> np.ndarray:
    """Mean over all spatial axes, which are kept with size 1.

    .. math:: y_{n,c} = \\frac{1}{P} \\sum_i x_{n,c,i}, \\qquad
        \\frac{\\partial y_{n,c}}{\\partial x_{n,c,i}} = \\frac{1}{P}

    with ``P`` the number of spatial cells. Floating point only (float16 summed in float32).

    Examples
    --------
    >>> global_avg_pool(np.array([[[1.0, 3.0], [2.0, 0.0]]])[None])
    array([[[[1.5]]]])
    """
    return _global_avg_pool_forward("global_avg_pool", x, data_format=data_format)[0]


def global_avg_pool_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Gradient of :func:`global_avg_pool`: ``grad_y / P`` on every cell."""
    grad, s = _backward_args(grad_y, ctx, "global_avg_pool", "global_avg_pool_backward")
    fast = engine.global_avg_pool_backward(grad, s["channels_last"], tuple(s["input_shape"]))
    if fast is not None:
        return fast
    share = grad / np.asarray(s["plane"], dtype=grad.dtype)
    return np.array(np.broadcast_to(share, s["input_shape"]))


def _global_lp_pool_forward(
    func: str,
    x: Any, p: float = 2, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Global Lp pooling that also returns the Context."""
    arr, channels_last, flat, reduce_axis = _global_prepare(x, data_format, func)
    _checks.check_float_dtype(arr, func=func)
    power = _check_p(p, func)
    out_shape = _global_out_shape(arr.shape, channels_last)
    y64 = (np.abs(flat.astype(np.float64)) ** power).sum(axis=reduce_axis) ** (1.0 / power)
    y64 = y64.reshape(out_shape)
    ctx = Context(
        op="global_lp_pool",
        backward_fn=global_lp_pool_backward,
        saved={"x": arr, "y64": y64, "p": power, "input_shape": arr.shape,
               "output_shape": out_shape, "channels_last": channels_last},
    )
    return y64.astype(arr.dtype), ctx


def global_lp_pool_forward(
    x: Any, p: float = 2, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Global Lp pooling that also returns the Context."""
    return _global_lp_pool_forward(
        "global_lp_pool_forward", x, p, data_format=data_format
    )


def global_lp_pool(x: Any, p: float = 2, *, data_format: str = "NCHW") -> np.ndarray:
    """Lp norm over all spatial axes (ONNX GlobalLpPool), which are kept with size 1.

    .. math:: y_{n,c} = \\Big(\\sum_i |x_{n,c,i}|^p\\Big)^{1/p}

    Gradient as :func:`lp_pool` (0 where the norm is 0). Computed in float64, cast back.

    Examples
    --------
    >>> global_lp_pool(np.array([[[3.0, 4.0]]]))
    array([[[5.]]])
    """
    return _global_lp_pool_forward("global_lp_pool", x, p, data_format=data_format)[0]


def global_lp_pool_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Gradient of :func:`global_lp_pool`."""
    grad, s = _backward_args(grad_y, ctx, "global_lp_pool", "global_lp_pool_backward")
    scaled = _lp_scale(grad.astype(np.float64), s["y64"], s["p"])
    x64 = s["x"].astype(np.float64)
    return np.asarray(scaled * _lp_local(x64, s["p"])).astype(grad.dtype)

