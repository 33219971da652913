"""Compiled (numba) kernels for windows given as per-axis ``[start, end)`` tables, NCHW and NHWC.

Importing this module does not import numba; the first call of a kernel does. Window ``i`` of an
axis covers cells ``[start[i], end[i])``. Two callers build such tables:

- adaptive pooling (:mod:`cnnblocks.engine.fast_adaptive`), with PyTorch's bins
  ``floor(i L / O)`` to ``ceil((i + 1) L / O)``, which differ in size and may overlap (bins of
  equal size are ordinary windows and run on :mod:`cnnblocks.engine.numba_pool`'s kernels);
- max pooling with indices at W stride >= 3 and no dilation (:mod:`cnnblocks.engine.fast_pool`),
  with each window clipped to the input: padding is −inf, so it never wins and a clipped window
  has the same maximum and argmax. Measured at 1 thread on (16, 64, 56, 56): 4.3–5.7 ms for
  3×3/3 to 8×8/8 against 16–20 ms for the separable kernel, whose strided W taps do not
  vectorise (PyTorch NCHW: 6–13 ms).

Spatial axes are always three, ``(D, H, W)``: 2-D inputs run with ``D = 1`` and 1-D inputs with
``D = H = 1`` (an outer loop of one turn costs nothing measurable).

Each kernel visits every cell of each window directly, as PyTorch's CPU kernels do: adaptive
bins are small (about ``L/O + 1`` cells per axis) and may overlap, so a separable scheme would
save little. The rules match PyTorch's NCHW kernels bit for bit:

- maximum: ``take = (v > best) | (v != v)`` in row-major bin order, so ties keep the first
  maximum (even the sign of a zero) and the last NaN gives the index; a bin of only −inf reports
  its first cell;
- mean: the bin's cells summed in row-major order in the input's dtype, then divided by the bin's
  depth, height and width in turn (``sum / kd / kh / kw``; PyTorch's 2-D channels-last kernel
  divides once by ``kh · kw``, which can differ in the last bit: we give the same value in both
  layouts);
- mean backward: each bin adds ``grad / kd / kh / kw`` to each of its cells, bins in row-major
  order.

Units of work: planes for NCHW, output rows ``(n, od, oh)`` for the NHWC forward, (image, channel
block) pairs for the NHWC backward (bins overlap, so whole images keep the accumulation
race-free).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks.engine._numba import kernel

__all__ = [
    "binned_avg_bwd_nchw",
    "binned_avg_bwd_nhwc",
    "binned_avg_nchw",
    "binned_avg_nhwc",
    "binned_max_nchw",
    "binned_max_nhwc",
]

Array = Any


@kernel()
def binned_max_nchw(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    idx: Array,
    d_start: Array,
    d_end: Array,
    h_start: Array,
    h_end: Array,
    w_start: Array,
    w_end: Array,
) -> None:  # pragma: no cover - compiled
    """x (P, D, H, W) -> y, idx (P, D_out, H_out, W_out): each window's maximum and its flat
    plane index."""
    height, width = x.shape[2], x.shape[3]
    out_d, out_h, out_w = y.shape[1], y.shape[2], y.shape[3]
    for plane in range(lo, hi):
        xp = x[plane]
        for od in range(out_d):
            ds, de = d_start[od], d_end[od]
            for oh in range(out_h):
                hs, he = h_start[oh], h_end[oh]
                for ow in range(out_w):
                    ws, we = w_start[ow], w_end[ow]
                    best = xp[ds, hs, ws]
                    where = (ds * height + hs) * width + ws
                    for d in range(ds, de):
                        for h in range(hs, he):
                            row = xp[d, h]
                            base = (d * height + h) * width
                            for w in range(ws, we):
                                v = row[w]
                                # one select, no branch: random data would mispredict `or`
                                take = (v > best) | (v != v)
                                best = np.maximum(best, v)
                                where = base + w if take else where
                    y[plane, od, oh, ow] = best
                    idx[plane, od, oh, ow] = where


@kernel()
def binned_max_nhwc(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    idx: Array,
    d_start: Array,
    d_end: Array,
    h_start: Array,
    h_end: Array,
    w_start: Array,
    w_end: Array,
) -> None:  # pragma: no cover - compiled
    """x (N, D, H, W, C) -> y, idx (N, D_out, H_out, W_out, C); units are output rows
    ``(n·D_out + od)·H_out + oh``.

    As :func:`cnnblocks.engine.numba_pool.max_idx_fwd_nhwc_i32`: the running maximum lives in the
    output's channel vector, the winner as an int32 flat index in a per-thread vector (a 32-bit
    select vectorises as wide as float32), widened into ``idx`` once per output pixel. Planes of
    2**31 cells or more are not sent here.
    """
    height, width, channels = x.shape[2], x.shape[3], x.shape[4]
    out_d, out_h, out_w = y.shape[1], y.shape[2], y.shape[3]
    code = np.empty(channels, np.int32)
    for task in range(lo, hi):
        n = task // (out_d * out_h)
        od = (task // out_h) % out_d
        oh = task % out_h
        ds, de = d_start[od], d_end[od]
        hs, he = h_start[oh], h_end[oh]
        for ow in range(out_w):
            ws, we = w_start[ow], w_end[ow]
            best = y[n, od, oh, ow]
            first = x[n, ds, hs, ws]
            start = np.int32((ds * height + hs) * width + ws)
            for c in range(channels):
                best[c] = first[c]
                code[c] = start
            for d in range(ds, de):
                for h in range(hs, he):
                    for w in range(ws, we):
                        tap = x[n, d, h, w]
                        here = np.int32((d * height + h) * width + w)
                        for c in range(channels):
                            v = tap[c]
                            o = best[c]
                            take = (v > o) | (v != v)
                            best[c] = np.maximum(o, v)
                            code[c] = here if take else code[c]
            where = idx[n, od, oh, ow]
            for c in range(channels):
                where[c] = code[c]


@kernel()
def binned_avg_nchw(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    d_start: Array,
    d_end: Array,
    d_size: Array,
    h_start: Array,
    h_end: Array,
    h_size: Array,
    w_start: Array,
    w_end: Array,
    w_size: Array,
) -> None:  # pragma: no cover - compiled
    """x (P, D, H, W) -> y (P, D_out, H_out, W_out): ``sum(window) / kd / kh / kw``; the sizes
    are in x's dtype (so the divisions stay in it)."""
    out_d, out_h, out_w = y.shape[1], y.shape[2], y.shape[3]
    for plane in range(lo, hi):
        xp = x[plane]
        for od in range(out_d):
            ds, de = d_start[od], d_end[od]
            for oh in range(out_h):
                hs, he = h_start[oh], h_end[oh]
                for ow in range(out_w):
                    ws, we = w_start[ow], w_end[ow]
                    total = h_size[0] - h_size[0]  # a zero of x's dtype (the sizes are finite)
                    for d in range(ds, de):
                        for h in range(hs, he):
                            row = xp[d, h]
                            for w in range(ws, we):
                                total += row[w]
                    y[plane, od, oh, ow] = total / d_size[od] / h_size[oh] / w_size[ow]


