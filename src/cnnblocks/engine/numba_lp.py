"""Compiled (numba) Lp-pooling kernels: forward and backward, NCHW and NHWC, 1-D and 2-D windows.

Importing this module imports numba (:mod:`cnnblocks.engine.fast_lp` imports it at the first
call). Lp pooling follows ONNX's LpPool: ``y = (Σ_window |x|^p)^(1/p)``, padding contributing 0,
computed in float64 whatever the input dtype (issue 2's accuracy rule: ``|x|^p`` of a float32
value can overflow float32 when the norm does not), rounded once to the output dtype. The
float64 norms are also written out (``y64``, one per output) for the backward.

The backward is ``grad_x = sign(x) |x|^(p-1) · Σ_{windows o ∋ x} grad_y[o] · y[o]^(1-p)``, with a
window of norm 0 contributing 0. Each input cell *gathers* the windows that contain it (tables
from :func:`cnnblocks.engine.fast_pool._covering`), so every grad_x cell is written once, with no
zeroing pass and no race between threads. Spatial axes are always three, ``(D, H, W)``: 2-D
windows run with ``D = 1``, 1-D windows with ``D = H = 1``.

Only ``p = 1`` (``|x|``) and ``p = 2`` (``x·x``, root by ``sqrt``) are compiled, chosen by
``mode``: they give the values NumPy's ``np.abs(x) ** p`` and ``** (1/p)`` give (NumPy too
squares for ``** 2`` and takes ``sqrt`` for ``** 0.5``). Other ``p`` need ``pow`` per cell, which
numba calls as scalar libm: measured 1.7x slower than NumPy's vectorised ``np.power`` on
(16, 64, 56, 56), so they stay on NumPy. Windows are visited directly, tap by tap
(``k_h · k_w`` per output).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks.engine._numba import jit, kernel

__all__ = ["lp_bwd_nchw", "lp_bwd_nhwc", "lp_fwd_nchw", "lp_fwd_nhwc"]

Array = Any


@jit(inline="always")
def _power(v: float, mode: int) -> float:  # pragma: no cover - compiled
    """|v|^p in float64 (p = mode, 1 or 2)."""
    return v * v if mode == 2 else abs(v)


@jit(inline="always")
def _root(total: float, mode: int) -> float:  # pragma: no cover - compiled
    """total^(1/p)."""
    return float(np.sqrt(total)) if mode == 2 else total


@jit(inline="always")
def _factor(norm: float, mode: int) -> float:  # pragma: no cover - compiled
    """norm^(1-p), and 0 where the norm is not > 0 (a window of zeros, or NaN)."""
    if not norm > 0.0:
        return 0.0
    return 1.0 / norm if mode == 2 else 1.0


@jit(inline="always")
def _local(v: float, mode: int) -> float:  # pragma: no cover - compiled
    """sign(v) |v|^(p-1), as ``np.sign(v) * np.abs(v) ** (p - 1)`` (sign(±0) = +0, NaN stays:
    ``NaN ** 0`` is 1, but the sign is NaN)."""
    if v > 0.0:
        sign = 1.0
    elif v < 0.0:
        sign = -1.0
    elif v == 0.0:
        sign = 0.0
    else:
        sign = v
    return sign * abs(v) if mode == 2 else sign


@kernel()
def lp_fwd_nchw(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    y64: Array,
    mode: int,
    d_start: Array,
    d_count: Array,
    dd: int,
    h_start: Array,
    h_count: Array,
    dh: int,
    w_start: Array,
    w_count: Array,
    dw: int,
) -> None:  # pragma: no cover - compiled
    """x (P, D, H, W) -> y (P, D_out, H_out, W_out) in x's dtype and y64 in float64; windows
    clipped to the input by the (first inside tap, taps inside) tables of each axis."""
    out_d, out_h, out_w = y.shape[1], y.shape[2], y.shape[3]
    for plane in range(lo, hi):
        xp = x[plane]
        for od in range(out_d):
            d0, nd = d_start[od], d_count[od]
            for oh in range(out_h):
                h0, nh = h_start[oh], h_count[oh]
                for ow in range(out_w):
                    w0, nw = w_start[ow], w_count[ow]
                    total = 0.0
                    for a in range(nd):
                        for b in range(nh):
                            row = xp[d0 + a * dd, h0 + b * dh]
                            for e in range(nw):
                                total += _power(np.float64(row[w0 + e * dw]), mode)
                    norm = _root(total, mode)
                    y64[plane, od, oh, ow] = norm
                    y[plane, od, oh, ow] = norm


@kernel()
def lp_fwd_nhwc(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    y64: Array,
    mode: int,
    d_start: Array,
    d_count: Array,
    dd: int,
    h_start: Array,
    h_count: Array,
    dh: int,
    w_start: Array,
    w_count: Array,
    dw: int,
) -> None:  # pragma: no cover - compiled
    """x (N, D, H, W, C) -> y, y64 (N, D_out, H_out, W_out, C); units are output rows
    ``(n·D_out + od)·H_out + oh``, the sums kept in y64's channel vector."""
    channels = x.shape[4]
    out_d, out_h, out_w = y.shape[1], y.shape[2], y.shape[3]
    for task in range(lo, hi):
        n = task // (out_d * out_h)
        od = (task // out_h) % out_d
        oh = task % out_h
        d0, nd = d_start[od], d_count[od]
        h0, nh = h_start[oh], h_count[oh]
        for ow in range(out_w):
            w0, nw = w_start[ow], w_count[ow]
            total = y64[n, od, oh, ow]
            for c in range(channels):
                total[c] = 0.0
            for a in range(nd):
                for b in range(nh):
                    for e in range(nw):
                        tap = x[n, d0 + a * dd, h0 + b * dh, w0 + e * dw]
                        for c in range(channels):
                            total[c] += _power(np.float64(tap[c]), mode)
            out = y[n, od, oh, ow]
            for c in range(channels):
                norm = _root(total[c], mode)
                total[c] = norm
                out[c] = norm


@kernel()
def lp_bwd_nchw(
    lo: int,
    hi: int,
    grad_x: Array,
    grad_y: Array,
    y64: Array,
    x: Array,
    mode: int,
    d_windows: Array,
    d_windows_count: Array,
    h_windows: Array,
    h_windows_count: Array,
    w_windows: Array,
    w_windows_count: Array,
) -> None:  # pragma: no cover - compiled
    """grad_x (P, D, H, W) from grad_y and y64 (P, D_out, H_out, W_out) and the input x.

    Each plane's ``grad_y · y^(1-p)`` is formed once into per-thread scratch (one division per
    output instead of one per window containing each cell), then gathered separably: over the
    covering depth slices and rows by adding whole output rows (vectorised), then along W per
    cell.
    """
    depth, height, width = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    out_d, out_h, out_w = grad_y.shape[1], grad_y.shape[2], grad_y.shape[3]
    scale = np.empty((out_d, out_h, out_w), np.float64)
    by_rows = np.empty(out_w, np.float64)
    for plane in range(lo, hi):
        gy = grad_y[plane]
        norms = y64[plane]
        for od in range(out_d):
            for oh in range(out_h):
                for ow in range(out_w):
                    scale[od, oh, ow] = np.float64(gy[od, oh, ow]) * _factor(
                        norms[od, oh, ow], mode
                    )
        for d in range(depth):
            for h in range(height):
                for ow in range(out_w):
                    by_rows[ow] = 0.0
                for a in range(d_windows_count[d]):
                    od = d_windows[d, a]
                    for b in range(h_windows_count[h]):
                        src = scale[od, h_windows[h, b]]
                        for ow in range(out_w):
                            by_rows[ow] += src[ow]
                xr = x[plane, d, h]
                gr = grad_x[plane, d, h]
                for w in range(width):
                    total = 0.0
                    for e in range(w_windows_count[w]):
                        total += by_rows[w_windows[w, e]]
                    gr[w] = total * _local(np.float64(xr[w]), mode)


@kernel()
def lp_bwd_nhwc(
    lo: int,
    hi: int,
    grad_x: Array,
    grad_y: Array,
    y64: Array,
    x: Array,
    mode: int,
    d_windows: Array,
    d_windows_count: Array,
    h_windows: Array,
    h_windows_count: Array,
    w_windows: Array,
    w_windows_count: Array,
) -> None:  # pragma: no cover - compiled
    """grad_x (N, D, H, W, C) from grad_y, y64 (N, D_out, H_out, W_out, C) and x; units are
    input rows ``(n·D + d)·H + h``, the sums in per-thread float64 channel vectors.

    The sums run in :func:`lp_bwd_nchw`'s order (over the covering depth slices and rows for each
    covering column, then over the columns), so both layouts give the same bits.
    """
    depth, height, width, channels = (
        grad_x.shape[1], grad_x.shape[2], grad_x.shape[3], grad_x.shape[4]
    )
    total = np.empty(channels, np.float64)
    part = np.empty(channels, np.float64)
    for task in range(lo, hi):
        n = task // (depth * height)
        d = (task // height) % depth
        h = task % height
        for w in range(width):
            for c in range(channels):
                total[c] = 0.0
            for e in range(w_windows_count[w]):
                ow = w_windows[w, e]
                for c in range(channels):
                    part[c] = 0.0
                for a in range(d_windows_count[d]):
                    od = d_windows[d, a]
                    for b in range(h_windows_count[h]):
                        oh = h_windows[h, b]
                        gy = grad_y[n, od, oh, ow]
                        norms = y64[n, od, oh, ow]
                        for c in range(channels):
                            part[c] += np.float64(gy[c]) * _factor(norms[c], mode)
                for c in range(channels):
                    total[c] += part[c]
            cell = x[n, d, h, w]
            out = grad_x[n, d, h, w]
            for c in range(channels):
                out[c] = total[c] * _local(np.float64(cell[c]), mode)
