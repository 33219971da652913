"""Layers with forward, backward and parameters, and the Sequential container.

Gradients **accumulate**: ``backward`` adds into each ``Parameter.grad``; ``zero_grad()`` (on
the model or the optimiser) clears them, and :func:`cnnblocks.training.fit` does so before every
step. See :mod:`cnnblocks.nn.module`.
"""

from __future__ import annotations

from cnnblocks.nn.activation import (
    ACTIVATIONS,
    CELU,
    ELU,
    GELU,
    SELU,
    Activation,
    Hardsigmoid,
    Hardswish,
    LeakyReLU,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softplus,
    Softsign,
    Tanh,
    ThresholdedReLU,
)
from cnnblocks.nn.batchnorm import BatchNorm1d, BatchNorm2d
from cnnblocks.nn.container import Sequential
from cnnblocks.nn.conv import Conv2d, conv2d_backward, conv2d_forward
from cnnblocks.nn.dropout import Dropout
from cnnblocks.nn.flatten import Flatten
from cnnblocks.nn.linear import Linear
from cnnblocks.nn.module import Module, Parameter
from cnnblocks.nn.pooling import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    GlobalAvgPool2d,
    GlobalMaxPool2d,
    MaxPool2d,
)

__all__ = [
    "ACTIVATIONS",
    "CELU",
    "ELU",
    "GELU",
    "SELU",
    "Activation",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Dropout",
    "Flatten",
    "GlobalAvgPool2d",
    "GlobalMaxPool2d",
    "Hardsigmoid",
    "Hardswish",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Mish",
    "Module",
    "PReLU",
    "Parameter",
    "ReLU",
    "ReLU6",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softplus",
    "Softsign",
    "Tanh",
    "ThresholdedReLU",
    "conv2d_backward",
    "conv2d_forward",
]
