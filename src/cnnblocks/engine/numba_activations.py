"""Compiled (numba) elementwise kernels: sigmoid and the piecewise-linear activations.

Importing this module imports numba; :mod:`cnnblocks.engine.fast_activations` imports it when a
kernel first runs. Every kernel reads its inputs once and writes its output once (fused: no
temporaries), on a range ``[lo, hi)`` of elements of flat contiguous arrays;
:func:`~cnnblocks.engine._numba.parallel_for` runs one range per thread.

numba's ``exp`` compiles to a scalar libm call (no SVML here), which caps sigmoid at a fraction of
memory bandwidth, so ``e^{-|x|}`` comes from :mod:`cnnblocks.engine.numba_vector_math`, whose
helpers vectorise. Sigmoid's accuracy: within 2 ulp of a correctly rounded σ; arguments below
−104 (float32) or −746 (float64) give exactly 0, like the correctly rounded value. The exp kernels
are compiled with ``fastmath={'contract'}`` only (FMA contraction; no other IEEE rule relaxed).

The piecewise-linear kernels (relu, relu6, leaky_relu, prelu, thresholded_relu, hardsigmoid,
hardswish, softsign) repeat the NumPy path's operations in its order, without FMA, so both give
the same bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks.engine._numba import kernel
from cnnblocks.engine.numba_vector_math import (
    EXP_MATH,
    F32_ONE,
    F32_ZERO,
    exp_nonpositive_f32,
    exp_nonpositive_f64,
)

__all__ = [
    "hardsigmoid",
    "hardsigmoid_backward",
    "hardsigmoid_grad",
    "hardswish",
    "hardswish_backward",
    "hardswish_grad",
    "leaky_relu",
    "leaky_relu_backward",
    "leaky_relu_grad",
    "prelu",
    "prelu_backward",
    "prelu_grad",
    "relu",
    "relu6",
    "relu6_backward",
    "relu6_grad",
    "relu_backward",
    "relu_grad",
    "sigmoid_backward",
    "sigmoid_f32",
    "sigmoid_f64",
    "sigmoid_grad_f32",
    "sigmoid_grad_f64",
    "softsign",
    "softsign_backward",
    "softsign_grad",
    "thresholded_relu",
    "thresholded_relu_backward",
    "thresholded_relu_grad",
]

Array = Any


# --- sigmoid --------------------------------------------------------------------------------
# σ(x) = 1/(1+z) for x >= 0 and z/(1+z) for x < 0, z = e^{-|x|}: no overflow, both tails accurate.
# Every kernel works on elements [lo, hi) of flat contiguous arrays; slicing first lets the loop
# index start at 0, which spares the wrap-around checks that would stop vectorisation.


@kernel(**EXP_MATH)
def sigmoid_f32(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover - compiled
    """y = σ(x), float32."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        z = exp_nonpositive_f32(-abs(v))
        num = F32_ONE if v >= F32_ZERO else z
        s = num / (z + F32_ONE)
        ys[i] = s if v == v else v


