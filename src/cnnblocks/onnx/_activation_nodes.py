"""ONNX activation nodes, Softmax/LogSoftmax and Clip.

Each maps ONNX's attribute names and defaults onto :mod:`cnnblocks.functional`. Where ONNX
generalises an operator beyond PyTorch's form, the generalisation is written here:

- Selu with ``alpha``/``gamma`` attributes is ``gamma * elu(x, alpha)``; without them it is
  :func:`~cnnblocks.functional.activations.selu` (ONNX's defaults are the float32 roundings of the
  same constants).
- Swish with ``alpha != 1`` is ``x * sigmoid(alpha * x)``; ``alpha = 1`` is SiLU.
- ThresholdedRelu's threshold is called ``alpha`` in ONNX; HardSigmoid's defaults are ONNX's
  ``alpha=0.2, beta=0.5`` (PyTorch's hardsigmoid is ``alpha=1/6``).
- PRelu broadcasts ``slope`` to ``X`` unidirectionally (NumPy rules, aligned at the last axis),
  where PyTorch's slope is one value per channel.
- Clip takes ``min``/``max`` as optional scalar inputs (opset >= 11) or, in the opset 6 form, as
  float attributes; ``min > max`` gives ``max`` everywhere (``Min(max, Max(x, min))``).
- Softmax/LogSoftmax follow opset >= 13: normalise along one ``axis`` (default -1). The opset 1-11
  form (coerce to 2-D at ``axis``, default 1) is not implemented; no ONNX node test uses it.
- Softplus is ONNX's plain ``ln(1 + e^x)``, without PyTorch's switch to ``x`` above a threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np

from cnnblocks._checks import fail
from cnnblocks.functional import activations as _act
from cnnblocks.functional.softmax import log_softmax, softmax
from cnnblocks.onnx._attributes import FUNC, AttributeSpec

__all__ = ["ACTIVATION_NODES", "CLIP_ATTRIBUTES", "ActivationNode", "clip_node", "prelu_node"]

class ActivationNode:
    """A one-input, one-output ONNX node: its attributes and how to run it."""

    __slots__ = ("attributes", "fn")

    def __init__(
        self,
        fn: Callable[[np.ndarray, dict[str, Any]], np.ndarray],
        attributes: dict[str, AttributeSpec] | None = None,
    ) -> None:
        self.fn = fn
        self.attributes = attributes or {}

    def __call__(
        self, inputs: Sequence[np.ndarray | None], attrs: dict[str, Any], num_outputs: int
    ) -> list[np.ndarray]:
        (x,) = cast("tuple[np.ndarray]", tuple(inputs))
        return [self.fn(x, attrs)]


def _selu(x: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    if attrs["alpha"] is None and attrs["gamma"] is None:
        return _act.selu(x)
    alpha = _SELU_ALPHA if attrs["alpha"] is None else attrs["alpha"]
    gamma = _SELU_GAMMA if attrs["gamma"] is None else attrs["gamma"]
    y = _act.elu(x, alpha)
    # A Python float is a "weak" scalar (NEP 50): the product keeps y's dtype.
    return np.asarray(y * gamma, dtype=y.dtype)


# ONNX's Selu defaults, as stored in the schema (float32 roundings of PyTorch's constants).
_SELU_ALPHA = 1.67326319217681884765625
_SELU_GAMMA = 1.05070102214813232421875


def _swish(x: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    alpha = attrs["alpha"]
    if alpha == 1.0:
        return _act.silu(x)
    gate = _act.sigmoid(np.asarray(x * alpha, dtype=x.dtype))
    return np.asarray(x * gate, dtype=x.dtype)


def _gelu(x: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    approximate = attrs["approximate"]
    if approximate not in ("none", "tanh"):
        raise fail(FUNC, "Gelu.approximate", "one of {'none', 'tanh'}", approximate)
    return _act.gelu(x, approximate=approximate)


def _softmax_axis(op_type: str, x: np.ndarray, axis: int) -> int:
    if not -x.ndim <= axis < x.ndim:
        raise fail(
            FUNC,
            f"{op_type}.axis",
            f"an int in [-r, r-1] = [{-x.ndim}, {x.ndim - 1}] for an input of rank r = {x.ndim}",
            axis,
        )
    return axis


def _softplus(x: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    # ONNX's softplus is plain ln(1 + e^x): no PyTorch-style switch to x above a threshold.
    # The dtype's largest finite value never triggers it (a larger one would overflow the cast).
    if not np.issubdtype(x.dtype, np.floating):
        return _act.softplus(x)  # rejects non-float input with its own message
    return _act.softplus(x, beta=1.0, threshold=float(np.finfo(x.dtype).max))


ACTIVATION_NODES: dict[str, ActivationNode] = {
    "Relu": ActivationNode(lambda x, a: _act.relu(x)),
    "Sigmoid": ActivationNode(lambda x, a: _act.sigmoid(x)),
    "Tanh": ActivationNode(lambda x, a: _act.tanh(x)),
    "LeakyRelu": ActivationNode(
        lambda x, a: _act.leaky_relu(x, a["alpha"]), {"alpha": AttributeSpec("float", 0.01)}
    ),
    "Elu": ActivationNode(
        lambda x, a: _act.elu(x, a["alpha"]), {"alpha": AttributeSpec("float", 1.0)}
    ),
    "Selu": ActivationNode(
        _selu, {"alpha": AttributeSpec("float"), "gamma": AttributeSpec("float")}
    ),
    "Celu": ActivationNode(
        lambda x, a: _act.celu(x, a["alpha"]), {"alpha": AttributeSpec("float", 1.0)}
    ),
    "ThresholdedRelu": ActivationNode(
        lambda x, a: _act.thresholded_relu(x, a["alpha"]), {"alpha": AttributeSpec("float", 1.0)}
    ),
    "HardSigmoid": ActivationNode(
        lambda x, a: _act.hardsigmoid(x, a["alpha"], a["beta"]),
        {"alpha": AttributeSpec("float", 0.2), "beta": AttributeSpec("float", 0.5)},
    ),
    "HardSwish": ActivationNode(lambda x, a: _act.hardswish(x)),
    "Softplus": ActivationNode(_softplus),
    "Softsign": ActivationNode(lambda x, a: _act.softsign(x)),
    "Gelu": ActivationNode(_gelu, {"approximate": AttributeSpec("string", "none")}),
    "Mish": ActivationNode(lambda x, a: _act.mish(x)),
    "Swish": ActivationNode(_swish, {"alpha": AttributeSpec("float", 1.0)}),
    "Softmax": ActivationNode(
        lambda x, a: softmax(x, axis=_softmax_axis("Softmax", x, a["axis"])),
        {"axis": AttributeSpec("int", -1)},
    ),
    "LogSoftmax": ActivationNode(
        lambda x, a: log_softmax(x, axis=_softmax_axis("LogSoftmax", x, a["axis"])),
        {"axis": AttributeSpec("int", -1)},
    ),
}


def prelu_node(
    inputs: Sequence[np.ndarray | None], attrs: dict[str, Any], num_outputs: int
) -> list[np.ndarray]:
    """ONNX PRelu: ``x`` where ``x >= 0``, else ``slope * x``, ``slope`` broadcast to ``X``."""
    x, slope = cast("tuple[np.ndarray, np.ndarray]", tuple(inputs))
    try:
        broadcast = np.broadcast_shapes(slope.shape, x.shape)
    except ValueError:
        broadcast = None
    if broadcast != x.shape:
        raise fail(
            FUNC,
            "PRelu.slope",
            f"an array unidirectionally broadcastable to X of shape {x.shape}",
            slope,
        )
    if slope.dtype != x.dtype:
        raise fail(FUNC, "PRelu.slope", f"an array of X's dtype {x.dtype}", slope)
    # Per-channel slopes in PyTorch's form go through the library operator; any other
    # broadcast pattern ONNX allows is applied directly.
    axis = _single_slope_axis(slope.shape, x.ndim)
    if axis is not None and np.issubdtype(x.dtype, np.floating):
        return [_act.prelu(x, slope.reshape(-1), axis=axis)]
    return [np.where(x < 0, x * slope, x).astype(x.dtype, copy=False)]


def _single_slope_axis(slope_shape: tuple[int, ...], ndim: int) -> int | None:
    """The axis of X a slope varies along, if it varies along at most one axis of X."""
    varying = [i for i, n in enumerate(slope_shape) if n != 1]
    if len(varying) > 1 or ndim == 0:
        return None
    if not varying:
        return min(1, ndim - 1)
    return ndim - len(slope_shape) + varying[0]


CLIP_ATTRIBUTES = {"min": AttributeSpec("float"), "max": AttributeSpec("float")}


def _bound(name: str, value: np.ndarray | None, attr: float | None, x: np.ndarray) -> Any:
    if value is None:
        if attr is None:
            return None
        return np.asarray(attr).astype(x.dtype)
    bound = np.asarray(value)
    if bound.size != 1 or bound.ndim > 1:
        raise fail(FUNC, f"Clip.{name}", "a scalar (a 0-d or 1-element array)", value)
    if bound.dtype != x.dtype:
        raise fail(FUNC, f"Clip.{name}", f"a scalar of the input's dtype {x.dtype}", value)
    return bound.reshape(())


def clip_node(
    inputs: Sequence[np.ndarray | None], attrs: dict[str, Any], num_outputs: int
) -> list[np.ndarray]:
    """ONNX Clip: ``Min(max, Max(x, min))``; an omitted bound is no bound."""
    x, low_in, high_in = cast(
        "tuple[np.ndarray, np.ndarray | None, np.ndarray | None]", (*inputs, None, None)[:3]
    )
    if (low_in is not None or high_in is not None) and (
        attrs["min"] is not None or attrs["max"] is not None
    ):
        raise fail(
            FUNC,
            "Clip.min",
            "given either as inputs (opset >= 11) or as attributes (opset 6), not both",
            attrs,
        )
    low = _bound("min", low_in, attrs["min"], x)
    high = _bound("max", high_in, attrs["max"], x)
    y = x.copy()
    if low is not None:
        np.maximum(y, low, out=y)
    if high is not None:
        np.minimum(y, high, out=y)
    return [y]
