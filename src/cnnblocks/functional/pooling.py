"""Pooling operators: NumPy in, NumPy out, each with a forward/backward pair.

A pooling layer summarises each window of neighbouring cells by one statistic (max, mean, Lp norm),
per channel: a 2x2 region becomes one pixel. For an input ``(N, C, *spatial)`` (``data_format=
'NCHW'``, the default) or ``(N, *spatial, C)`` (``'NHWC'``; these two names mean channels first /
last for 1, 2 and 3 spatial axes), the output keeps ``N`` and ``C`` and each spatial axis becomes

.. math::

    L_{out} = \\left\\lfloor \\frac{L + p_1 + p_2 - d (k - 1) - 1}{S} \\right\\rfloor + 1

(:func:`cnnblocks.shapes.pool_output_size`; the lesson's ``H_out = (H + p_h1 + p_h2 - k_h)/S_h + 1``
when ``d = 1``). ``ceil_mode`` rounds up instead, dropping a last window that would start in the
right padding (PyTorch = ONNX).

Every differentiable operator ``op`` comes as ``op(...)`` plus the pair::

    y, ctx = op_forward(x, ...)
    grad_x = op_backward(grad_y, ctx)     # also ctx.backward(grad_y)

Gradients come back with ``grad_y``'s dtype; backward calls never accumulate across calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cnnblocks import _checks
from cnnblocks._checks import fail
from cnnblocks.autograd import Context
from cnnblocks.engine import pooling as engine
from cnnblocks.errors import ParameterError
from cnnblocks.shapes import (
    PoolGeometry,
    axis_names,
    normalize_padding,
    parse_data_format,
    pool_geometry,
)

__all__ = [
    "adaptive_avg_pool",
    "adaptive_avg_pool_backward",
    "adaptive_avg_pool_forward",
    "adaptive_max_pool",
    "adaptive_max_pool_backward",
    "adaptive_max_pool_forward",
    "avg_pool",
    "avg_pool_backward",
    "avg_pool_forward",
    "global_avg_pool",
    "global_avg_pool_backward",
    "global_avg_pool_forward",
    "global_lp_pool",
    "global_lp_pool_backward",
    "global_lp_pool_forward",
    "global_max_pool",
    "global_max_pool_backward",
    "global_max_pool_forward",
    "lp_pool",
    "lp_pool_backward",
    "lp_pool_forward",
    "max_pool",
    "max_pool_backward",
    "max_pool_forward",
    "max_unpool",
    "max_unpool_backward",
    "max_unpool_forward",
]


# --------------------------------------------------------------------------- argument handling

def _layout_words(rank: int) -> str:
    axes = ", ".join(axis_names(rank))
    return f"(N, C, {axes}) or, with data_format='NHWC', (N, {axes}, C)"


def _check_numeric(x: np.ndarray, func: str, name: str = "x") -> None:
    if x.dtype == np.bool_ or not (
        np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
    ):
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


# --------------------------------------------------------------------------- max pooling

def max_pool_forward(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    *,
    data_format: str = "NCHW",
) -> tuple[np.ndarray, Context]:
    """Max pooling that also returns the :class:`~cnnblocks.autograd.Context` for backward.

    Same arguments as :func:`max_pool`. ``ctx.saved`` holds ``"indices"`` (int64, PyTorch's flat
    per-plane argmax), ``"input_shape"``, ``"output_shape"``, ``"geometry"`` and
    ``"channels_last"``.
    """
    func = "max_pool_forward"
    arr, geometry, channels_last = _prepare(
        x, kernel_size, stride, padding, dilation, ceil_mode, data_format, func
    )
    y, indices = engine.max_pool_forward(arr, geometry, channels_last, True)
    assert indices is not None  # internal invariant: the engine was asked for indices
    ctx = Context(
        op="max_pool",
        backward_fn=max_pool_backward,
        saved={
            "indices": indices.astype(np.int64, copy=False),
            "input_shape": arr.shape,
            "output_shape": y.shape,
            "geometry": geometry,
            "channels_last": channels_last,
        },
    )
    return y, ctx


def max_pool(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    data_format: str = "NCHW",
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Max pooling over 1, 2 or 3 spatial axes.

    .. math::

        y[n, c, o] = \\max_{j:\\; 0 \\le o S - p_1 + j d < L} x[n, c, o S - p_1 + j d]

    (per axis; the window is the product over axes). Padding cells are -inf: they never win, so an
    all-negative input stays negative. NaN propagates. Ties go to the first maximum in row-major
    window order.

    Parameters
    ----------
    x : array_like
        ``(N, C, *spatial)``, or ``(N, *spatial, C)`` with ``data_format='NHWC'``; 1 to 3 spatial
        axes (the rank is ``len(kernel_size)`` for a tuple, else ``x.ndim - 2``). Integer dtypes
        are accepted; the output keeps the input's dtype.
    kernel_size : int or tuple of int
        Window size per spatial axis (``k``).
    stride : int, tuple of int or None
        Step between windows (``S``); None means ``kernel_size``.
    padding : int, tuple or str
        Any form :func:`cnnblocks.shapes.normalize_padding` accepts: ``p``, ``(p_h, p_w)``, the
        lesson's ``(p_h1, p_h2, p_w1, p_w2)``, ``((p_h1, p_h2), (p_w1, p_w2))``, ``'SAME'``,
        ``'SAME_LOWER'``, ``'VALID'``.
    dilation : int or tuple of int
        Gap between taps (``d``); the window spans ``d (k - 1) + 1`` cells.
    ceil_mode : bool
        Round the output size up (dropping a last window that starts in the right padding).
    return_indices : bool
        Also return the int64 argmax, PyTorch's flat index in each ``(n, c)`` plane of the
        unpadded input (for NaN windows, the last NaN, as PyTorch).
    data_format : {'NCHW', 'NHWC'}
        Channels first or last (any rank).

    Returns
    -------
    y : ndarray
        ``(N, C, *spatial_out)`` (or channels last), per axis
        ``L_out = floor((L + p1 + p2 - d (k - 1) - 1) / S) + 1`` (ceil with ``ceil_mode``), see
        :func:`cnnblocks.shapes.pool_output_size`; ``N`` and ``C`` are kept.
    indices : ndarray of int64, optional
        Same shape as ``y``.

    Raises
    ------
    ParameterError
        Wrong ``ndim``, bad kernel/stride/dilation/padding, an output size < 1, or a window lying
        wholly in padding.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)      # d2l's [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    >>> max_pool(x, 2, stride=1)[0, 0]
    array([[4., 5.],
           [7., 8.]])
    """
    func = "max_pool"
    arr, geometry, channels_last = _prepare(
        x, kernel_size, stride, padding, dilation, ceil_mode, data_format, func
    )
    want = _check_bool(return_indices, func, "return_indices")
    y, indices = engine.max_pool_forward(arr, geometry, channels_last, want)
    if want:
        assert indices is not None  # internal invariant
        return y, indices.astype(np.int64, copy=False)
    return y


