"""Sequential: layers applied one after another, backward in reverse order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from cnnblocks._checks import fail
from cnnblocks.errors import ParameterError
from cnnblocks.nn.module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """A chain of layers: ``y = f_n(... f_2(f_1(x)))``.

    Backward runs the chain rule in reverse, ``dL/dx = J_1^T (J_2^T (... J_n^T dL/dy))``, each
    layer adding its parameter gradients as it passes.

    When a layer rejects the shape it received, the error names the layer (index and class), the
    shape it expected, the shape it got, and the layer that produced it.

    Examples
    --------
    >>> import numpy as np
    >>> from cnnblocks.nn import Flatten, Linear
    >>> net = Sequential(Flatten(), Linear(4, 2, rng=np.random.default_rng(0)))
    >>> net(np.zeros((3, 1, 2, 2), dtype=np.float32)).shape
    (3, 2)
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise fail("Sequential", f"layers[{i}]", "a cnnblocks.nn.Module", layer)
        self.layers: list[Module] = list(layers)
        for i, layer in enumerate(self.layers):
            layer.label = f"layer {i} ({type(layer).__name__})"

    def children(self) -> list[Module]:
        """The layers, in order."""
        return list(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply each layer in turn."""
        for i, layer in enumerate(self.layers):
            try:
                x = layer.forward(x)
            except ParameterError as exc:
                if i > 0 and "expected an input of shape" in str(exc):
                    prev = self.layers[i - 1]
                    raise ParameterError(
                        f"{exc} That input came from layer {i - 1} ({type(prev).__name__})."
                    ) from None
                raise
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Run every layer's backward in reverse order; return ``dL/dx`` of the first layer."""
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def backward_parameters(self, grad_out: np.ndarray) -> None:
        """Backward for training: like :meth:`backward`, but the first layer skips ``dL/dx``."""
        if not self.layers:
            return
        for layer in reversed(self.layers[1:]):
            grad_out = layer.backward(grad_out)
        self.layers[0].backward_parameters(grad_out)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
