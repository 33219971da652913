"""Ready-made networks: LeNet-5 adapted to the input size, and a configurable deep MLP."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks._checks import as_int_tuple, check_choice, fail
from cnnblocks.init import get_initializer
from cnnblocks.nn import (
    ACTIVATIONS,
    Activation,
    AvgPool2d,
    BatchNorm1d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    Sequential,
)
from cnnblocks.shapes import pool_output_size

__all__ = ["lenet", "mlp"]


def _rng(rng: Any, func: str) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng(0)
    if not isinstance(rng, np.random.Generator):
        raise fail(func, "rng", "a numpy.random.Generator or None", rng)
    return rng


def lenet(
    activation: str = "relu",
    pool: str = "max",
    in_channels: int = 1,
    input_size: int = 8,
    num_classes: int = 10,
    *,
    init: Any = "pytorch",
    rng: np.random.Generator | None = None,
    dtype: Any = np.float32,
) -> Sequential:
    """LeNet-5 (LeCun et al. 1998) with its layout kept and its padding fitted to the input.

    ``conv(6, 5×5) − act − pool(2) − conv(16, 5×5) − act − pool(2) − flatten − fc(120) − act −
    fc(84) − act − fc(num_classes)``.

    The first convolution pads 2 on every side ('SAME' for 5×5, as in the common MNIST port of
    LeNet), so H stays H. The second pads 2 only when the input is too small for LeNet's
    unpadded 5×5 (an 8×8 digit is 4×4 by then): 8×8 inputs give 16·2·2 = 64 features,
    28×28 inputs give the classic 16·5·5 = 400.

    Parameters
    ----------
    activation : str
        Any name in :data:`cnnblocks.nn.ACTIVATIONS`.
    pool : {'max', 'avg'}
    in_channels, input_size, num_classes : int
        Input is ``(N, in_channels, input_size, input_size)``; input_size >= 4.
    init : str or callable
        Weight initialiser; default ``"pytorch"``, PyTorch's U(±1/√fan_in), which trained
        LeNet on the digits more reliably than He or Glorot in our runs. Biases start at 0.
    rng : numpy.random.Generator, optional
        Source of the initial weights; ``None`` = ``default_rng(0)``.
    """
    func = "lenet"
    check_choice(activation, ACTIVATIONS, func=func, name="activation")
    check_choice(pool, ("max", "avg"), func=func, name="pool")
    in_channels = as_int_tuple(in_channels, 1, func=func, name="in_channels")[0]
    input_size = as_int_tuple(input_size, 1, func=func, name="input_size", minimum=4)[0]
    num_classes = as_int_tuple(num_classes, 1, func=func, name="num_classes", minimum=2)[0]
    gen = _rng(rng, func)
    initializer = get_initializer(init)

    def pooling() -> Module:
        return MaxPool2d(2) if pool == "max" else AvgPool2d(2)

    size = pool_output_size(input_size, 2, 2)  # after conv1 (SAME) and the first pool
    pad2 = 0 if size - 4 >= 2 else 2  # unpadded conv2 needs >= 2 cells left for the 2nd pool
    size = pool_output_size(pool_output_size(size, 5, 1, pad2, pad2), 2, 2)
    kw: dict[str, Any] = {"rng": gen, "init": initializer, "dtype": dtype}
    model = Sequential(
        Conv2d(in_channels, 6, 5, padding=2, **kw),
        Activation(activation),
        pooling(),
        Conv2d(6, 16, 5, padding=pad2, **kw),
        Activation(activation),
        pooling(),
        Flatten(),
        Linear(16 * size * size, 120, **kw),
        Activation(activation),
        Linear(120, 84, **kw),
        Activation(activation),
        Linear(84, num_classes, **kw),
    )
    for layer in model:
        if isinstance(layer, Conv2d | Linear):
            _zero_bias(layer)
    return model


def mlp(
    depth: int,
    width: int,
    activation: str = "relu",
    init: Any = "kaiming_normal",
    in_features: int = 64,
    num_classes: int = 10,
    *,
    rng: np.random.Generator | None = None,
    batch_norm: bool = False,
    dtype: Any = np.float32,
) -> Sequential:
    """A deep fully connected network for the gradient-flow experiments.

    ``Flatten − [Linear(width) − (BatchNorm1d) − act] × depth − Linear(num_classes)``: ``depth``
    hidden layers, so ``depth + 1`` Linear layers in all. Biases start at 0 so the weights alone
    set the scale the experiments vary.

    Parameters
    ----------
    depth : int >= 1
        Number of hidden (Linear + activation) layers.
    width : int
        Units per hidden layer.
    activation : str
        Any name in :data:`cnnblocks.nn.ACTIVATIONS`.
    init : str or callable
        Weight initialiser name (:data:`cnnblocks.init.INITIALIZERS`, e.g. ``"xavier"``,
        ``"he"``, ``"large_normal"``) or a callable ``(shape, rng) -> array``.
    in_features, num_classes : int
    rng : numpy.random.Generator, optional
    batch_norm : bool
        Insert BatchNorm1d between each hidden Linear and its activation.
    """
    func = "mlp"
    depth = as_int_tuple(depth, 1, func=func, name="depth")[0]
    width = as_int_tuple(width, 1, func=func, name="width")[0]
    in_features = as_int_tuple(in_features, 1, func=func, name="in_features")[0]
    num_classes = as_int_tuple(num_classes, 1, func=func, name="num_classes")[0]
    check_choice(activation, ACTIVATIONS, func=func, name="activation")
    if not isinstance(batch_norm, bool):
        raise fail(func, "batch_norm", "a bool", batch_norm)
    initializer = get_initializer(init)
    gen = _rng(rng, func)
    layers: list[Module] = [Flatten()]
    fan_in = in_features
    for _ in range(depth):
        linear = Linear(fan_in, width, rng=gen, init=initializer, dtype=dtype)
        _zero_bias(linear)
        layers.append(linear)
        if batch_norm:
            layers.append(BatchNorm1d(width, dtype=dtype))
        layers.append(Activation(activation))
        fan_in = width
    out = Linear(fan_in, num_classes, rng=gen, init=initializer, dtype=dtype)
    _zero_bias(out)
    layers.append(out)
    return Sequential(*layers)


def _zero_bias(layer: Conv2d | Linear) -> None:
    if layer.bias is not None:
        layer.bias.value[...] = 0
