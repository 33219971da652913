"""Plumbing shared by the elementwise activations: input checks, working dtype, backward checks.

Every activation follows the same conventions, kept here in one place:

- **Input**: any array-like; a float array (float16, float32, float64) for most operators, integer
  arrays too where the result is exact (``relu``, ``relu6``). Bool, complex and object arrays are
  refused with a :class:`~cnnblocks.errors.ParameterError` that names the function.
- **Working dtype**: float16 is computed in float32 and rounded once at the end (as PyTorch does on
  CPU); every other dtype is computed in itself.
- **Shape**: elementwise operators keep the input's shape, including ``()`` for 0-d input, and
  always return an ``ndarray`` (never a NumPy scalar). Internally 0-d input is viewed as shape
  ``(1,)`` so in-place ufuncs (``out=``) work uniformly.
- **Gradients** come back in ``grad_y``'s dtype (as in :mod:`cnnblocks.functional.pooling`), with
  ``grad_y`` checked to have the forward output's shape and the context checked to be the op's.
- **No spurious warnings**: no intermediate step overflows (``exp`` of a large argument, ``x**3``,
  ``β·x``) or forms ``inf·0`` when the true result is finite. A result that is itself out of range
  (``leaky_relu`` with a slope of 10 on 1e308) overflows as NumPy arithmetic does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks._checks import as_array, check_float_dtype, fail
from cnnblocks.autograd import Context
from cnnblocks.errors import ParameterError

__all__ = [
    "check_context",
    "check_grad_output",
    "finish",
    "float_input",
    "is_int",
    "real_input",
    "times_grad",
    "working",
]


def float_input(x: Any, func: str) -> np.ndarray:
    """Return ``x`` as an ndarray, refusing anything but real floating-point data."""
    arr = as_array(x, func=func)
    check_float_dtype(arr, func=func)
    return arr


def real_input(x: Any, func: str) -> np.ndarray:
    """Return ``x`` as an ndarray of integers or floats (the ops that are exact on integers)."""
    arr = as_array(x, func=func)
    kind = arr.dtype.kind
    if kind not in "iuf":
        raise fail(
            func, "x", "an integer or floating-point array (bool and complex are not allowed)", arr
        )
    return arr


def working(x: np.ndarray, *, widen: bool = True) -> np.ndarray:
    """View ``x`` in the dtype the arithmetic runs in, with at least one dimension.

    float16 is widened to float32 (unless ``widen`` is false, for operators that are exact or
    round once anyway) so that the result is rounded once, not after every step. The result may
    share memory with ``x``: never write into it.
    """
    if widen and x.dtype == np.float16:
        x = x.astype(np.float32)
    return x.reshape(1) if x.ndim == 0 else x


def finish(y: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Return ``y`` (computed in the working dtype) with the dtype and shape of ``like``."""
    if y.dtype != like.dtype:
        y = y.astype(like.dtype)
    return y.reshape(like.shape) if y.shape != like.shape else y


def check_grad_output(grad_y: Any, shape: tuple[int, ...], func: str) -> np.ndarray:
    """Check that the incoming gradient is a float array with the forward output's shape."""
    arr = as_array(grad_y, func=func, name="grad_y")
    if arr.dtype.kind != "f":
        raise fail(func, "grad_y", "a floating-point array (float16, float32 or float64)", arr)
    if arr.shape != shape:
        raise fail(func, "grad_y", f"an array of shape {shape} (the forward output's shape)", arr)
    return arr


def check_context(ctx: Any, op: str, func: str) -> Context:
    """Check that ``ctx`` was made by ``op``'s forward pass (and not by another operator's)."""
    rule = f"the Context returned by {op}_forward()"
    if not isinstance(ctx, Context):
        raise fail(func, "ctx", rule, ctx)
    if ctx.op != op:
        raise ParameterError(
            f"The 'ctx' parameter of {func}() must be {rule}. "
            f"Got a Context made by {ctx.op}_forward() instead."
        )
    return ctx


def times_grad(local: np.ndarray, grad_y: np.ndarray) -> np.ndarray:
    """Chain rule: ``grad_y · local`` in ``grad_y``'s dtype and shape.

    ``local`` is a fresh working-dtype array of local derivatives and is overwritten when the
    dtypes agree; otherwise the product is formed in the wider dtype and rounded once.
    """
    g = grad_y.reshape(local.shape)
    if local.dtype == grad_y.dtype:
        np.multiply(local, g, out=local)
        out = local
    else:
        out = np.multiply(local, g).astype(grad_y.dtype, copy=False)
    return out.reshape(grad_y.shape)


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers, False for bools."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
