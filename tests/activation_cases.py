"""The activation configurations every activation test runs over, with their kinks.

One table (tinygrad's ``helper_test_op`` idea): each case names the operator, its keyword
arguments, and the points where its derivative jumps, so gradient checks can stay away from them
and kink tests can go straight at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnblocks.functional import activations as A


@dataclass(frozen=True)
class Case:
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    kinks: tuple[float, ...] = ()

    @property
    def id(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.name}({args})"

    def f(self, x: Any) -> np.ndarray:
        return getattr(A, self.name)(x, **self.kwargs)

    def grad(self, x: Any) -> np.ndarray:
        return getattr(A, f"{self.name}_grad")(x, **self.kwargs)

    def forward(self, x: Any) -> tuple[np.ndarray, Any]:
        return getattr(A, f"{self.name}_forward")(x, **self.kwargs)

    def backward(self, grad_y: Any, ctx: Any) -> np.ndarray:
        return getattr(A, f"{self.name}_backward")(grad_y, ctx)


CASES: tuple[Case, ...] = (
    Case("sigmoid"),
    Case("relu", kinks=(0.0,)),
    Case("relu6", kinks=(0.0, 6.0)),
    Case("leaky_relu", kinks=(0.0,)),
    Case("leaky_relu", {"negative_slope": 0.2}, kinks=(0.0,)),
    Case("leaky_relu", {"negative_slope": -0.5}, kinks=(0.0,)),
    Case("elu", kinks=(0.0,)),
    Case("elu", {"alpha": 0.5}, kinks=(0.0,)),
    Case("selu", kinks=(0.0,)),
    Case("celu", kinks=(0.0,)),
    Case("celu", {"alpha": 2.0}, kinks=(0.0,)),
    Case("celu", {"alpha": 0.5}, kinks=(0.0,)),
    Case("gelu"),
    Case("gelu", {"approximate": "tanh"}),
    Case("silu"),
    Case("mish"),
    Case("softplus", kinks=(20.0,)),
    Case("softplus", {"beta": 2.0, "threshold": 10.0}, kinks=(5.0,)),
    Case("softplus", {"beta": 0.5}, kinks=(40.0,)),
    Case("softsign", kinks=(0.0,)),  # smooth, but |x| makes the second derivative jump
    Case("tanh"),
    Case("hardsigmoid", kinks=(-3.0, 3.0)),
    Case("hardsigmoid", {"alpha": 0.2, "beta": 0.5}, kinks=(-2.5, 2.5)),
    Case("hardswish", kinks=(-3.0, 3.0)),
    Case("thresholded_relu", kinks=(1.0,)),
    Case("thresholded_relu", {"theta": -0.5}, kinks=(-0.5,)),
    Case("thresholded_relu", {"theta": 2.0}, kinks=(2.0,)),
)

#: One case per operator, default arguments (prelu is tested on its own: it takes a weight).
DEFAULT_CASES: tuple[Case, ...] = tuple(c for c in CASES if not c.kwargs)


def away_from_kinks(case: Case, x: np.ndarray, gap: float = 1e-3) -> np.ndarray:
    """Move every entry of ``x`` at least ``gap`` away from the case's kinks."""
    x = np.array(x, dtype=np.float64)
    for k in case.kinks:
        near = np.abs(x - k) < gap
        x[near] = k + np.where(x[near] >= k, 2 * gap, -2 * gap)
    return x


#: Inputs that stress the tails and the float limits.
EXTREMES = np.array(
    [-1000.0, -400.0, -300.0, -100.0, -40.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 40.0, 100.0,
     300.0, 400.0, 1000.0]
)
