"""Activation layers: thin wrappers of :mod:`cnnblocks.functional.activations`.

Each layer computes ``y = f(x)`` elementwise with the operator's forward and, going back, the
chain rule ``dL/dx = dL/dy · f′(x)`` with the operator's backward. It keeps its last input so the
gradient-flow instrument (:mod:`cnnblocks.gradflow`) can read ``f′(x)`` — the factor that is at
most 1/4 for the sigmoid and exactly 0 or 1 for ReLU.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from cnnblocks._checks import check_choice, fail
from cnnblocks.functional import activations as _ops
from cnnblocks.nn.module import Module, Parameter

__all__ = [
    "ACTIVATIONS",
    "CELU",
    "ELU",
    "GELU",
    "SELU",
    "Activation",
    "Hardsigmoid",
    "Hardswish",
    "LeakyReLU",
    "Mish",
    "PReLU",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softplus",
    "Softsign",
    "Tanh",
    "ThresholdedReLU",
]

ACTIVATIONS: tuple[str, ...] = (
    "sigmoid", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish",
    "softplus", "softsign", "tanh", "hardsigmoid", "hardswish", "thresholded_relu",
)

# Units count as saturated when f′ is this small (the lesson's flat regions of σ), or exactly 0
# for piecewise-linear functions (a ReLU unit that outputs 0 passes no gradient).
SATURATION_THRESHOLD = 0.01
_PIECEWISE_LINEAR = frozenset({"relu", "relu6", "leaky_relu", "thresholded_relu", "hardsigmoid"})


class Activation(Module):
    """Elementwise activation layer chosen by name.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`; anything else raises ParameterError listing them.
    **kwargs
        Passed to the operator, e.g. ``negative_slope=0.2`` for ``"leaky_relu"``.

    Shape
    -----
    Any shape; output has the input's shape and dtype.

    Examples
    --------
    >>> layer = Activation("relu")
    >>> layer(np.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    >>> layer.backward(np.array([5.0, 5.0])).tolist()   # relu′ = 0 then 1
    [0.0, 5.0]
    """

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__()
        self.activation_name = check_choice(name, ACTIVATIONS, func="Activation", name="name")
        accepted = [
            p for p in inspect.signature(getattr(_ops, f"{name}_forward")).parameters if p != "x"
        ]
        for key in kwargs:
            if key not in accepted:
                rule = (f"one of {{{', '.join(repr(a) for a in accepted)}}} for {name}"
                        if accepted else f"absent: {name} takes no options")
                raise fail("Activation", "kwargs", rule, key)
        self.kwargs = kwargs
        self._ctx: Any = None
        self.last_input: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y = f(x)``."""
        fwd = getattr(_ops, f"{self.activation_name}_forward")
        y, self._ctx = fwd(x, **self.kwargs)
        self.last_input = x
        return np.asarray(y)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = dL/dy · f′(x)``."""
        bwd = getattr(_ops, f"{self.activation_name}_backward")
        return np.asarray(bwd(grad_out, self._saved(self._ctx)))

    def derivative(self) -> np.ndarray:
        """``f′(x)`` at the last forward input (what multiplies the gradient going back)."""
        grad = getattr(_ops, f"{self.activation_name}_grad")
        return np.asarray(grad(self._saved(self.last_input), **self.kwargs))

    def saturated(self, derivative: np.ndarray) -> np.ndarray:
        """Boolean mask of units that pass (almost) no gradient.

        Piecewise-linear functions (ReLU family): ``f′ == 0`` exactly; smooth ones (sigmoid,
        tanh, ...): ``|f′| < 0.01``.
        """
        mask: np.ndarray
        if self.activation_name in _PIECEWISE_LINEAR:
            mask = derivative == 0
        else:
            mask = np.abs(derivative) < SATURATION_THRESHOLD
        return mask

    def extra_repr(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.activation_name!r}" + (f", {args}" if args else "")


def _named(cls_name: str, op: str, doc: str) -> type[Activation]:
    def __init__(self: Activation, **kwargs: Any) -> None:
        Activation.__init__(self, op, **kwargs)

    def extra_repr(self: Activation) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())

    return type(cls_name, (Activation,), {
        "__init__": __init__, "__doc__": doc, "extra_repr": extra_repr,
        "__module__": __name__,
    })


Sigmoid = _named("Sigmoid", "sigmoid", "σ(x) = 1/(1+e^−x); σ′ = σ(1−σ) ≤ 1/4.")
ReLU = _named("ReLU", "relu", "max(0, x); relu′(x) = 1 for x > 0, 0 for x <= 0.")
ReLU6 = _named("ReLU6", "relu6", "min(max(0, x), 6).")
LeakyReLU = _named("LeakyReLU", "leaky_relu", "x if x >= 0 else negative_slope·x.")
ELU = _named("ELU", "elu", "x if x > 0 else α(e^x − 1).")
SELU = _named("SELU", "selu", "γ·elu_α(x) with the self-normalising constants.")
CELU = _named("CELU", "celu", "max(0, x) + min(0, α(e^{x/α} − 1)).")
GELU = _named("GELU", "gelu", "x·Φ(x) (approximate='tanh' for the tanh form).")
SiLU = _named("SiLU", "silu", "x·σ(x) (swish).")
Mish = _named("Mish", "mish", "x·tanh(softplus(x)).")
Softplus = _named("Softplus", "softplus", "log(1 + e^{βx})/β.")
Softsign = _named("Softsign", "softsign", "x / (1 + |x|).")
Tanh = _named("Tanh", "tanh", "tanh(x); tanh′ = 1 − tanh² ≤ 1.")
Hardsigmoid = _named("Hardsigmoid", "hardsigmoid", "clip(x/6 + 1/2, 0, 1).")
Hardswish = _named("Hardswish", "hardswish", "x·relu6(x + 3)/6.")
ThresholdedReLU = _named("ThresholdedReLU", "thresholded_relu", "x if x > θ else 0.")


class PReLU(Module):
    """Leaky ReLU with a learned slope: ``y = x if x >= 0 else a·x``.

    Parameters
    ----------
    num_parameters : int
        1 (one slope shared) or the number of channels (axis 1, PyTorch's layout).
    init : float
        Initial slope (PyTorch: 0.25).
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25,
                 *, dtype: type[np.floating] = np.float32) -> None:
        super().__init__()
        self.weight = Parameter(np.full(num_parameters, init, dtype=dtype), "weight")
        self._ctx: Any = None
        self.activation_name = "prelu"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the learned slope to the negative part."""
        y, self._ctx = _ops.prelu_forward(x, self.weight.value)
        return np.asarray(y)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return dL/dx; add dL/da into the slope's gradient."""
        grad_x, grad_a = _ops.prelu_backward(grad_out, self._saved(self._ctx))
        self.weight.grad += np.asarray(grad_a).reshape(self.weight.grad.shape)
        return np.asarray(grad_x)

    def extra_repr(self) -> str:
        return f"num_parameters={self.weight.value.size}"