def max_pool_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Gradient of max pooling: each ``grad_y`` cell goes to its window's argmax.

    .. math::

        \\frac{\\partial L}{\\partial x_i} = \\sum_{o:\\; \\mathrm{argmax}(o) = i}
        \\frac{\\partial L}{\\partial y_o}

    Overlapping windows that share a maximum accumulate; a tie sends everything to the first
    maximum in row-major window order (``[2, 2, 1, 2]``, k=4 gives ``[1, 0, 0, 0]``).
    """
    grad, s = _backward_args(grad_y, ctx, "max_pool", "max_pool_backward")
    return engine.max_pool_backward(
        grad, s["indices"], s["geometry"], s["channels_last"], tuple(s["input_shape"])
    )


# --------------------------------------------------------------------------- average pooling

def _avg_options(
    count_include_pad: Any, divisor_override: Any, func: str
) -> tuple[bool, int | None]:
    cip = _check_bool(count_include_pad, func, "count_include_pad")
    if divisor_override is not None:
        divisor_override = _checks.as_int_tuple(
            divisor_override, 1, func=func, name="divisor_override"
        )[0]
    return cip, divisor_override


def _avg_pool_forward(
    func: str,
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    *,
    data_format: str = "NCHW",
) -> tuple[np.ndarray, Context]:
    """Average pooling that also returns the Context for :func:`avg_pool_backward`."""
    arr, geometry, channels_last = _prepare(
        x, kernel_size, stride, padding, dilation, ceil_mode, data_format, func
    )
    _checks.check_float_dtype(arr, func=func)
    cip, override = _avg_options(count_include_pad, divisor_override, func)
    y = engine.avg_pool_forward(arr, geometry, channels_last, cip, override)
    ctx = Context(
        op="avg_pool",
        backward_fn=avg_pool_backward,
        saved={
            "input_shape": arr.shape,
            "output_shape": y.shape,
            "geometry": geometry,
            "channels_last": channels_last,
            "count_include_pad": cip,
            "divisor_override": override,
        },
    )
    return y, ctx


def avg_pool_forward(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    *,
    data_format: str = "NCHW",
) -> tuple[np.ndarray, Context]:
    """Average pooling that also returns the Context for :func:`avg_pool_backward`."""
    return _avg_pool_forward(
        "avg_pool_forward", x, kernel_size, stride, padding, dilation, ceil_mode, count_include_pad,
        divisor_override, data_format=data_format,
    )


def avg_pool(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    *,
    data_format: str = "NCHW",
) -> np.ndarray:
    """Average pooling over 1, 2 or 3 spatial axes.

    .. math::

        y_o = \\frac{1}{D_o} \\sum_{i \\in \\text{window}(o),\\; 0 \\le i < L} x_i

    Padding contributes 0 to the sum. The divisor ``D_o`` (PyTorch = ONNX) counts the window's
    taps that lie in ``[-p1, L + p2)`` with ``count_include_pad=True`` (declared padding counts,
    the ceil-mode overhang does not), or in ``[0, L)`` with ``count_include_pad=False``;
    ``divisor_override`` replaces both. With dilation, only the taps themselves are counted.
    The derivative is :math:`\\partial y_o / \\partial x_i = 1 / D_o` for every real cell ``i``
    of window ``o``.

    Arguments and output shape are those of :func:`max_pool`; ``x`` must be floating point
    (float16 is summed in float32 and cast back; float32/float64 are kept).

    Examples
    --------
    >>> avg_pool(np.array([[[1.0, 2.0], [3.0, 4.0]]])[None], 2)   # a 2x2 region -> one pixel
    array([[[[2.5]]]])
    >>> avg_pool(np.ones((1, 1, 6)), 3, 2, 1, ceil_mode=True)
    array([[[0.66666667, 1.        , 1.        , 0.5       ]]])
    """
    return _avg_pool_forward(
        "avg_pool", x, kernel_size, stride, padding, dilation, ceil_mode, count_include_pad,
        divisor_override, data_format=data_format,
    )[0]


def avg_pool_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Gradient of average pooling: ``grad_y[o] / D_o`` added to each real cell of window ``o``."""
    grad, s = _backward_args(grad_y, ctx, "avg_pool", "avg_pool_backward")
    return engine.avg_pool_backward(
        grad, s["geometry"], s["channels_last"], s["count_include_pad"],
        s["divisor_override"], tuple(s["input_shape"]),
    )


