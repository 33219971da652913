"""Compiled (numba) max-unpooling kernels: the scatter forward and the gather backward.

Importing this module imports numba (:mod:`cnnblocks.engine.fast_unpool` imports it at the first
call). Spatial axes arrive flattened, so one kernel serves 1-D to 3-D: channels first as planes
``(P, cells)``, channels last as images ``(N, cells, C)``. Indices are PyTorch's flat per-plane
offsets, already checked to lie inside the output plane by the caller.

The forward zeroes each output plane (image) and then writes every value at its index in input
order, so when two values share an index the last one written stays (NumPy's fancy assignment
does the same; PyTorch leaves the order unspecified). The backward reads the gradient at each
index; a shared index gives every source its gradient, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

from cnnblocks.engine._numba import kernel

__all__ = ["unpool_bwd_nchw", "unpool_bwd_nhwc", "unpool_fwd_nchw", "unpool_fwd_nhwc"]

Array = Any


@kernel()
def unpool_fwd_nchw(
    lo: int, hi: int, out: Array, y: Array, idx: Array
) -> None:  # pragma: no cover - compiled
    """out (P, cells) = 0, then out[p, idx[p, m]] = y[p, m]; units are planes."""
    for plane in range(lo, hi):
        dst = out[plane]
        dst[:] = 0
        src = y[plane]
        where = idx[plane]
        for m in range(src.shape[0]):
            dst[where[m]] = src[m]


@kernel()
def unpool_fwd_nhwc(
    lo: int, hi: int, out: Array, y: Array, idx: Array
) -> None:  # pragma: no cover - compiled
    """out (N, cells, C) = 0, then out[n, idx[n, m, c], c] = y[n, m, c]; units are images."""
    channels = y.shape[2]
    for n in range(lo, hi):
        dst = out[n]
        dst[:, :] = 0
        for m in range(y.shape[1]):
            src = y[n, m]
            where = idx[n, m]
            for c in range(channels):
                dst[where[c], c] = src[c]


@kernel()
def unpool_bwd_nchw(
    lo: int, hi: int, grad_y: Array, grad_out: Array, idx: Array
) -> None:  # pragma: no cover - compiled
    """grad_y (P, M)[p, m] = grad_out (P, cells)[p, idx[p, m]]; units are planes."""
    for plane in range(lo, hi):
        src = grad_out[plane]
        dst = grad_y[plane]
        where = idx[plane]
        for m in range(dst.shape[0]):
            dst[m] = src[where[m]]


@kernel()
def unpool_bwd_nhwc(
    lo: int, hi: int, grad_y: Array, grad_out: Array, idx: Array
) -> None:  # pragma: no cover - compiled
    """grad_y (N, M, C)[n, m, c] = grad_out (N, cells, C)[n, idx[n, m, c], c]; units are
    images."""
    channels = grad_y.shape[2]
    for n in range(lo, hi):
        for m in range(grad_y.shape[1]):
            dst = grad_y[n, m]
            where = idx[n, m]
            for c in range(channels):
                dst[c] = grad_out[n, where[c], c]
