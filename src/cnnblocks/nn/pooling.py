"""Pooling layers: thin wrappers of :mod:`cnnblocks.functional.pooling`.

Each layer stores the operator's :class:`~cnnblocks.autograd.Context` on forward and calls
``ctx.backward`` going back. Pooling has no parameters. Shapes follow
:func:`cnnblocks.shapes.pool_output_shape`:
``H_out = floor((H + p_h1 + p_h2 − d (k_h − 1) − 1) / S_h) + 1``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks.functional import pooling as _ops
from cnnblocks.nn.module import Module

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "GlobalAvgPool2d", "GlobalMaxPool2d", "MaxPool2d"]


class _Pool(Module):
    _op = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.kwargs = kwargs
        self._ctx: Any = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Pool an ``(N, C, H, W)`` batch."""
        self._check_input(x, "(N, C, H, W)", x.ndim == 4)
        y, self._ctx = getattr(_ops, f"{self._op}_forward")(x, **self.kwargs)
        return np.asarray(y)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Route the gradient back through the windows (max: to the argmax; avg: spread)."""
        return np.asarray(self._saved(self._ctx).backward(grad_out))

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())


class MaxPool2d(_Pool):
    """Max pooling: each window's maximum (padding is −inf; ties go to the first maximum)."""

    _op = "max_pool"

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size=kernel_size, stride=stride, padding=padding,
                         dilation=dilation, ceil_mode=ceil_mode)


class AvgPool2d(_Pool):
    """Average pooling; ``count_include_pad`` chooses the divisor as PyTorch does."""

    _op = "avg_pool"

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None, dilation: Any = 1) -> None:
        super().__init__(kernel_size=kernel_size, stride=stride, padding=padding,
                         dilation=dilation, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad,
                         divisor_override=divisor_override)


class AdaptiveAvgPool2d(_Pool):
    """Average over PyTorch's adaptive bins ``[floor(i L/O), ceil((i+1) L/O))``."""

    _op = "adaptive_avg_pool"

    def __init__(self, output_size: Any) -> None:
        super().__init__(output_size=output_size)


class GlobalAvgPool2d(_Pool):
    """Mean over H and W; keeps them as size 1: ``(N, C, H, W) -> (N, C, 1, 1)``."""

    _op = "global_avg_pool"

    def __init__(self) -> None:
        super().__init__()


class GlobalMaxPool2d(_Pool):
    """Maximum over H and W; keeps them as size 1: ``(N, C, H, W) -> (N, C, 1, 1)``."""

    _op = "global_max_pool"

    def __init__(self) -> None:
        super().__init__()