@kernel(**EXP_MATH)
def sigmoid_f64(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover - compiled
    """y = σ(x), float64."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        z = exp_nonpositive_f64(-abs(v))
        num = 1.0 if v >= 0.0 else z
        s = num / (z + 1.0)
        ys[i] = s if v == v else v


@kernel(**EXP_MATH)
def sigmoid_grad_f32(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover
    """y = σ'(x) = z/(1+z)^2, z = e^{-|x|}, float32."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        z = exp_nonpositive_f32(-abs(v))
        d = z + F32_ONE
        s = z / (d * d)
        ys[i] = s if v == v else v


@kernel(**EXP_MATH)
def sigmoid_grad_f64(lo: int, hi: int, x: Array, y: Array) -> None:  # pragma: no cover
    """y = σ'(x) = z/(1+z)^2, z = e^{-|x|}, float64."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        z = exp_nonpositive_f64(-abs(v))
        d = z + 1.0
        s = z / (d * d)
        ys[i] = s if v == v else v


@kernel()
def sigmoid_backward(
    lo: int, hi: int, grad_y: Array, y: Array, grad_x: Array, one: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = grad_y · ((1 − y) · y), in that order (as the NumPy path rounds)."""
    gs, ys, out = grad_y[lo:hi], y[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = ys[i]
        out[i] = ((one - v) * v) * gs[i]


# --- relu -----------------------------------------------------------------------------------


@kernel()
def relu(lo: int, hi: int, x: Array, y: Array, zero: Any) -> None:  # pragma: no cover
    """y = max(0, x) exactly as ``np.maximum(x, 0)``: NaN propagates and −0 gives +0.

    numba's ``np.maximum(a, b)`` returns ``a`` on ties, so ``a = +0`` turns −0 into +0.
    """
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        ys[i] = np.maximum(zero, xs[i])


@kernel()
def relu_grad(
    lo: int, hi: int, x: Array, y: Array, zero: Any, one: Any
) -> None:  # pragma: no cover - compiled
    """y = 0 where x <= 0, else 1 (relu'(0) = 0; NaN gives 1, PyTorch's ``x <= 0 ? 0 : 1``)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        ys[i] = zero if xs[i] <= zero else one


@kernel()
def relu_backward(
    lo: int, hi: int, grad_y: Array, y: Array, grad_x: Array, zero: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = 0 where y <= 0, else grad_y (so a NaN output passes the gradient, as in PyTorch)."""
    gs, ys, out = grad_y[lo:hi], y[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        g = gs[i]  # loaded unconditionally: a branch-free select
        out[i] = zero if ys[i] <= zero else g


# --- leaky relu -----------------------------------------------------------------------------
# The same operations, in the same order, as the NumPy path (``slope · x``, then ``x`` where
# ``x > 0``; ``grad_y · f'``), so both give the same bits; one pass instead of three.


@kernel()
def leaky_relu(
    lo: int, hi: int, x: Array, y: Array, zero: Any, slope: Any
) -> None:  # pragma: no cover - compiled
    """y = x where x > 0, else slope · x (NaN stays NaN)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        scaled = v * slope
        ys[i] = v if v > zero else scaled


@kernel()
def leaky_relu_grad(
    lo: int, hi: int, x: Array, y: Array, zero: Any, one: Any, slope: Any
) -> None:  # pragma: no cover - compiled
    """y = 1 where x > 0, else slope (also at 0, and at NaN, as PyTorch)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        ys[i] = one if xs[i] > zero else slope


@kernel()
def leaky_relu_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, zero: Any, one: Any, slope: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = f'(x) · grad_y with f' as :func:`leaky_relu_grad`."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        d = one if xs[i] > zero else slope
        out[i] = d * gs[i]


# --- thresholded relu -----------------------------------------------------------------------
# ``x <= θ ? 0 : ...`` as in the NumPy path and PyTorch's threshold: NaN takes the else branch.


@kernel()
def thresholded_relu(
    lo: int, hi: int, x: Array, y: Array, zero: Any, theta: Any
) -> None:  # pragma: no cover - compiled
    """y = 0 where x <= θ, else x."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        ys[i] = zero if v <= theta else v


@kernel()
def thresholded_relu_grad(
    lo: int, hi: int, x: Array, y: Array, zero: Any, one: Any, theta: Any
) -> None:  # pragma: no cover - compiled
    """y = 0 where x <= θ, else 1."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        ys[i] = zero if xs[i] <= theta else one


@kernel()
def thresholded_relu_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, zero: Any, theta: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = 0 where x <= θ, else grad_y."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        g = gs[i]  # loaded unconditionally: a branch-free select
        out[i] = zero if xs[i] <= theta else g


# --- hardswish ------------------------------------------------------------------------------
# The NumPy path's operations in its order: r = clip(x + 3, 0, 6) / 6, times max(x, -max_float)
# (so -inf gives the limit 0); f' = x/3 + 1/2 inside, 0 at x <= -3, 1 at x >= 3 and at NaN.


@kernel()
def hardswish(
    lo: int, hi: int, x: Array, y: Array, zero: Any, three: Any, six: Any, lowest: Any
) -> None:  # pragma: no cover - compiled
    """y = x · relu6(x + 3) / 6."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        r = np.minimum(np.maximum(v + three, zero), six) / six
        ys[i] = r * np.maximum(v, lowest)


@kernel()
def hardswish_grad(
    lo: int, hi: int, x: Array, y: Array, zero: Any, one: Any, half: Any, three: Any
) -> None:  # pragma: no cover - compiled
    """y = 0 for x <= -3, x/3 + 1/2 for -3 < x < 3, 1 for x >= 3 (and NaN)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = v / three + half
        d = zero if v <= -three else d
        ys[i] = d if v < three else one


@kernel()
def hardswish_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, zero: Any, one: Any, half: Any,
    three: Any,
) -> None:  # pragma: no cover - compiled
    """grad_x = hardswish'(x) · grad_y."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        d = v / three + half
        d = zero if v <= -three else d
        d = d if v < three else one
        out[i] = d * gs[i]


# --- relu6 ----------------------------------------------------------------------------------
# ``np.clip(x, 0, 6)``: x unless x < 0 (then 0) or x > 6 (then 6); so NaN stays NaN and −0 stays
# −0, exactly as np.clip. The comparisons are written as selects, which vectorise.


@kernel()
def relu6(
    lo: int, hi: int, x: Array, y: Array, zero: Any, six: Any
) -> None:  # pragma: no cover - compiled
    """y = min(max(x, 0), 6) with np.clip's NaN and −0."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        v = zero if v < zero else v
        ys[i] = six if v > six else v


@kernel()
def relu6_grad(
    lo: int, hi: int, x: Array, y: Array, zero: Any, one: Any, six: Any
) -> None:  # pragma: no cover - compiled
    """y = 0 where x <= 0 or x >= 6, else 1 (NaN: 1, PyTorch's comparisons)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        ys[i] = zero if (v <= zero) | (v >= six) else one


@kernel()
def relu6_backward(
    lo: int, hi: int, grad_y: Array, y: Array, grad_x: Array, zero: Any, six: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = 0 where the saved output y <= 0 or y >= 6, else grad_y."""
    gs, ys, out = grad_y[lo:hi], y[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        g = gs[i]  # loaded unconditionally: a branch-free select
        v = ys[i]
        out[i] = zero if (v <= zero) | (v >= six) else g


# --- hardsigmoid ----------------------------------------------------------------------------
# The NumPy path's operations in its order: v = x·α + β (two roundings, no FMA), then clipped to
# [0, 1] as np.clip does; f' = α where 0 < v < 1, else 0; backward (g or 0) · α.


@kernel()
def hardsigmoid(
    lo: int, hi: int, x: Array, y: Array, zero: Any, one: Any, alpha: Any, beta: Any
) -> None:  # pragma: no cover - compiled
    """y = clip(α x + β, 0, 1)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i] * alpha + beta
        v = zero if v < zero else v
        ys[i] = one if v > one else v


@kernel()
def hardsigmoid_grad(
    lo: int, hi: int, x: Array, y: Array, zero: Any, alpha: Any, beta: Any, one: Any
) -> None:  # pragma: no cover - compiled
    """y = α where 0 < α x + β < 1, else 0 (also at NaN)."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i] * alpha + beta
        ys[i] = alpha if (v > zero) & (v < one) else zero


@kernel()
def hardsigmoid_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, zero: Any, alpha: Any, beta: Any,
    one: Any,
) -> None:  # pragma: no cover - compiled
    """grad_x = (grad_y where 0 < α x + β < 1, else 0) · α."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        g = gs[i]
        v = xs[i] * alpha + beta
        out[i] = (g if (v > zero) & (v < one) else zero) * alpha


# --- softsign -------------------------------------------------------------------------------
# The NumPy path's operations: x clipped to ±max (so ±inf give the limits ±1), divided by
# 1 + |x|; f' = (1/(1 + |x|))², whose square cannot overflow.


@kernel()
def softsign(
    lo: int, hi: int, x: Array, y: Array, one: Any, big: Any
) -> None:  # pragma: no cover - compiled
    """y = x / (1 + |x|) with ±inf giving ±1."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        v = xs[i]
        v = -big if v < -big else v
        v = big if v > big else v
        ys[i] = v / (abs(v) + one)


@kernel()
def softsign_grad(lo: int, hi: int, x: Array, y: Array, one: Any) -> None:  # pragma: no cover
    """y = (1 / (1 + |x|))²."""
    xs, ys = x[lo:hi], y[lo:hi]
    for i in range(hi - lo):
        r = one / (abs(xs[i]) + one)
        ys[i] = r * r


@kernel()
def softsign_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, one: Any
) -> None:  # pragma: no cover - compiled
    """grad_x = (1 / (1 + |x|))² · grad_y."""
    gs, xs, out = grad_y[lo:hi], x[lo:hi], grad_x[lo:hi]
    for i in range(hi - lo):
        r = one / (abs(xs[i]) + one)
        out[i] = (r * r) * gs[i]


# --- prelu ----------------------------------------------------------------------------------
# x (C-contiguous, flat) is (outer, C, inner): element i belongs to channel (i // inner) % C.
# The loops walk runs of elements that share one weight (inner > 1: a run is one plane of a
# channel) or, with the channel axis last (inner == 1), runs of one row whose weights are the
# contiguous vector w itself; either way the inner loop is a plain vectorisable loop with no
# division per element. A shared weight is C = 1, inner = size: one run.


@kernel()
def prelu(
    lo: int, hi: int, x: Array, y: Array, w: Array, inner: int, zero: Any
) -> None:  # pragma: no cover - compiled
    """y = x where x > 0, else w_c · x (NaN stays NaN), as ``x · w`` then ``x`` where x > 0."""
    channels = w.size
    i = lo
    if inner == 1:  # channel axis last: weights w[c], w[c + 1], ... along each row
        c = lo % channels
        while i < hi:
            end = min(i + channels - c, hi)
            xs, ys, ws = x[i:end], y[i:end], w[c:c + end - i]
            for j in range(end - i):
                v = xs[j]
                scaled = v * ws[j]
                ys[j] = v if v > zero else scaled
            i, c = end, 0
        return
    row = lo // inner
    c = row % channels  # divisions once per call; counters after that
    while i < hi:
        end = min((row + 1) * inner, hi)
        a = w[c]
        xs, ys = x[i:end], y[i:end]
        for j in range(end - i):
            v = xs[j]
            scaled = v * a
            ys[j] = v if v > zero else scaled
        i, row, c = end, row + 1, c + 1
        c = 0 if c == channels else c


@kernel()
def prelu_grad(
    lo: int, hi: int, x: Array, y: Array, w: Array, inner: int, zero: Any, one: Any
) -> None:  # pragma: no cover - compiled
    """y = ∂f/∂x = 1 where x > 0, else w_c (so w_c at 0 and at NaN)."""
    channels = w.size
    i = lo
    if inner == 1:
        c = lo % channels
        while i < hi:
            end = min(i + channels - c, hi)
            xs, ys, ws = x[i:end], y[i:end], w[c:c + end - i]
            for j in range(end - i):
                a = ws[j]
                ys[j] = one if xs[j] > zero else a
            i, c = end, 0
        return
    row = lo // inner
    c = row % channels
    while i < hi:
        end = min((row + 1) * inner, hi)
        a = w[c]
        xs, ys = x[i:end], y[i:end]
        for j in range(end - i):
            ys[j] = one if xs[j] > zero else a
        i, row, c = end, row + 1, c + 1
        c = 0 if c == channels else c


@kernel(fastmath={"reassoc"})
def prelu_backward(
    lo: int, hi: int, grad_y: Array, x: Array, grad_x: Array, w: Array, inner: int, block: int,
    partial: Array, zero: Any, one: Any,
) -> None:  # pragma: no cover - compiled
    """grad_x = ∂f/∂x · grad_y, and the weight gradient's partial sums, in one pass.

    The work units are blocks of ``block`` elements; ``partial[b, c]`` receives the float64 sum
    of ``min(x, 0) · grad_y`` over the elements of block ``b`` in channel ``c`` (the products
    rounded in x's dtype, as the NumPy path forms them). Blocks are fixed, so the result does not
    depend on the thread count. ``reassoc`` lets the sums vectorise; the elementwise products
    have a single rounding each, which it cannot change.
    """
    channels = w.size
    size = x.size
    for b in range(lo, hi):
        i = b * block
        stop = min(i + block, size)
        if inner == 1:
            c = i % channels
            while i < stop:
                end = min(i + channels - c, stop)
                gs, xs, out = grad_y[i:end], x[i:end], grad_x[i:end]
                ws, acc = w[c:c + end - i], partial[b, c:c + end - i]
                for j in range(end - i):
                    v = xs[j]
                    g = gs[j]
                    out[j] = (one if v > zero else ws[j]) * g
                    acc[j] += np.minimum(v, zero) * g
                i, c = end, 0
            continue
        row = i // inner
        c = row % channels
        while i < stop:
            end = min((row + 1) * inner, stop)
            a = w[c]
            gs, xs, out = grad_y[i:end], x[i:end], grad_x[i:end]
            total = 0.0
            for j in range(end - i):
                v = xs[j]
                g = gs[j]
                out[j] = (one if v > zero else a) * g
                total += np.minimum(v, zero) * g
            partial[b, c] += total
            i, row, c = end, row + 1, c + 1
            c = 0 if c == channels else c
