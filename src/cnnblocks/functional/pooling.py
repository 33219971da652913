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

The implementation lives in one private module per family (``_max_pool``, ``_avg_pool``,
``_lp_pool``, ``_global_pool``, ``_adaptive_pool``, ``_unpool``) sharing the argument checks of
``_pool_args``; this module is their public face.
"""

from __future__ import annotations

from cnnblocks.functional._adaptive_pool import (
    adaptive_avg_pool,
    adaptive_avg_pool_backward,
    adaptive_avg_pool_forward,
    adaptive_max_pool,
    adaptive_max_pool_backward,
    adaptive_max_pool_forward,
)
from cnnblocks.functional._adaptive_pool import adaptive_bins as adaptive_bins  # not in __all__
from cnnblocks.functional._avg_pool import (
    avg_pool,
    avg_pool_backward,
    avg_pool_forward,
)
from cnnblocks.functional._global_pool import (
    global_avg_pool,
    global_avg_pool_backward,
    global_avg_pool_forward,
    global_lp_pool,
    global_lp_pool_backward,
    global_lp_pool_forward,
    global_max_pool,
    global_max_pool_backward,
    global_max_pool_forward,
)
from cnnblocks.functional._lp_pool import (
    lp_pool,
    lp_pool_backward,
    lp_pool_forward,
)
from cnnblocks.functional._max_pool import (
    max_pool,
    max_pool_backward,
    max_pool_forward,
)
from cnnblocks.functional._unpool import (
    max_unpool,
    max_unpool_backward,
    max_unpool_forward,
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

