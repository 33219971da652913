"""ONNX node attributes: which ones each operator takes, their defaults, and their parsing.

Attributes reach :func:`cnnblocks.onnx.run_node` as plain Python values (what
``onnx.helper.get_attribute_value`` returns): ints, floats, lists of ints, and ``bytes`` or ``str``
for strings. Absent attributes take ONNX's defaults here, so callers never fill them in. An
attribute the operator does not define, or a value of the wrong kind, raises
:class:`~cnnblocks.errors.ParameterError` naming the operator and the attribute.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from cnnblocks._checks import fail
from cnnblocks.errors import ParameterError

__all__ = ["FUNC", "AttributeSpec", "parse_attributes"]

FUNC = "run_node"

Kind = Literal["int", "float", "ints", "string"]


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One attribute of one operator: its kind and its default (``None``: absent, derived later)."""

    kind: Kind
    default: Any = None
    required: bool = False


def _describe(kind: Kind) -> str:
    return {
        "int": "an int",
        "float": "a real number",
        "ints": "a list of ints",
        "string": "a str or bytes",
    }[kind]


def _parse_one(op_type: str, name: str, spec: AttributeSpec, value: Any) -> Any:
    label = f"{op_type}.{name}"
    if spec.kind == "int":
        # ONNX has no bool attribute type; make_node stores True as 1, so accept bools as 0/1.
        if isinstance(value, numbers.Integral):
            return int(value)
    elif spec.kind == "float":
        # A bool is a Real to Python, but True as a slope or alpha is surely a mistake.
        if not isinstance(value, bool) and isinstance(value, numbers.Real):
            number = float(value)
            if math.isfinite(number):
                return number
    elif spec.kind == "ints":
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            items = list(value)
            if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items):
                return tuple(int(v) for v in items)
    else:  # string: the protobuf gives bytes, hand-written attributes usually give str
        if isinstance(value, str):
            return value
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                pass
    raise fail(FUNC, label, _describe(spec.kind), value)


def parse_attributes(
    op_type: str,
    attributes: Mapping[str, Any] | None,
    specs: Mapping[str, AttributeSpec],
) -> dict[str, Any]:
    """Check ``attributes`` against ``specs`` and return every attribute with defaults filled in.

    Examples
    --------
    >>> parse_attributes("LeakyRelu", {}, {"alpha": AttributeSpec("float", 0.01)})
    {'alpha': 0.01}
    >>> parse_attributes("MaxPool", {"auto_pad": b"VALID"}, {"auto_pad": AttributeSpec("string")})
    {'auto_pad': 'VALID'}
    """
    given = dict(attributes or {})
    if not all(isinstance(k, str) for k in given):
        raise fail(FUNC, "attributes", "a mapping from attribute names (str) to values", given)
    unknown = sorted(k for k in given if k not in specs)
    if unknown:
        known = ", ".join(repr(k) for k in specs) if specs else "none"
        raise ParameterError(
            f"run_node() does not support attribute {unknown[0]!r} of op_type {op_type!r}; "
            f"supported attributes of {op_type}: {known}."
        )
    parsed: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in given and given[name] is not None:
            parsed[name] = _parse_one(op_type, name, spec, given[name])
        elif spec.required:
            raise ParameterError(
                f"run_node() needs attribute {name!r} for op_type {op_type!r} (ONNX requires it); "
                f"it was not given."
            )
        else:
            parsed[name] = spec.default
    return parsed
