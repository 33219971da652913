"""The layer protocol: :class:`Parameter` and the :class:`Module` base class.

Who zeroes gradients
--------------------
``Module.backward`` **accumulates** into every ``Parameter.grad`` (``grad += ...``), as PyTorch's
``loss.backward()`` does, so two backward passes add up (gradient accumulation over micro-batches
works). Clearing is explicit: ``optimizer.zero_grad()`` or ``model.zero_grad()``;
:func:`cnnblocks.training.fit` zeroes before every step. The functional operators underneath never
accumulate (see :mod:`cnnblocks.autograd`): only parameters, which outlive one step, do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from cnnblocks._checks import fail
from cnnblocks.errors import ParameterError

__all__ = ["Module", "Parameter"]

T = TypeVar("T")


@dataclass(eq=False)
class Parameter:
    """A learned array and the gradient of the loss with respect to it.

    Attributes
    ----------
    value : numpy.ndarray
        The weights; optimisers update it in place.
    grad : numpy.ndarray
        ``dL/dvalue``, same shape and dtype; layers add to it during backward.
    name : str
        Local name inside its layer (``"weight"``, ``"bias"``).
    """

    value: np.ndarray
    grad: np.ndarray = field(init=False)
    name: str = ""

    def __post_init__(self) -> None:
        self.grad = np.zeros_like(self.value)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the value (and of the gradient)."""
        return tuple(self.value.shape)

    def zero_grad(self) -> None:
        """Set the gradient to zero in place (optimisers may hold references to it)."""
        self.grad[...] = 0


class Module:
    """Base class of every layer: forward, backward, parameters, train/eval mode.

    Subclasses implement :meth:`forward` (saving what backward needs on ``self``) and
    :meth:`backward` (returning ``dL/dx`` and adding ``dL/dθ`` into each ``Parameter.grad``).
    """

    def __init__(self) -> None:
        self.training = True
        # Sequential sets e.g. "layer 3 (Linear)" so error messages can say where they came from.
        self.label = type(self).__name__

    # -- the protocol ------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the layer's output ``y = f(x)`` and remember what backward needs."""
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return ``dL/dx`` given ``dL/dy``; accumulate ``dL/dθ`` into the parameters' ``grad``."""
        raise NotImplementedError

    def backward_parameters(self, grad_out: np.ndarray) -> None:
        """Backward pass for training: accumulate ``dL/dθ`` only, without ``dL/dx``.

        The gradient with respect to the network's input is never used by an optimiser, so the
        first layer can skip it (PyTorch skips it too, for inputs that do not require grad): for
        LeNet's first convolution that is a matrix product and a col2im saved per step. The
        default runs :meth:`backward` and drops its result.
        """
        self.backward(grad_out)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- parameters --------------------------------------------------------------------------
    def _own_parameters(self) -> list[Parameter]:
        return [v for v in vars(self).values() if isinstance(v, Parameter)]

    def children(self) -> list[Module]:
        """Direct sub-layers (empty for a leaf layer)."""
        return []

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs, e.g. ``("0.weight", p)`` inside a Sequential."""
        out = [(prefix + p.name, p) for p in self._own_parameters()]
        for i, child in enumerate(self.children()):
            out.extend(child.named_parameters(f"{prefix}{i}."))
        return out

    def parameters(self) -> list[Parameter]:
        """Every learned parameter, in a fixed order (first layer first)."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> list[tuple[str, np.ndarray]]:
        """State that is saved with the model but not learned by gradient (BatchNorm statistics)."""
        out = [(prefix + name, arr) for name, arr in self._own_buffers().items()]
        for i, child in enumerate(self.children()):
            out.extend(child.named_buffers(f"{prefix}{i}."))
        return out

    def _own_buffers(self) -> dict[str, np.ndarray]:
        return {}

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for p in self.parameters():
            p.zero_grad()

    # -- mode --------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Switch training behaviour (Dropout active, BatchNorm batch statistics) on or off."""
        if not isinstance(mode, bool):
            raise fail(f"{type(self).__name__}.train", "mode", "a bool", mode)
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Inference behaviour: Dropout is the identity, BatchNorm uses running statistics."""
        return self.train(False)

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    # -- helpers for subclasses --------------------------------------------------------------
    def _check_input(self, x: np.ndarray, expected: str, ok: bool) -> None:
        """Raise the shared shape-mismatch message: which layer, what it expects, what it got."""
        if not ok:
            raise ParameterError(
                f"{self.label} expected an input of shape {expected} but got shape "
                f"{tuple(x.shape)}."
            )

    def _saved(self, saved: T | None) -> T:
        """Return what forward saved, or explain that backward came first."""
        if saved is None:
            raise ParameterError(
                f"{self.label}.backward() was called before forward(): run the layer forward first."
            )
        return saved

    def extra_repr(self) -> str:
        """Constructor arguments shown by ``repr``."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
