"""Average pooling over 1, 2 or 3 spatial axes: ``avg_pool`` and its forward/backward pair.

Part of :mod:`cnnblocks.functional.pooling`, which re-exports these names; also holds the
``count_include_pad``/``divisor_override`` option checks and the shared forward used by the
public forward and plain calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks import _checks
from cnnblocks.autograd import Context
from cnnblocks.engine import pooling as engine
from cnnblocks.functional._pool_args import (
    _backward_args,
    _check_bool,
    _prepare,
    _window_context,
)

__all__ = [
    "avg_pool",
    "avg_pool_backward",
    "avg_pool_forward",
]


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
    ctx = _window_context(
        "avg_pool", avg_pool_backward, arr.shape, y.shape, geometry, channels_last,
        count_include_pad=cip, divisor_override=override,
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

