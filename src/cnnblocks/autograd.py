"""The one backward mechanism every operator shares.

Every differentiable operator ``op`` in :mod:`cnnblocks.functional` comes as a pair::

    y, ctx = op_forward(x, ...)        # ctx: what backward needs, saved explicitly
    grad_x = op_backward(grad_y, ctx)  # vector-Jacobian product  dL/dx = (dy/dx)^T dL/dy

and ``ctx.backward(grad_y)`` is the same call, so a layer or a training loop can run any operator
backward without knowing which one it is (minitorch's ``Function.forward(ctx, ...)`` /
``backward(ctx, d_out)``). Operators with a learned input (``prelu``) return a tuple of gradients,
one per differentiable input, in argument order.

Nothing accumulates: every backward call returns fresh arrays. Whoever owns the parameters
(a layer, an optimiser) decides when to add and when to zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Context"]


@dataclass(frozen=True, slots=True)
class Context:
    """What one forward call saved for its backward call.

    Attributes
    ----------
    op : str
        Name of the operator that made it, e.g. ``"max_pool"``.
    backward_fn : callable
        ``backward_fn(grad_output, ctx)`` computes the gradient(s) with respect to the inputs.
    saved : mapping
        Named arrays and settings the backward pass reads (inputs, outputs, indices, geometry).
    """

    op: str
    backward_fn: Callable[[np.ndarray, Context], Any]
    saved: Mapping[str, Any] = field(default_factory=dict)

    def backward(self, grad_output: np.ndarray) -> Any:
        """Run the operator's backward pass on ``grad_output`` (same shape as the output)."""
        return self.backward_fn(grad_output, self)