# --------------------------------------------------------------------------- Lp pooling

def _check_p(p: Any, func: str) -> float:
    return _checks.check_real(p, func=func, name="p", low=1.0)


def _lp_scale(grad64: np.ndarray, y64: np.ndarray, p: float) -> np.ndarray:
    """``grad_y * y^(1-p)``, defined as 0 where the window's norm ``y`` is 0."""
    factor = np.zeros_like(y64)
    np.power(y64, 1.0 - p, out=factor, where=y64 > 0)
    return np.asarray(grad64 * factor)


def _lp_local(x64: np.ndarray, p: float) -> np.ndarray:
    """``d|x|^p / dx / p = sign(x) |x|^(p-1)`` (0 at x = 0 for every p >= 1)."""
    return np.asarray(np.sign(x64) * np.abs(x64) ** (p - 1.0))


def _lp_pool_forward(
    func: str,
    x: Any,
    p: float,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    *,
    data_format: str = "NCHW",
) -> tuple[np.ndarray, Context]:
    """Lp pooling that also returns the Context for :func:`lp_pool_backward`."""
    arr, geometry, channels_last = _prepare(
        x, kernel_size, stride, padding, dilation, ceil_mode, data_format, func
    )
    _checks.check_float_dtype(arr, func=func)
    power = _check_p(p, func)
    x64 = arr.astype(np.float64)
    # A window sum is an average with divisor 1; padding adds 0.
    sums = engine.avg_pool_forward(np.abs(x64) ** power, geometry, channels_last, True, 1)
    y64 = sums ** (1.0 / power)
    ctx = Context(
        op="lp_pool",
        backward_fn=lp_pool_backward,
        saved={
            "x": arr,
            "y64": y64,
            "p": power,
            "input_shape": arr.shape,
            "output_shape": y64.shape,
            "geometry": geometry,
            "channels_last": channels_last,
        },
    )
    return y64.astype(arr.dtype), ctx


