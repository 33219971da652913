"""NumPy-in, NumPy-out operators, each with a forward/backward pair.

``y, ctx = op_forward(x, ...)`` then ``grad_x = op_backward(grad_y, ctx)``; :func:`backward` runs
any operator's backward from its context alone (see :mod:`cnnblocks.autograd`).

Each family module owns the list of its public names (its ``__all__``); this package re-exports
them, so a new operator is declared once, in its own module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks.autograd import Context
from cnnblocks.functional import activations as _activations
from cnnblocks.functional import pooling as _pooling
from cnnblocks.functional import softmax as _softmax_module
from cnnblocks.functional.activations import *  # noqa: F403
from cnnblocks.functional.pooling import *  # noqa: F403

# Last: the function `softmax` then shadows the submodule of the same name as a package attribute
# (import the module as `cnnblocks.functional.softmax` via `from ... import`, see its docstring).
from cnnblocks.functional.softmax import *  # noqa: F403


def backward(grad_output: np.ndarray, ctx: Context) -> Any:
    """Run the backward pass of whichever operator made ``ctx``: ``ctx.backward(grad_output)``."""
    return ctx.backward(grad_output)


__all__ = [  # built from the family modules' own lists
    "backward",
    *_pooling.__all__,
    *_activations.__all__,
    *_softmax_module.__all__,
]
