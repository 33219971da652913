"""NumPy-in, NumPy-out operators, each with a forward/backward pair.

``y, ctx = op_forward(x, ...)`` then ``grad_x = op_backward(grad_y, ctx)``; :func:`backward` runs
any operator's backward from its context alone (see :mod:`cnnblocks.autograd`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks.autograd import Context
from cnnblocks.functional.pooling import (
    adaptive_avg_pool,
    adaptive_avg_pool_backward,
    adaptive_avg_pool_forward,
    adaptive_max_pool,
    adaptive_max_pool_backward,
    adaptive_max_pool_forward,
    avg_pool,
    avg_pool_backward,
    avg_pool_forward,
    global_avg_pool,
    global_avg_pool_backward,
    global_avg_pool_forward,
    global_lp_pool,
    global_lp_pool_backward,
    global_lp_pool_forward,
    global_max_pool,
    global_max_pool_backward,
    global_max_pool_forward,
    lp_pool,
    lp_pool_backward,
    lp_pool_forward,
    max_pool,
    max_pool_backward,
    max_pool_forward,
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
    "backward",
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


def backward(grad_output: np.ndarray, ctx: Context) -> Any:
    """Run the backward pass of whichever operator made ``ctx``: ``ctx.backward(grad_output)``."""
    return ctx.backward(grad_output)


# Other operator families append their imports below and extend __all__ (e.g. activations).
