"""Per-layer gradient flow of one forward + backward pass through a Sequential network.

For every layer ``l`` with input ``x_l`` and output ``y_l`` the record holds ``||∂L/∂y_l||``,
``||∂L/∂x_l||``, ``||∂L/∂W_l||`` for layers with a weight, and for activation layers the mean of
``f′(x_l)`` and the fraction of saturated units. Across an activation layer the chain rule gives
``∂L/∂x = ∂L/∂y ⊙ f′(x)``, so ``||∂L/∂x|| <= max f′ · ||∂L/∂y||``: at most 1/4 for the sigmoid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnblocks._checks import fail
from cnnblocks.losses import CrossEntropyLoss
from cnnblocks.nn import (
    Activation,
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    GlobalAvgPool2d,
    GlobalMaxPool2d,
    Linear,
    MaxPool2d,
    Module,
    Parameter,
    Sequential,
)

__all__ = ["LayerRecord", "layer_kind", "record_gradients"]


@dataclass(frozen=True)
class LayerRecord:
    """What one layer saw during one backward pass.

    Attributes
    ----------
    index : int
        Position in the Sequential.
    name : str
        ``"<index>:<class>"``, e.g. ``"3:Sigmoid"`` (``"3:Activation(sigmoid)"`` for the generic
        class).
    kind : str
        ``"linear"``, ``"conv"``, ``"activation"``, ``"batchnorm"``, ``"pool"`` or ``"other"``.
    output_grad_norm : float
        ``||∂L/∂y||`` (Frobenius norm over the whole batch).
    input_grad_norm : float
        ``||∂L/∂x||``.
    weight_grad_norm : float or None
        ``||∂L/∂W||`` for layers with a ``weight`` parameter.
    mean_derivative : float or None
        Mean of ``f′(x)`` over the batch, for activation layers.
    saturated_fraction : float or None
        Fraction of units with ``|f′(x)| < 0.01`` (smooth activations) or ``f′(x) = 0``
        (ReLU family: units that are exactly 0), for activation layers.
    """

    index: int
    name: str
    kind: str
    output_grad_norm: float
    input_grad_norm: float
    weight_grad_norm: float | None
    mean_derivative: float | None
    saturated_fraction: float | None


def layer_kind(layer: Module) -> str:
    """Classify a layer for plots and tables."""
    if isinstance(layer, Linear):
        return "linear"
    if isinstance(layer, Conv2d):
        return "conv"
    if isinstance(layer, Activation):
        return "activation"
    if isinstance(layer, BatchNorm1d | BatchNorm2d):
        return "batchnorm"
    if isinstance(layer, MaxPool2d | AvgPool2d | AdaptiveAvgPool2d | GlobalAvgPool2d
                  | GlobalMaxPool2d):
        return "pool"
    return "other"


def _layer_name(index: int, layer: Module) -> str:
    cls = type(layer).__name__
    if type(layer) is Activation:
        return f"{index}:Activation({layer.activation_name})"
    return f"{index}:{cls}"


def record_gradients(
    model: Sequential, x: np.ndarray, y: np.ndarray, loss: Any = None
) -> list[LayerRecord]:
    """Run one forward and backward pass and record the gradient flow at every layer.

    The model's parameter gradients are zeroed first and hold this batch's gradients
    afterwards; no optimiser step is taken. The model's train/eval mode is used as is (in
    training mode BatchNorm layers update their running statistics, as in any forward pass).

    Parameters
    ----------
    model : Sequential
    x : ndarray
        A batch of inputs.
    y : ndarray
        Targets for ``loss`` (integer labels for the default cross-entropy).
    loss : CrossEntropyLoss or MSELoss, optional

    Returns
    -------
    list of LayerRecord
        One per layer, first layer first.
    """
    if not isinstance(model, Sequential):
        raise fail("record_gradients", "model", "a cnnblocks.nn.Sequential", model)
    criterion = CrossEntropyLoss() if loss is None else loss
    out = model(x)
    criterion(out, y)
    model.zero_grad()
    grad = criterion.backward()
    records: list[LayerRecord] = []
    for index in range(len(model) - 1, -1, -1):
        layer = model[index]
        grad_in = layer.backward(grad)
        weight = getattr(layer, "weight", None)
        weight_norm = (
            float(np.linalg.norm(weight.grad)) if isinstance(weight, Parameter) else None
        )
        mean_derivative = saturated = None
        if isinstance(layer, Activation):
            derivative = layer.derivative()
            mean_derivative = float(np.mean(derivative))
            saturated = float(np.mean(layer.saturated(derivative)))
        records.append(LayerRecord(
            index=index,
            name=_layer_name(index, layer),
            kind=layer_kind(layer),
            output_grad_norm=float(np.linalg.norm(grad)),
            input_grad_norm=float(np.linalg.norm(grad_in)),
            weight_grad_norm=weight_norm,
            mean_derivative=mean_derivative,
            saturated_fraction=saturated,
        ))
        grad = grad_in
    return records[::-1]
