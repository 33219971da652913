"""Compiled (numba) Lp-pooling kernels: forward and backward, NCHW and NHWC, 1-D and 2-D windows.

Importing this module imports numba (:mod:`cnnblocks.engine.fast_lp` imports it at the first
call). Lp pooling follows ONNX's LpPool: ``y = (Σ_window |x|^p)^(1/p)``, padding contributing 0,
computed in float64 whatever the input dtype (issue 2's accuracy rule: ``|x|^p`` of a float32
value can overflow float32 when the norm does not), rounded once to the output dtype. The
float64 norms are also written out (``y64``, one per output) for the backward.

The backward is ``grad_x = sign(x) |x|^(p-1) · Σ_{windows o ∋ x} grad_y[o] · y[o]^(1-p)``, with a
window of norm 0 contributing 0. Each input cell *gathers* the windows that contain it (tables
from :func:`cnnblocks.engine.fast_pool._covering`), so every grad_x cell is written once, with no
zeroing pass and no race between threads.

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
    row_start: Array,
    row_count: Array,
    dh: int,
    col_start: Array,
    col_count: Array,
    dw: int,
) -> None:  # pragma: no cover - compiled
    """x (P, H, W) -> y (P, H_out, W_out) in x's dtype and y64 in float64; windows clipped to
    the input by the (first inside tap, taps inside) tables."""
    out_h = y.shape[1]
    out_w = y.shape[2]
    for plane in range(lo, hi):
        xp = x[plane]
        for oh in range(out_h):
            r0 = row_start[oh]
            rows = row_count[oh]
            for ow in range(out_w):
                c0 = col_start[ow]
                cols = col_count[ow]
                total = 0.0
                for a in range(rows):
                    row = xp[r0 + a * dh]
                    for b in range(cols):
                        total += _power(np.float64(row[c0 + b * dw]), mode)
                norm = _root(total, mode)
                y64[plane, oh, ow] = norm
                y[plane, oh, ow] = norm


@kernel()
def lp_fwd_nhwc(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    y64: Array,
    mode: int,
    row_start: Array,
    row_count: Array,
    dh: int,
    col_start: Array,
    col_count: Array,
    dw: int,
) -> None:  # pragma: no cover - compiled
    """x (N, H, W, C) -> y, y64 (N, H_out, W_out, C); units are output rows ``n·H_out + oh``,
    the sums kept in y64's channel vector."""
    channels = x.shape[3]
    out_h = y.shape[1]
    out_w = y.shape[2]
    for task in range(lo, hi):
        n = task // out_h
        oh = task - n * out_h
        r0 = row_start[oh]
        rows = row_count[oh]
        for ow in range(out_w):
            c0 = col_start[ow]
            cols = col_count[ow]
            total = y64[n, oh, ow]
            for c in range(channels):
                total[c] = 0.0
            for a in range(rows):
                for b in range(cols):
                    tap = x[n, r0 + a * dh, c0 + b * dw]
                    for c in range(channels):
                        total[c] += _power(np.float64(tap[c]), mode)
            out = y[n, oh, ow]
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
    row_windows: Array,
    row_windows_count: Array,
    col_windows: Array,
    col_windows_count: Array,
) -> None:  # pragma: no cover - compiled
    """grad_x (P, H, W) from grad_y and y64 (P, H_out, W_out) and the input x (P, H, W).

    Each plane's ``grad_y · y^(1-p)`` is formed once into per-thread scratch (one division per
    output instead of one per window containing each cell), then gathered separably: along H by
    adding whole output rows (vectorised), then along W per cell.
    """
    height = grad_x.shape[1]
    width = grad_x.shape[2]
    out_h = grad_y.shape[1]
    out_w = grad_y.shape[2]
    scale = np.empty((out_h, out_w), np.float64)
    by_rows = np.empty(out_w, np.float64)
    for plane in range(lo, hi):
        gy = grad_y[plane]
        norms = y64[plane]
        for oh in range(out_h):
            for ow in range(out_w):
                scale[oh, ow] = np.float64(gy[oh, ow]) * _factor(norms[oh, ow], mode)
        for h in range(height):
            for ow in range(out_w):
                by_rows[ow] = 0.0
            for a in range(row_windows_count[h]):
                src = scale[row_windows[h, a]]
                for ow in range(out_w):
                    by_rows[ow] += src[ow]
            xr = x[plane, h]
            gr = grad_x[plane, h]
            for w in range(width):
                total = 0.0
                for b in range(col_windows_count[w]):
                    total += by_rows[col_windows[w, b]]
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
    row_windows: Array,
    row_windows_count: Array,
    col_windows: Array,
    col_windows_count: Array,
) -> None:  # pragma: no cover - compiled
    """grad_x (N, H, W, C) from grad_y, y64 (N, H_out, W_out, C) and x; units are input rows
    ``n·H + h``, the sums in per-thread float64 channel vectors.

    The sums run in :func:`lp_bwd_nchw`'s order (over the covering rows for each covering column,
    then over the columns), so both layouts give the same bits.
    """
    height = grad_x.shape[1]
    width = grad_x.shape[2]
    channels = grad_x.shape[3]
    total = np.empty(channels, np.float64)
    part = np.empty(channels, np.float64)
    for task in range(lo, hi):
        n = task // height
        h = task - n * height
        rows = row_windows_count[h]
        for w in range(width):
            for c in range(channels):
                total[c] = 0.0
            for b in range(col_windows_count[w]):
                ow = col_windows[w, b]
                for c in range(channels):
                    part[c] = 0.0
                for a in range(rows):
                    oh = row_windows[h, a]
                    gy = grad_y[n, oh, ow]
                    norms = y64[n, oh, ow]
                    for c in range(channels):
                        part[c] += np.float64(gy[c]) * _factor(norms[c], mode)
                for c in range(channels):
                    total[c] += part[c]
            cell = x[n, h, w]
            out = grad_x[n, h, w]
            for c in range(channels):
                out[c] = total[c] * _local(np.float64(cell[c]), mode)
