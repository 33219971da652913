"""``run_node``: one ONNX node, evaluated with cnnblocks' operators."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnblocks._checks import fail
from cnnblocks.errors import ParameterError
from cnnblocks.onnx import _pooling_nodes as pool
from cnnblocks.onnx._activation_nodes import (
    ACTIVATION_NODES,
    CLIP_ATTRIBUTES,
    clip_node,
    prelu_node,
)
from cnnblocks.onnx._attributes import FUNC, AttributeSpec, parse_attributes

__all__ = ["SUPPORTED_OPS", "run_node"]

NodeFn = Callable[[Sequence[np.ndarray | None], dict[str, Any], int], list[np.ndarray]]


@dataclass(frozen=True, slots=True)
class _Op:
    """An ONNX operator: its inputs (name, optional), attributes, and maximum outputs."""

    run: NodeFn
    inputs: tuple[tuple[str, bool], ...]
    attributes: Mapping[str, AttributeSpec]
    max_outputs: int = 1


_X = (("X", False),)

_OPS: dict[str, _Op] = {
    "MaxPool": _Op(pool.max_pool_node, _X, pool.MAX_POOL_ATTRIBUTES, max_outputs=2),
    "AveragePool": _Op(pool.average_pool_node, _X, pool.AVERAGE_POOL_ATTRIBUTES),
    "LpPool": _Op(pool.lp_pool_node, _X, pool.LP_POOL_ATTRIBUTES),
    "GlobalMaxPool": _Op(pool.global_max_pool_node, _X, pool.GLOBAL_POOL_ATTRIBUTES),
    "GlobalAveragePool": _Op(pool.global_average_pool_node, _X, pool.GLOBAL_POOL_ATTRIBUTES),
    "GlobalLpPool": _Op(pool.global_lp_pool_node, _X, pool.GLOBAL_LP_POOL_ATTRIBUTES),
    "MaxUnpool": _Op(
        pool.max_unpool_node,
        (("X", False), ("I", False), ("output_shape", True)),
        pool.MAX_UNPOOL_ATTRIBUTES,
    ),
    "PRelu": _Op(prelu_node, (("X", False), ("slope", False)), {}),
    "Clip": _Op(clip_node, (("input", False), ("min", True), ("max", True)), CLIP_ATTRIBUTES),
    **{name: _Op(node, _X, node.attributes) for name, node in ACTIVATION_NODES.items()},
}

#: ONNX operator types :func:`run_node` implements, sorted by name.
SUPPORTED_OPS: tuple[str, ...] = tuple(sorted(_OPS))


def _is_bfloat16(a: np.ndarray | None) -> bool:
    return a is not None and a.dtype.name == "bfloat16"


def _check_inputs(op_type: str, op: _Op, inputs: Sequence[Any]) -> list[np.ndarray | None]:
    names = ", ".join(f"{n} (optional)" if opt else n for n, opt in op.inputs)
    if isinstance(inputs, (str, bytes, np.ndarray)) or not isinstance(inputs, Sequence):
        raise fail(FUNC, "inputs", f"a list of arrays for {op_type}'s inputs {names}", inputs)
    if len(inputs) > len(op.inputs):
        raise ParameterError(
            f"run_node() got {len(inputs)} inputs for op_type {op_type!r}, which takes at most "
            f"{len(op.inputs)}: {names}."
        )
    padded: list[Any] = list(inputs) + [None] * (len(op.inputs) - len(inputs))
    arrays: list[np.ndarray | None] = []
    for (name, optional), value in zip(op.inputs, padded, strict=True):
        if value is None:
            if not optional:
                raise ParameterError(
                    f"run_node() needs input {name!r} of op_type {op_type!r}; got None "
                    f"(its inputs: {names})."
                )
            arrays.append(None)
            continue
        array = np.asarray(value)
        if array.dtype == object:
            raise fail(FUNC, f"{op_type}.{name}", "a numeric array", value)
        arrays.append(array)
    return arrays


def run_node(
    op_type: str,
    inputs: Sequence[np.ndarray | None],
    attributes: Mapping[str, Any] | None = None,
    num_outputs: int = 1,
) -> list[np.ndarray]:
    """Evaluate one ONNX node with cnnblocks' operators, as the ONNX spec (opset 22) defines it.

    Parameters
    ----------
    op_type : str
        The node's operator, one of :data:`SUPPORTED_OPS` (default domain ``ai.onnx``).
    inputs : sequence of ndarray or None
        The node's inputs in ONNX order; ``None`` (or leaving trailing ones out) for an omitted
        optional input, e.g. ``[x, None, max]`` for Clip without a lower bound.
    attributes : mapping, optional
        Attribute values as ``onnx.helper.get_attribute_value`` returns them (ints, floats, lists,
        ``bytes`` or ``str``). Absent attributes take ONNX's defaults (e.g. HardSigmoid
        ``alpha=0.2, beta=0.5``, LeakyRelu ``alpha=0.01``, AveragePool ``count_include_pad=0``).
    num_outputs : int
        How many outputs the node declares; 2 only for MaxPool with its ``Indices`` output.

    Returns
    -------
    list of ndarray
        ``num_outputs`` arrays. bfloat16 inputs are computed in float32 and rounded back.

    Raises
    ------
    ParameterError
        For an unsupported op_type or attribute, a missing required input or attribute, or a
        value the spec does not allow; the message names the operator and the attribute.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(1, 26, dtype=np.float32).reshape(1, 1, 5, 5)
    >>> y, i = run_node("MaxPool", [x], {"kernel_shape": [2, 2], "strides": [2, 2],
    ...                                  "storage_order": 1}, num_outputs=2)
    >>> y[0, 0].tolist(), i[0, 0].tolist()
    ([[7.0, 9.0], [17.0, 19.0]], [[6, 16], [8, 18]])
    >>> run_node("HardSigmoid", [np.array([0.0, 1.0, 5.0])])[0].tolist()
    [0.5, 0.7, 1.0]
    """
    if not isinstance(op_type, str) or op_type not in _OPS:
        raise ParameterError(
            f"run_node() does not support op_type {op_type!r}; supported: "
            f"{', '.join(SUPPORTED_OPS)}."
        )
    op = _OPS[op_type]
    if isinstance(num_outputs, bool) or not isinstance(num_outputs, int) or not (
        1 <= num_outputs <= op.max_outputs
    ):
        rule = f"an int in [1, {op.max_outputs}]" if op.max_outputs > 1 else "1"
        raise fail(FUNC, "num_outputs", f"{rule} for op_type {op_type!r}", num_outputs)
    attrs = parse_attributes(op_type, attributes, op.attributes)
    arrays = _check_inputs(op_type, op, inputs)
    if not any(_is_bfloat16(a) for a in arrays):
        return op.run(arrays, attrs, num_outputs)
    # NumPy has no bfloat16 arithmetic (it comes from ml_dtypes); compute in float32, round back.
    bf16 = next(a.dtype for a in arrays if a is not None and _is_bfloat16(a))
    widened = [
        a.astype(np.float32) if a is not None and _is_bfloat16(a) else a for a in arrays
    ]
    outputs = op.run(widened, attrs, num_outputs)
    return [o.astype(bf16) if o.dtype == np.float32 else o for o in outputs]