@kernel()
def binned_avg_nhwc(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    d_start: Array,
    d_end: Array,
    d_size: Array,
    h_start: Array,
    h_end: Array,
    h_size: Array,
    w_start: Array,
    w_end: Array,
    w_size: Array,
) -> None:  # pragma: no cover - compiled
    """x (N, D, H, W, C) -> y (N, D_out, H_out, W_out, C), as :func:`binned_avg_nchw` per
    channel; units are output rows, and the sums accumulate in the output's channel vector."""
    channels = x.shape[4]
    out_d, out_h, out_w = y.shape[1], y.shape[2], y.shape[3]
    for task in range(lo, hi):
        n = task // (out_d * out_h)
        od = (task // out_h) % out_d
        oh = task % out_h
        ds, de, kd = d_start[od], d_end[od], d_size[od]
        hs, he, kh = h_start[oh], h_end[oh], h_size[oh]
        for ow in range(out_w):
            ws, we, kw = w_start[ow], w_end[ow], w_size[ow]
            total = y[n, od, oh, ow]
            for c in range(channels):
                total[c] = 0
            for d in range(ds, de):
                for h in range(hs, he):
                    for w in range(ws, we):
                        tap = x[n, d, h, w]
                        for c in range(channels):
                            total[c] += tap[c]
            for c in range(channels):
                total[c] = total[c] / kd / kh / kw


@kernel()
def binned_avg_bwd_nchw(
    lo: int,
    hi: int,
    grad_x: Array,
    grad_y: Array,
    d_start: Array,
    d_end: Array,
    d_size: Array,
    h_start: Array,
    h_end: Array,
    h_size: Array,
    w_start: Array,
    w_end: Array,
    w_size: Array,
) -> None:  # pragma: no cover - compiled
    """grad_x (P, D, H, W) = 0, then each window adds ``grad_y / kd / kh / kw`` to its cells."""
    out_d, out_h, out_w = grad_y.shape[1], grad_y.shape[2], grad_y.shape[3]
    for plane in range(lo, hi):
        gx = grad_x[plane]
        flat = gx.reshape(-1)
        for i in range(flat.size):  # a flat loop: numba's 3-D slice fill is a slow nd-iterator
            flat[i] = 0
        for od in range(out_d):
            ds, de = d_start[od], d_end[od]
            for oh in range(out_h):
                hs, he = h_start[oh], h_end[oh]
                for ow in range(out_w):
                    ws, we = w_start[ow], w_end[ow]
                    share = grad_y[plane, od, oh, ow] / d_size[od] / h_size[oh] / w_size[ow]
                    for d in range(ds, de):
                        for h in range(hs, he):
                            row = gx[d, h]
                            for w in range(ws, we):
                                row[w] += share


@kernel()
def binned_avg_bwd_nhwc(
    lo: int,
    hi: int,
    grad_x: Array,
    grad_y: Array,
    blocks: int,
    d_start: Array,
    d_end: Array,
    d_size: Array,
    h_start: Array,
    h_end: Array,
    h_size: Array,
    w_start: Array,
    w_end: Array,
    w_size: Array,
) -> None:  # pragma: no cover - compiled
    """grad_x (N, D, H, W, C) from grad_y (N, D_out, H_out, W_out, C); units are (image,
    channel block).

    Each window's ``grad_y / kd / kh / kw`` is computed once into per-thread scratch (allocated
    per call: each thread runs its own call).
    """
    channels = grad_x.shape[4]
    out_d, out_h, out_w = grad_y.shape[1], grad_y.shape[2], grad_y.shape[3]
    share = np.empty(channels, grad_x.dtype)
    per_block = (channels + blocks - 1) // blocks
    for task in range(lo, hi):
        n = task // blocks
        c0 = (task - n * blocks) * per_block
        c1 = min(c0 + per_block, channels)
        width = c1 - c0
        gx = grad_x[n]
        # Channel runs are sliced once and indexed from 0: an index like c0 + j, which numba cannot
        # prove non-negative, gets a wrap-around check that stops the loop from vectorising.
        mine = share[:width]
        for d in range(gx.shape[0]):
            for h in range(gx.shape[1]):
                for w in range(gx.shape[2]):
                    cell = gx[d, h, w, c0:c1]
                    for c in range(width):
                        cell[c] = 0
        for od in range(out_d):
            ds, de, kd = d_start[od], d_end[od], d_size[od]
            for oh in range(out_h):
                hs, he, kh = h_start[oh], h_end[oh], h_size[oh]
                for ow in range(out_w):
                    ws, we, kw = w_start[ow], w_end[ow], w_size[ow]
                    g = grad_y[n, od, oh, ow, c0:c1]
                    for c in range(width):
                        mine[c] = g[c] / kd / kh / kw
                    for d in range(ds, de):
                        for h in range(hs, he):
                            for w in range(ws, we):
                                cell = gx[d, h, w, c0:c1]
                                for c in range(width):
                                    cell[c] += mine[c]