def lp_pool_forward(
    x: Any,
    p: float,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    *,
    data_format: str = "NCHW",
) -> tuple[np.ndarray, Context]:
    """Lp pooling that also returns the Context for :func:`lp_pool_backward`."""
    return _lp_pool_forward(
        "lp_pool_forward", x, p, kernel_size, stride, padding, dilation, ceil_mode,
        data_format=data_format,
    )


def lp_pool(
    x: Any,
    p: float,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    *,
    data_format: str = "NCHW",
) -> np.ndarray:
    """Lp-norm pooling, ONNX's LpPool form.

    .. math::

        y_o = \\Big(\\sum_{i \\in \\text{window}(o)} |x_i|^p\\Big)^{1/p}, \\qquad
        \\frac{\\partial y_o}{\\partial x_i} = \\operatorname{sign}(x_i)
        \\Big(\\frac{|x_i|}{y_o}\\Big)^{p-1}

    Padding contributes 0. ``p`` is a real number >= 1 (ONNX uses integers, default 2). PyTorch's
    ``lp_pool`` differs: it uses ``x**p`` without ``abs`` and scales ceil-mode windows; we follow
    ONNX. Computed in float64 and cast back to ``x``'s dtype; ``|x|^p`` beyond float64's range
    overflows to inf. Arguments and output shape are those of :func:`max_pool`.

    Examples
    --------
    >>> lp_pool(np.array([[[3.0, -4.0]]]), 2, 2)
    array([[[5.]]])
    """
    return _lp_pool_forward(
        "lp_pool", x, p, kernel_size, stride, padding, dilation, ceil_mode, data_format=data_format
    )[0]


def lp_pool_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Gradient of Lp pooling; where a window's norm is 0 its gradient is defined as 0.

    At ``x_i = 0`` with ``p = 1`` the subgradient chosen is 0 (``sign(0) = 0``).
    """
    grad, s = _backward_args(grad_y, ctx, "lp_pool", "lp_pool_backward")
    scaled = _lp_scale(grad.astype(np.float64), s["y64"], s["p"])
    spread = engine.avg_pool_backward(
        scaled, s["geometry"], s["channels_last"], True, 1, tuple(s["input_shape"])
    )
    x64 = s["x"].astype(np.float64)
    return np.asarray(spread * _lp_local(x64, s["p"])).astype(grad.dtype)


# --------------------------------------------------------------------------- global pooling

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
    plane = int(np.prod(spatial))
    if channels_last:
        return arr, channels_last, arr.reshape(n, plane, c), 1
    return arr, channels_last, arr.reshape(n, c, plane), 2


def _global_out_shape(shape: tuple[int, ...], channels_last: bool) -> tuple[int, ...]:
    spatial = _split(shape, channels_last)[2]
    return _out_shape(shape, (1,) * len(spatial), channels_last)


def _may_hold_nan(a: np.ndarray) -> bool:
    """Cheap test: False guarantees no NaN (the float64 sum of a NaN-free array is not NaN
    unless it holds both infinities, which only costs the careful path)."""
    if not np.issubdtype(a.dtype, np.floating):
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isnan(np.sum(a, dtype=np.float64)))


def _argmax_last_nan(a: np.ndarray, axis: int, check_nan: bool = True) -> np.ndarray:
    """Argmax along ``axis`` (keepdims): the first maximum, or the last NaN if there is one.

    That is PyTorch's rule (``val > max || isnan(val)`` scanned in order). ``check_nan=False``
    skips the NaN search for data known to hold none.
    """
    index: np.ndarray = np.argmax(a, axis=axis, keepdims=True)
    if check_nan and np.issubdtype(a.dtype, np.floating):
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


# --------------------------------------------------------------------------- adaptive pooling

def adaptive_bins(length: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive bins: bin ``i`` covers ``[floor(i L / O), ceil((i + 1) L / O))``.

    >>> adaptive_bins(10, 4)
    (array([0, 2, 5, 7]), array([ 3,  5,  8, 10]))
    """
    i = np.arange(out)
    return (i * length) // out, -(-((i + 1) * length) // out)


