"""Drive the compiled elementwise activation kernels from :mod:`cnnblocks.functional`.

The piecewise-linear kernels (:mod:`cnnblocks.engine.numba_activations`) give the NumPy path's
bits; the transcendental ones (:mod:`cnnblocks.engine.numba_smooth_activations`) compute in
float64 and round once (float32 within about half an ulp, float64 within a few ulp), except the
float32 silu, softplus derivative and gelu kernels, which use float32 arithmetic (a few ulp) for
speed; the bounds are pinned by tests/test_engine_activations.py.

Each function returns a fresh array, or ``None`` when the compiled path does not apply (then the
caller runs its NumPy code): dtypes other than float32/float64, arrays that are not contiguous in
C or Fortran order, or inputs of different dtypes or shapes. No input is ever copied; the output
has the input's memory order.

Arrays of fewer than :data:`PARALLEL_MIN` elements run on the calling thread (handing work to
other threads costs more than the work); larger ones use :func:`cnnblocks.get_num_threads`
threads, one contiguous range each.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from cnnblocks.engine._numba import SERIAL_BELOW, parallel_for

__all__ = [
    "PARALLEL_MIN",
    "exp_unit",
    "exp_unit_backward",
    "exp_unit_grad",
    "gelu",
    "gelu_backward",
    "gelu_grad",
    "gelu_tanh",
    "gelu_tanh_backward",
    "gelu_tanh_grad",
    "hardsigmoid",
    "hardsigmoid_backward",
    "hardsigmoid_grad",
    "hardswish",
    "hardswish_backward",
    "hardswish_grad",
    "leaky_relu",
    "leaky_relu_backward",
    "leaky_relu_grad",
    "mish",
    "mish_backward",
    "mish_grad",
    "prelu",
    "prelu_backward",
    "prelu_grad",
    "relu",
    "relu6",
    "relu6_backward",
    "relu6_grad",
    "relu_backward",
    "relu_grad",
    "sigmoid",
    "sigmoid_backward",
    "sigmoid_grad",
    "silu",
    "silu_backward",
    "silu_grad",
    "softplus",
    "softplus_backward",
    "softplus_grad",
    "softsign",
    "softsign_backward",
    "softsign_grad",
    "tanh",
    "tanh_backward",
    "tanh_grad",
    "thresholded_relu",
    "thresholded_relu_backward",
    "thresholded_relu_grad",
]

PARALLEL_MIN = SERIAL_BELOW
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _kernels() -> ModuleType:
    from cnnblocks.engine import numba_activations  # imports numba: only at the first call

    return numba_activations


def _smooth_kernels() -> ModuleType:
    from cnnblocks.engine import numba_smooth_activations

    return numba_smooth_activations


def _kernel(name: str) -> Any:
    """The compiled kernel called ``name``, from whichever kernel module defines it."""
    found = getattr(_kernels(), name, None)
    return found if found is not None else getattr(_smooth_kernels(), name)


def _constant(c: Any, t: type) -> Any:
    """A kernel constant: NumPy scalars pass as they are (``np.float64`` for kernels that work in
    float64 whatever x's dtype, ``np.bool_`` flags); Python numbers are rounded to x's dtype."""
    return c if isinstance(c, np.generic) else t(c)


def _flat(a: np.ndarray) -> np.ndarray | None:
    """1-D view of ``a`` in memory order, or None if ``a`` is not contiguous."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    if a.flags.f_contiguous:
        return a.T.reshape(-1)
    return None


def _unary(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if x.dtype not in _FLOATS:
        return None
    xf = _flat(x)
    if xf is None:
        return None
    y = np.empty_like(x)  # same memory order as x, so flat views line up
    yf = _flat(y)
    assert yf is not None  # empty_like keeps C or F order
    return y, xf, yf


def _binary(
    grad_y: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    if y.dtype not in _FLOATS or grad_y.dtype != y.dtype or grad_y.shape != y.shape:
        return None
    if grad_y.flags.c_contiguous != y.flags.c_contiguous:
        return None
    gf, yf = _flat(grad_y), _flat(y)
    if gf is None or yf is None:
        return None
    gx = np.empty_like(y)
    gxf = _flat(gx)
    assert gxf is not None
    return gx, gf, yf, gxf


def _run_unary(kernel: str, x: np.ndarray, *constants: Any) -> np.ndarray | None:
    """``y = kernel(x, constants...)`` on fresh output, or None if the compiled path does not
    apply; Python-number constants are rounded to x's dtype (as NumPy's arithmetic with a Python
    float), NumPy scalars are passed unchanged (see :func:`_constant`)."""
    arrays = _unary(x)
    if arrays is None:
        return None
    y, xf, yf = arrays
    t = x.dtype.type
    run = _kernel(kernel)
    parallel_for(run, xf.size, xf.size, xf, yf, *(_constant(c, t) for c in constants))
    return y


def _run_binary(
    kernel: str, grad_y: np.ndarray, saved: np.ndarray, *constants: Any
) -> np.ndarray | None:
    """``grad_x = kernel(grad_y, saved, constants...)``, or None (see :func:`_run_unary`)."""
    arrays = _binary(grad_y, saved)
    if arrays is None:
        return None
    gx, gf, sf, gxf = arrays
    t = saved.dtype.type
    run = _kernel(kernel)
    parallel_for(run, sf.size, sf.size, gf, sf, gxf, *(_constant(c, t) for c in constants))
    return gx


def _by_dtype(name: str, x: np.ndarray) -> str:
    """The float32 or float64 variant of a kernel whose constants differ by precision."""
    return f"{name}_f32" if x.dtype == np.float32 else f"{name}_f64"


def sigmoid(x: np.ndarray) -> np.ndarray | None:
    """σ(x) = 1/(1 + e^{−x}) (stable form), or None if the compiled path does not apply."""
    return _run_unary(_by_dtype("sigmoid", x), x)


def sigmoid_grad(x: np.ndarray) -> np.ndarray | None:
    """σ'(x) = e^{−|x|}/(1 + e^{−|x|})², or None if the compiled path does not apply."""
    return _run_unary(_by_dtype("sigmoid_grad", x), x)


def sigmoid_backward(grad_y: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """grad_x = grad_y · (1 − y) · y from the saved output ``y``, or None."""
    return _run_binary("sigmoid_backward", grad_y, y, 1)


def relu(x: np.ndarray) -> np.ndarray | None:
    """max(x, 0) with NaN kept, or None if the compiled path does not apply."""
    return _run_unary("relu", x, 0)


def relu_grad(x: np.ndarray) -> np.ndarray | None:
    """0 where x <= 0 else 1 (NaN: 1), in x's dtype, or None."""
    return _run_unary("relu_grad", x, 0, 1)


def relu_backward(grad_y: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """0 where the saved output y <= 0, else grad_y (NaN passes), or None."""
    return _run_binary("relu_backward", grad_y, y, 0)


def leaky_relu(x: np.ndarray, slope: float) -> np.ndarray | None:
    """x where x > 0, else ``slope · x`` (slope rounded to x's dtype), or None."""
    return _run_unary("leaky_relu", x, 0, slope)


def leaky_relu_grad(x: np.ndarray, slope: float) -> np.ndarray | None:
    """1 where x > 0, else ``slope``, in x's dtype, or None."""
    return _run_unary("leaky_relu_grad", x, 0, 1, slope)


def leaky_relu_backward(grad_y: np.ndarray, x: np.ndarray, slope: float) -> np.ndarray | None:
    """``grad_y · leaky_relu'(x)`` from the saved input ``x``, or None."""
    return _run_binary("leaky_relu_backward", grad_y, x, 0, 1, slope)


def thresholded_relu(x: np.ndarray, theta: float) -> np.ndarray | None:
    """0 where x <= θ (θ rounded to x's dtype, as NumPy compares), else x; or None."""
    return _run_unary("thresholded_relu", x, 0, theta)


def thresholded_relu_grad(x: np.ndarray, theta: float) -> np.ndarray | None:
    """0 where x <= θ, else 1, in x's dtype; or None."""
    return _run_unary("thresholded_relu_grad", x, 0, 1, theta)


def thresholded_relu_backward(
    grad_y: np.ndarray, x: np.ndarray, theta: float
) -> np.ndarray | None:
    """0 where the saved input x <= θ, else ``grad_y``; or None."""
    return _run_binary("thresholded_relu_backward", grad_y, x, 0, theta)


def hardswish(x: np.ndarray) -> np.ndarray | None:
    """x · relu6(x + 3) / 6 (−inf gives 0), or None."""
    if x.dtype not in _FLOATS:
        return None
    return _run_unary("hardswish", x, 0, 3, 6, -np.finfo(x.dtype).max)


def hardswish_grad(x: np.ndarray) -> np.ndarray | None:
    """hardswish'(x) in x's dtype, or None."""
    return _run_unary("hardswish_grad", x, 0, 1, 0.5, 3)


def hardswish_backward(grad_y: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """``grad_y · hardswish'(x)`` from the saved input ``x``, or None."""
    return _run_binary("hardswish_backward", grad_y, x, 0, 1, 0.5, 3)


def relu6(x: np.ndarray) -> np.ndarray | None:
    """np.clip(x, 0, 6) (NaN and −0 kept), or None."""
    return _run_unary("relu6", x, 0, 6)


def relu6_grad(x: np.ndarray) -> np.ndarray | None:
    """0 where x <= 0 or x >= 6, else 1 (NaN: 1), in x's dtype; or None."""
    return _run_unary("relu6_grad", x, 0, 1, 6)


def relu6_backward(grad_y: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """0 where the saved output y <= 0 or y >= 6, else grad_y; or None."""
    return _run_binary("relu6_backward", grad_y, y, 0, 6)


def hardsigmoid(x: np.ndarray, alpha: float, beta: float) -> np.ndarray | None:
    """clip(x·α + β, 0, 1) with α, β rounded to x's dtype, or None (also for α = 0, whose
    NumPy path maps ±inf to β instead of forming inf · 0)."""
    if alpha == 0:
        return None
    return _run_unary("hardsigmoid", x, 0, 1, alpha, beta)


def hardsigmoid_grad(x: np.ndarray, alpha: float, beta: float) -> np.ndarray | None:
    """α where 0 < x·α + β < 1, else 0; or None."""
    if alpha == 0:
        return None
    return _run_unary("hardsigmoid_grad", x, 0, alpha, beta, 1)


def hardsigmoid_backward(
    grad_y: np.ndarray, x: np.ndarray, alpha: float, beta: float
) -> np.ndarray | None:
    """(grad_y where 0 < x·α + β < 1, else 0) · α, from the saved input; or None."""
    if alpha == 0:
        return None
    return _run_binary("hardsigmoid_backward", grad_y, x, 0, alpha, beta, 1)


def softsign(x: np.ndarray) -> np.ndarray | None:
    """x / (1 + |x|) with ±inf giving ±1, or None."""
    if x.dtype not in _FLOATS:
        return None
    return _run_unary("softsign", x, 1, np.finfo(x.dtype).max)


def softsign_grad(x: np.ndarray) -> np.ndarray | None:
    """(1 / (1 + |x|))², or None."""
    return _run_unary("softsign_grad", x, 1)


def softsign_backward(grad_y: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """(1 / (1 + |x|))² · grad_y from the saved input, or None."""
    return _run_binary("softsign_backward", grad_y, x, 1)


# --- prelu: a weight per channel ------------------------------------------------------------


def _prelu_layout(x: np.ndarray, wb: np.ndarray) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(flat x, weight vector in x's dtype, elements per channel run) for C-contiguous x.

    ``wb`` is the weight as it broadcasts against x: ``()`` (shared) or ``(C, 1, ..., 1)``.
    """
    if x.dtype not in _FLOATS or not x.flags.c_contiguous or wb.dtype.kind != "f" or not x.size:
        return None  # (empty x: NumPy's path; the kernels' channel arithmetic assumes C > 0)
    w = wb.reshape(-1)
    if w.dtype != x.dtype or not w.flags.c_contiguous:
        w = np.ascontiguousarray(w, dtype=x.dtype)  # C values: a tiny copy
    inner = math.prod(x.shape[x.ndim - wb.ndim + 1:]) if wb.ndim else x.size
    return x.reshape(-1), w, max(inner, 1)


def prelu(x: np.ndarray, wb: np.ndarray) -> np.ndarray | None:
    """x where x > 0, else w_c · x, or None (x not C-contiguous, or not float32/float64)."""
    layout = _prelu_layout(x, wb)
    if layout is None:
        return None
    xf, w, inner = layout
    y = np.empty_like(x, order="C")
    t = x.dtype.type
    parallel_for(_kernels().prelu, xf.size, xf.size, xf, y.reshape(-1), w, inner, t(0))
    return y


def prelu_grad(x: np.ndarray, wb: np.ndarray) -> np.ndarray | None:
    """∂f/∂x: 1 where x > 0, else w_c; or None."""
    layout = _prelu_layout(x, wb)
    if layout is None:
        return None
    xf, w, inner = layout
    d = np.empty_like(x, order="C")
    t = x.dtype.type
    parallel_for(_kernels().prelu_grad, xf.size, xf.size, xf, d.reshape(-1), w, inner, t(0), t(1))
    return d


def prelu_backward(
    grad_y: np.ndarray, x: np.ndarray, wb: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """(grad_x, float64 weight gradient of C values) in one pass, or None.

    The weight gradient is summed per block of elements in float64 (per-block partial sums,
    then NumPy's sum over the blocks), so it does not depend on the thread count.
    """
    layout = _prelu_layout(x, wb)
    if layout is None or grad_y.dtype != x.dtype or not grad_y.flags.c_contiguous:
        return None
    xf, w, inner = layout
    gx = np.empty_like(x, order="C")
    # Blocks of at least 64 elements per channel keep the partial sums to 1/64 of the input.
    block = max(1 << 14, 64 * w.size)
    blocks = -(-xf.size // block)
    partial = np.zeros((max(blocks, 1), w.size))
    t = x.dtype.type
    parallel_for(
        _kernels().prelu_backward, blocks, xf.size, grad_y.reshape(-1), xf, gx.reshape(-1), w,
        inner, block, partial, t(0), t(1),
    )
    return gx, partial.sum(axis=0)


# --- transcendental activations: float64 arithmetic inside, one rounding at the store ---------
# Their constants are passed as np.float64 (not rounded to x's dtype): the float32 kernels
# evaluate in float64, so the result is the float64 value rounded once.


def _f64(value: float) -> np.float64:
    return np.float64(value)


def exp_unit(x: np.ndarray, alpha: float, scale: float, divisor: float) -> np.ndarray | None:
    """scale · (x if x > 0 else α expm1(x/divisor)): elu, selu, celu; or None."""
    return _run_unary("exp_unit", x, _f64(alpha), _f64(scale), _f64(divisor),
                      np.bool_(divisor != 1.0))


def _exp_unit_factor(alpha: float, scale: float, divisor: float) -> np.float64:
    return _f64(scale * (alpha / divisor))  # the NumPy path's factor, in the same order


def exp_unit_grad(x: np.ndarray, alpha: float, scale: float, divisor: float) -> np.ndarray | None:
    """scale where x > 0 (and NaN), else scale · (α/divisor) · e^{x/divisor}; or None."""
    return _run_unary("exp_unit_grad", x, _exp_unit_factor(alpha, scale, divisor), _f64(scale),
                      _f64(divisor), np.bool_(divisor != 1.0))


def exp_unit_backward(
    grad_y: np.ndarray, x: np.ndarray, alpha: float, scale: float, divisor: float
) -> np.ndarray | None:
    """grad_y · exp_unit'(x) from the saved input, or None."""
    return _run_binary("exp_unit_backward", grad_y, x, _exp_unit_factor(alpha, scale, divisor),
                       _f64(scale), _f64(divisor), np.bool_(divisor != 1.0))


def softplus(x: np.ndarray, beta: float, threshold: float) -> np.ndarray | None:
    """x where βx > threshold (βx and threshold in x's dtype), else log(1 + e^{βx})/β; or None."""
    return _run_unary("softplus", x, beta, threshold, _f64(beta), np.bool_(beta != 1.0))


def softplus_grad(x: np.ndarray, beta: float, threshold: float) -> np.ndarray | None:
    """1 where βx > threshold, else σ(βx); or None. float32: float32 arithmetic (speed)."""
    if x.dtype == np.float32:
        return _run_unary("softplus_grad_f32", x, beta, threshold)
    return _run_unary("softplus_grad", x, beta, threshold, _f64(beta))


def softplus_backward(
    grad_y: np.ndarray, x: np.ndarray, beta: float, threshold: float
) -> np.ndarray | None:
    """grad_y · softplus'(x) from the saved input, or None."""
    if x.dtype == np.float32:
        return _run_binary("softplus_backward_f32", grad_y, x, beta, threshold)
    return _run_binary("softplus_backward", grad_y, x, beta, threshold, _f64(beta))


def _big(x: np.ndarray) -> np.float64 | None:
    """x's largest finite float (as float64), or None for dtypes the kernels do not take."""
    return _f64(float(np.finfo(x.dtype).max)) if x.dtype in _FLOATS else None


def _run_big(kernel: str, x: np.ndarray) -> np.ndarray | None:
    big = _big(x)
    return None if big is None else _run_unary(kernel, x, big)


def _run_big_binary(kernel: str, grad_y: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    big = _big(x)
    return None if big is None else _run_binary(kernel, grad_y, x, big)


def _run_big_f32(kernel: str, x: np.ndarray) -> np.ndarray | None:
    """float32: the float32-arithmetic kernel ``kernel_f32`` with x's largest float (in
    float32); float64: the float64 kernel."""
    if x.dtype == np.float32:
        return _run_unary(f"{kernel}_f32", x, float(np.finfo(np.float32).max))
    return _run_big(kernel, x)


def silu(x: np.ndarray) -> np.ndarray | None:
    """x σ(x) (−inf gives 0), or None. float32: float32 arithmetic (speed)."""
    return _run_big_f32("silu", x)


def silu_grad(x: np.ndarray) -> np.ndarray | None:
    """σ(x) (1 + x σ(−x)), or None."""
    return _run_big_f32("silu_grad", x)


def silu_backward(grad_y: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """grad_y · silu'(x) from the saved input, or None."""
    if x.dtype == np.float32:
        return _run_binary("silu_backward_f32", grad_y, x, float(np.finfo(np.float32).max))
    return _run_big_binary("silu_backward", grad_y, x)


def mish(x: np.ndarray) -> np.ndarray | None:
    """x tanh(softplus(x)) (−inf gives 0), or None."""
    return _run_big("mish", x)


def mish_grad(x: np.ndarray) -> np.ndarray | None:
    """t + x σ(x)(1 − t²), t = tanh(softplus(x)); or None."""
    return _run_big("mish_grad", x)


def mish_backward(grad_y: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """grad_y · mish'(x) from the saved input, or None."""
    return _run_big_binary("mish_backward", grad_y, x)


def tanh(x: np.ndarray) -> np.ndarray | None:
    """tanh x, or None."""
    return _run_unary("tanh", x)


def tanh_grad(x: np.ndarray) -> np.ndarray | None:
    """sech²x = 4z/(1 + z)², z = e^{−2|x|}; or None."""
    return _run_unary("tanh_grad", x)


def tanh_backward(grad_y: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """(1 − y²) · grad_y from the saved output, the NumPy path's bits; or None."""
    return _run_binary("tanh_backward", grad_y, y, 1)


def gelu_tanh(x: np.ndarray) -> np.ndarray | None:
    """½x(1 + tanh(√(2/π)(x + 0.044715x³))) = x σ(2w) (−inf gives 0), or None."""
    return _run_big("gelu_tanh", x)


def gelu_tanh_grad(x: np.ndarray) -> np.ndarray | None:
    """The derivative of the tanh-form gelu, or None."""
    return _run_unary("gelu_tanh_grad", x)


def gelu_tanh_backward(grad_y: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """grad_y · gelu'(x), tanh form, from the saved input; or None."""
    return _run_binary("gelu_tanh_backward", grad_y, x)


def gelu(x: np.ndarray) -> np.ndarray | None:
    """x Φ(x) (relative accuracy in the lower tail; −inf gives 0), or None.
    float32: float32 arithmetic (speed)."""
    return _run_big_f32("gelu", x)


def gelu_grad(x: np.ndarray) -> np.ndarray | None:
    """Φ(x) + x φ(x), or None."""
    return _run_unary(_by_dtype("gelu_grad", x) if x.dtype == np.float32 else "gelu_grad", x)


def gelu_backward(grad_y: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """grad_y · gelu'(x) from the saved input, or None."""
    name = "gelu_backward_f32" if x.dtype == np.float32 else "gelu_backward"
    return _run_binary(name, grad_y, x)
