"""Argument checks shared by every public function.

Each check raises :class:`~cnnblocks.errors.ParameterError` with a message of one form:
``The '<arg>' parameter of <func>() must be <rule>. Got <value> instead.``
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from cnnblocks.errors import ParameterError

__all__ = [
    "as_array",
    "as_int_tuple",
    "check_choice",
    "check_float_dtype",
    "check_real",
    "fail",
]


def fail(func: str, name: str, rule: str, value: Any) -> ParameterError:
    """Build the standard error; callers ``raise fail(...)`` so tracebacks point at them."""
    return ParameterError(
        f"The '{name}' parameter of {func}() must be {rule}. Got {_show(value)} instead."
    )


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def as_int_tuple(
    value: Any, length: int, *, func: str, name: str, minimum: int = 1
) -> tuple[int, ...]:
    """Expand an int or a sequence of ints to a tuple of ``length`` ints, each >= ``minimum``."""
    rule = (
        f"an int >= {minimum} or a tuple of {length} such ints"
        if length > 1
        else f"an int >= {minimum}"
    )
    if _is_int(value):
        items: tuple[Any, ...] = (value,) * length
    elif isinstance(value, Sequence) and not isinstance(value, str):
        items = tuple(value)
        if len(items) == 1 and length > 1:
            items = items * length
        if len(items) != length:
            raise fail(func, name, rule, value)
    else:
        raise fail(func, name, rule, value)
    if not all(_is_int(v) and v >= minimum for v in items):
        raise fail(func, name, rule, value)
    return tuple(int(v) for v in items)


def check_choice(value: Any, choices: Iterable[str], *, func: str, name: str) -> str:
    """Return ``value`` if it is one of ``choices`` (compared exactly)."""
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise fail(func, name, f"one of {{{listed}}}", value)
    return value


def check_real(
    value: Any,
    *,
    func: str,
    name: str,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float after checking it is a finite real number in range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(func, name, "a finite real number", value)
    number = float(value)
    if not np.isfinite(number):
        raise fail(func, name, "a finite real number", value)
    if low is not None and (number < low or (not low_inclusive and number == low)):
        op = ">=" if low_inclusive else ">"
        raise fail(func, name, f"a real number {op} {low}", value)
    if high is not None and number > high:
        raise fail(func, name, f"a real number <= {high}", value)
    return number


def as_array(x: Any, *, func: str, name: str = "x") -> np.ndarray:
    """Convert array-likes (lists, scalars, arrays) to an ndarray without copying arrays."""
    if isinstance(x, np.ndarray):
        return x
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise fail(func, name, "array-like", x) from exc
    if arr.dtype == object:
        raise fail(func, name, "a numeric array", x)
    return arr


def check_float_dtype(x: np.ndarray, *, func: str, name: str = "x") -> None:
    """Reject integer and boolean arrays for operators defined only on real floats."""
    if x.dtype.kind != "f":
        raise fail(func, name, "a floating-point array (float16, float32 or float64)", x)