def _on_axis(values: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """``values`` (one per position along ``axis``) shaped to broadcast against an ndim array."""
    shape = [1] * ndim
    shape[axis] = values.size
    return values.reshape(shape)


def _adaptive_prepare(
    x: Any, output_size: Any, data_format: Any, func: str
) -> tuple[np.ndarray, bool, tuple[int, ...], tuple[int, ...]]:
    """Return the array, its layout, the spatial axes and the resolved output size."""
    arr = _checks.as_array(x, func=func)
    _check_numeric(arr, func)
    rank = _spatial_rank(arr, output_size, "output_size", func)
    channels_last = parse_data_format(data_format, rank, func=func)
    _, _, spatial = _split(arr.shape, channels_last)
    _check_spatial_not_empty(arr, spatial, rank, func)
    rule = f"an int >= 1 or a tuple of {rank} entries, each an int >= 1 or None (keep that size)"
    if isinstance(output_size, Sequence) and not isinstance(output_size, str):
        entries = tuple(output_size)
    else:
        entries = (output_size,) * rank
    sizes: list[int] = []
    for entry, length in zip(entries, spatial, strict=True):
        if entry is None:
            sizes.append(length)
            continue
        try:
            sizes.append(_checks.as_int_tuple(entry, 1, func=func, name="output_size")[0])
        except ParameterError:
            raise fail(func, "output_size", rule, output_size) from None
    first = 1 if channels_last else 2
    axes = tuple(range(first, first + rank))
    return arr, channels_last, axes, tuple(sizes)


def _along(ndim: int, axis: int, index: slice | np.ndarray) -> tuple[slice | np.ndarray, ...]:
    full: list[slice | np.ndarray] = [slice(None)] * ndim
    full[axis] = index
    return tuple(full)


# Adaptive bins are contiguous windows of K = max(ends - starts) <= L/O + 2 cells, pooled one axis
# at a time without a loop over bins or cells. The mean adds tap j of every bin at once (K
# vectorised passes, and their transpose for the gradient); the maximum lays each bin's cells out
# as an (O, K) block and takes one argmax over it. Memory stays O(input + output).

def _bin_taps(starts: np.ndarray, ends: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per tap ``j``: the bins with more than ``j`` cells and the cell each reads, ``start + j``.

    Within one tap the bins are distinct, so ``out[bins] += x[cells]`` adds each term once.
    """
    sizes = ends - starts
    taps = []
    for j in range(int(sizes.max())):
        bins = np.flatnonzero(sizes > j)
        taps.append((bins, starts[bins] + j))
    return taps


def _cell_taps(
    starts: np.ndarray, ends: np.ndarray, length: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The transpose of :func:`_bin_taps`: per tap ``r``, cells and the ``r``-th bin covering each.

    Bins covering cell ``t`` are consecutive, from the first with ``end > t`` to the last with
    ``start <= t``; within one tap the cells are distinct.
    """
    cells = np.arange(length)
    first = np.searchsorted(ends, cells, side="right")
    last = np.searchsorted(starts, cells, side="right") - 1
    count = last - first + 1
    taps = []
    for r in range(int(count.max())):
        covered = np.flatnonzero(count > r)
        taps.append((covered, first[covered] + r))
    return taps


def _bin_cells(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``(O, K)`` cell numbers: row ``i`` lists bin ``i``'s cells, its last cell repeated to K.

    For a maximum the repeats are harmless: a cell cannot beat itself, and a repeated NaN
    names the same cell. ``O * K <= L + 2 O``: about one copy of the input, never more.
    """
    sizes = ends - starts
    cells: np.ndarray = np.minimum(starts[:, None] + np.arange(int(sizes.max())), ends[:, None] - 1)
    return cells


def _binned(x: np.ndarray, axis: int, cells: np.ndarray) -> np.ndarray:
    """``x`` with ``axis`` replaced by the two axes ``(O, K)`` of ``cells``.

    Bins that tile the axis exactly (``L = O K``) need no copy: a reshape; otherwise one gather.
    """
    out, width = cells.shape
    shape = (*x.shape[:axis], out, width, *x.shape[axis + 1:])
    if out * width == x.shape[axis] and np.array_equal(cells.ravel(), np.arange(out * width)):
        return x.reshape(shape)
    return np.take(x, cells.ravel(), axis=axis).reshape(shape)


def _on_axes(cells: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """``(O, K)`` ``cells`` shaped to broadcast against an array whose axes ``axis, axis+1`` are
    ``(O, K)``."""
    return cells.reshape((1,) * axis + cells.shape + (1,) * (ndim - axis - 2))


def _add_taps(
    dst: np.ndarray, src: np.ndarray, axis: int, taps: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    """``dst[..., to, ...] += src[..., frm, ...]`` along ``axis`` for every ``(to, frm)`` tap."""
    whole = dst.shape[axis]
    for to, frm in taps:
        part = np.take(src, frm, axis=axis)
        if to.size == whole:  # every position: a plain in-place add, no fancy assignment
            dst += part
        else:
            dst[_along(dst.ndim, axis, to)] += part


def _adaptive_avg_pool_forward(
    func: str,
    x: Any, output_size: Any, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Adaptive average pooling that also returns the Context."""
    arr, _, axes, sizes = _adaptive_prepare(x, output_size, data_format, func)
    _checks.check_float_dtype(arr, func=func)
    acc = np.dtype(np.float32) if arr.dtype == np.float16 else arr.dtype
    current = arr
    # The mean over a product of bins is the mean of per-axis means: reduce axis by axis.
    for axis, out in zip(axes, sizes, strict=True):
        starts, ends = adaptive_bins(current.shape[axis], out)
        shape = list(current.shape)
        shape[axis] = out
        reduced = np.zeros(shape, dtype=acc)
        _add_taps(reduced, current, axis, _bin_taps(starts, ends))
        reduced /= _on_axis(ends - starts, axis, reduced.ndim)
        current = reduced
    y = current.astype(arr.dtype, copy=False)
    ctx = Context(
        op="adaptive_avg_pool",
        backward_fn=adaptive_avg_pool_backward,
        saved={"input_shape": arr.shape, "output_shape": y.shape, "axes": axes},
    )
    return y, ctx


def adaptive_avg_pool_forward(
    x: Any, output_size: Any, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Adaptive average pooling that also returns the Context."""
    return _adaptive_avg_pool_forward(
        "adaptive_avg_pool_forward", x, output_size, data_format=data_format
    )


def adaptive_avg_pool(x: Any, output_size: Any, *, data_format: str = "NCHW") -> np.ndarray:
    """Average over adaptive bins so the output has exactly ``output_size`` cells per axis.

    Bin ``i`` of an axis of length ``L`` pooled to ``O`` covers
    ``[floor(i L / O), ceil((i + 1) L / O))`` (PyTorch); bins overlap when ``O`` does not divide
    ``L``, and repeat cells when ``O > L``.

    .. math:: y_i = \\frac{1}{|B_i|} \\sum_{j \\in B_i} x_j, \\qquad
        \\frac{\\partial y_i}{\\partial x_j} = \\frac{1}{|B_i|} \\; (j \\in B_i)

    Parameters
    ----------
    x : array_like
        ``(N, C, *spatial)`` or channels last; floating point.
    output_size : int or tuple of (int or None)
        Output size per spatial axis; ``None`` keeps that axis's size.

    Examples
    --------
    >>> adaptive_avg_pool(np.array([[[1.0, 2.0, 3.0]]]), 5)
    array([[[1. , 1.5, 2. , 2.5, 3. ]]])
    """
    return _adaptive_avg_pool_forward(
        "adaptive_avg_pool", x, output_size, data_format=data_format
    )[0]


def adaptive_avg_pool_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Gradient of :func:`adaptive_avg_pool`: each bin spreads ``grad / |bin|`` over its cells."""
    grad, s = _backward_args(grad_y, ctx, "adaptive_avg_pool", "adaptive_avg_pool_backward")
    acc = np.dtype(np.float32) if grad.dtype == np.float16 else grad.dtype
    current = grad.astype(acc)
    input_shape = tuple(s["input_shape"])
    for axis in reversed(s["axes"]):
        length = input_shape[axis]
        starts, ends = adaptive_bins(length, current.shape[axis])
        shape = list(current.shape)
        shape[axis] = length
        spread = np.zeros(shape, dtype=acc)
        share = current / _on_axis(ends - starts, axis, current.ndim)
        _add_taps(spread, share, axis, _cell_taps(starts, ends, length))
        current = spread
    return current.astype(grad.dtype, copy=False)


def _adaptive_max_pool_forward(
    func: str,
    x: Any, output_size: Any, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Adaptive max pooling that also returns the Context (``saved["indices"]``)."""
    arr, channels_last, axes, sizes = _adaptive_prepare(x, output_size, data_format, func)
    spatial = tuple(arr.shape[a] for a in axes)
    check_nan = _may_hold_nan(arr)
    current = arr
    chosen: dict[int, np.ndarray] = {}  # axis -> position of the winning cell along that axis
    # Reduce the innermost axis first: the winner along W in each row, then the first row whose
    # winner is largest. That order finds the first maximum in row-major order (and the last NaN).
    for axis, out in reversed(list(zip(axes, sizes, strict=True))):
        starts, ends = adaptive_bins(current.shape[axis], out)
        cells = _bin_cells(starts, ends)  # (O, K)
        binned = _binned(current, axis, cells)  # the axis split into (O, K)
        winner = _argmax_last_nan(binned, axis + 1, check_nan)  # (..., O, 1, ...)
        values = np.take_along_axis(binned, winner, axis=axis + 1).squeeze(axis + 1)
        grid = np.broadcast_to(_on_axes(cells, axis, binned.ndim), binned.shape)
        own = np.take_along_axis(grid, winner, axis=axis + 1).squeeze(axis + 1)
        chosen = {
            other: np.take_along_axis(positions, own, axis=axis)
            for other, positions in chosen.items()
        }
        chosen[axis] = own
        current = values
    indices = np.zeros(current.shape, dtype=np.int64)
    for k, axis in enumerate(axes):
        indices += chosen[axis] * int(np.prod(spatial[k + 1:]))
    ctx = Context(
        op="adaptive_max_pool",
        backward_fn=adaptive_max_pool_backward,
        saved={"indices": indices, "input_shape": arr.shape, "output_shape": current.shape,
               "channels_last": channels_last},
    )
    return current, ctx


def adaptive_max_pool_forward(
    x: Any, output_size: Any, *, data_format: str = "NCHW"
) -> tuple[np.ndarray, Context]:
    """Adaptive max pooling that also returns the Context (``saved["indices"]``)."""
    return _adaptive_max_pool_forward(
        "adaptive_max_pool_forward", x, output_size, data_format=data_format
    )


def adaptive_max_pool(
    x: Any, output_size: Any, return_indices: bool = False, *, data_format: str = "NCHW"
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Maximum over adaptive bins (see :func:`adaptive_avg_pool` for the bins).

    Integer dtypes are accepted. NaN propagates; ties go to the first maximum in row-major order;
    ``return_indices`` gives PyTorch's int64 flat per-plane indices. The gradient goes to the
    argmax; overlapping bins accumulate.

    Examples
    --------
    >>> adaptive_max_pool(np.array([[[1.0, 5.0, 2.0, 0.0]]]), 2)
    array([[[5., 2.]]])
    """
    want = _check_bool(return_indices, "adaptive_max_pool", "return_indices")
    y, ctx = _adaptive_max_pool_forward(
        "adaptive_max_pool", x, output_size, data_format=data_format
    )
    if want:
        return y, ctx.saved["indices"]
    return y


def adaptive_max_pool_backward(grad_y: Any, ctx: Context) -> np.ndarray:
    """Gradient of :func:`adaptive_max_pool`: scatter-add to the argmax of each bin."""
    grad, s = _backward_args(grad_y, ctx, "adaptive_max_pool", "adaptive_max_pool_backward")
    return engine.scatter_add_to_planes(
        grad, s["indices"], s["channels_last"], tuple(s["input_shape"])
    )


# --------------------------------------------------------------------------- max unpooling

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
    positions = engine.plane_positions(idx, channels_last, out_shape)
    out = np.zeros(out_shape, dtype=arr.dtype)
    # Duplicate indices: the last value written wins (PyTorch leaves the order unspecified).
    out.reshape(-1)[positions.ravel()] = arr.ravel()
    ctx = Context(
        op="max_unpool",
        backward_fn=max_unpool_backward,
        saved={"positions": positions, "indices": idx, "input_shape": arr.shape,
               "output_shape": out_shape, "channels_last": channels_last},
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
    return np.asarray(grad.reshape(-1)[s["positions"]])
