"""Max pooling over 1, 2 or 3 spatial axes: ``max_pool`` and its forward/backward pair.

Part of :mod:`cnnblocks.functional.pooling`, which re-exports these names; the window arithmetic
runs in :mod:`cnnblocks.engine.pooling` and argument checks come from the shared pool helpers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks.autograd import Context
from cnnblocks.engine import pooling as engine
from cnnblocks.functional._pool_args import (
    _backward_args,
    _check_bool,
    _prepare,
    _window_context,
)

__all__ = [
    "max_pool",
    "max_pool_backward",
    "max_pool_forward",
]


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
    ctx = _window_context(
        "max_pool", max_pool_backward, arr.shape, y.shape, geometry, channels_last,
        indices=indices.astype(np.int64, copy=False),
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

