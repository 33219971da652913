"""Plain, obviously-correct implementations that mirror the lesson; the tests' oracle.

Slow on purpose: loops over output positions, vectorised only over batch and channels.
"""

from __future__ import annotations

from cnnblocks.reference import pooling
from cnnblocks.reference.pooling import (
    adaptive_avg_pool,
    adaptive_max_pool,
    avg_pool,
    avg_pool_backward,
    lp_pool,
    max_pool,
    max_pool_backward,
)

__all__ = [
    "adaptive_avg_pool",
    "adaptive_max_pool",
    "avg_pool",
    "avg_pool_backward",
    "lp_pool",
    "max_pool",
    "max_pool_backward",
    "pooling",
]
