"""Lp-norm pooling (ONNX's LpPool form): ``lp_pool`` and its forward/backward pair.

Part of :mod:`cnnblocks.functional.pooling`, which re-exports these names; also holds the ``p``
check and the gradient pieces (``y^(1-p)`` scale, ``sign(x) |x|^(p-1)``) that global Lp pooling
reuses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks import _checks
from cnnblocks.autograd import Context
from cnnblocks.engine import fast_lp
from cnnblocks.engine import pooling as engine
from cnnblocks.functional._pool_args import _backward_args, _prepare, _window_context

__all__ = [
    "lp_pool",
    "lp_pool_backward",
    "lp_pool_forward",
]


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
    if fast_lp.supports(arr, geometry, power):
        y, y64 = fast_lp.forward(arr, geometry, channels_last, power)
    else:
        x64 = arr.astype(np.float64)
        # A window sum is an average with divisor 1; padding adds 0.
        sums = engine.avg_pool_forward(np.abs(x64) ** power, geometry, channels_last, True, 1)
        y64 = sums ** (1.0 / power)
        y = y64.astype(arr.dtype)
    ctx = _window_context(
        "lp_pool", lp_pool_backward, arr.shape, y64.shape, geometry, channels_last,
        x=arr, y64=y64, p=power,
    )
    return y, ctx


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
    overflows to inf. ``p`` of 1 or 2 with float32 and float64 inputs (1-D to 3-D windows)
    runs on compiled kernels (:mod:`cnnblocks.engine.fast_lp`), everything else on NumPy.
    Arguments and output shape are those of :func:`max_pool`.

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
    p, geometry = s["p"], s["geometry"]
    if fast_lp.supports(grad, geometry, p) and fast_lp.supports(s["x"], geometry, p):
        return fast_lp.backward(
            grad, s["y64"], s["x"], s["geometry"], s["channels_last"], s["p"]
        )
    scaled = _lp_scale(grad.astype(np.float64), s["y64"], s["p"])
    spread = engine.avg_pool_backward(
        scaled, s["geometry"], s["channels_last"], True, 1, tuple(s["input_shape"])
    )
    x64 = s["x"].astype(np.float64)
    return np.asarray(spread * _lp_local(x64, s["p"])).astype(grad.dtype)

