"""Compiled (numba) pooling kernels for 1-D and 2-D windows, NCHW and NHWC, float32 and float64.

Importing this module does not import numba; the first call of a kernel does (and compiles it,
or loads it from the disk cache). Every kernel writes into arrays the caller allocated (``out=``
style), so the only extra memory is per-thread scratch of about one plane (NCHW) or one output
row (NHWC).

Every kernel is a serial loop over a range ``[lo, hi)`` of independent units (planes for NCHW,
output rows or (image, channel block) pairs for NHWC);
:func:`cnnblocks.engine._numba.parallel_for` gives each thread one range. Design (each choice
measured on the project machine, see ``PERFORMANCE.md``):

- NCHW works plane by plane and *separably*: ``k_h + k_w`` operations per output instead of
  ``k_h · k_w``. Values only (max and average forward): H first, the window's input rows combined
  at full width (long contiguous loops) into the middle of a padded row (−inf or 0), whose W taps
  are then read with the stride; a literal stride 1 or 2 in the loop lets LLVM vectorise the
  loads. No padded copy of the input is made, only one padded row per thread.
- Max with indices: W first, because the argmax must be the first maximum in *row-major* window
  order: the first maximum within each row, then the first row holding the largest of them. For
  stride 2 each padded row is split once into its even and odd cells so the taps are contiguous.
  The pooled rows are stored H-de-interleaved so the H pass runs long loops over the whole output
  plane.
- Loops index slices with non-negative loop counters only (a possibly negative index makes numba
  emit a wrap-around check that blocks vector loads).
- Values combine as ``np.maximum(old, new)``: numba emits it as branch-free selects that
  vectorise (a Python ``a if c else b`` on floats does not), it keeps the old value on ties (the
  first maximum, so even the sign of a zero is PyTorch's) and propagates NaN. The argmax is chosen
  with ``take = (new > old) | (new != new)`` (PyTorch's test), so the last NaN gives the index;
  the index select keeps the form ``new if take else arr[m]`` with a computed ``new`` (measured
  3× faster than loading both first).
- NHWC works on whole channel vectors: one output pixel is the combination of its clipped taps,
  each a contiguous run of C values.
- Max backward is a scatter of the gradient to the stored indices, per plane (NCHW) or per
  (image, channel block) (NHWC), which makes it race-free across threads.
- Average backward is the forward transposed: NCHW spreads each output row's gradient along W into
  a padded row, then adds it to the window's input rows; NHWC gathers, for each input cell, the
  (pre-divided) gradients of the windows that contain it.
- Global pooling (window = whole plane) has its own NCHW kernels; the reduction uses
  ``fastmath={'reassoc'}`` so it vectorises (a strict sequential sum runs at ≈ 5 GB/s).

Geometry tables (where each window starts, how many of its taps are inside the input, how rows
are padded and de-interleaved) are computed once per call in NumPy by
:mod:`cnnblocks.engine.fast_pool` and passed in as small int64 arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks.engine._numba import kernel

__all__ = [
    "avg_bwd_nchw",
    "avg_bwd_nhwc",
    "avg_fwd_nchw",
    "avg_fwd_nhwc",
    "global_avg_bwd_nchw",
    "global_avg_fwd_nchw",
    "global_max_fwd_nchw",
    "global_max_idx_fwd_nchw",
    "max_bwd_nchw",
    "max_bwd_nhwc",
    "max_fwd_nchw",
    "max_fwd_nhwc",
    "max_idx_fwd_nchw",
    "max_idx_fwd_nhwc",
]

Array = Any  # numba compiles these; NumPy arrays at the Python boundary


# ---------------------------------------------------------------------------------------------
# NCHW: separable, per plane
# ---------------------------------------------------------------------------------------------


@kernel()
def max_fwd_nchw(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    fill: float,
    row_start: Array,
    row_count: Array,
    dh: int,
    sw: int,
    dw: int,
    kw: int,
    pw: int,
    padded_w: int,
) -> None:  # pragma: no cover - compiled
    """y[p, oh, ow] = max over the window; x (P, H, W), y (P, H_out, W_out), C-contiguous.

    Values only, so H goes first: the window's rows are combined at full width straight from the
    input (long contiguous loops), into the middle of a −inf-padded row, whose W taps are then
    read with the stride (a literal 1 or 2 lets LLVM vectorise the strided loads).
    """
    in_w = x.shape[2]
    out_h, out_w = y.shape[1], y.shape[2]
    padded = np.empty(padded_w, x.dtype)
    padded[:] = fill
    hrow = padded[pw:pw + in_w]
    even = np.empty(padded_w // 2, x.dtype)
    odd = np.empty(padded_w // 2, x.dtype)
    # 2-wide windows at stride 2 with no left padding (VGG's 2x2/2): one loop per output row
    # straight from the input rows' cell pairs, no padded row.
    pairs = sw == 2 and kw == 2 and dw == 1 and pw == 0 and 2 * out_w <= in_w
    for plane in range(lo, hi):
        for oh in range(out_h):
            first = row_start[oh]
            count = row_count[oh]
            r0 = x[plane, first]
            if pairs and count <= 2:
                out = y[plane, oh]
                if count == 1:
                    for j in range(out_w):
                        out[j] = np.maximum(r0[2 * j], r0[2 * j + 1])
                else:
                    r1 = x[plane, first + dh]
                    for j in range(out_w):
                        top = np.maximum(r0[2 * j], r0[2 * j + 1])
                        out[j] = np.maximum(np.maximum(top, r1[2 * j]), r1[2 * j + 1])
                continue
            if count == 1:
                for j in range(in_w):
                    hrow[j] = r0[j]
            else:
                r1 = x[plane, first + dh]
                for j in range(in_w):
                    hrow[j] = np.maximum(r0[j], r1[j])
                for t in range(2, count):
                    r = x[plane, first + t * dh]
                    for j in range(in_w):
                        hrow[j] = np.maximum(hrow[j], r[j])
            out = y[plane, oh]
            tap = padded[0:]
            if sw == 1:
                for j in range(out_w):
                    out[j] = tap[j]
                for k in range(1, kw):
                    tap = padded[k * dw:]
                    for j in range(out_w):
                        out[j] = np.maximum(out[j], tap[j])
            elif sw == 2:
                for j in range(padded_w // 2):  # split even/odd cells in one pass (shuffles)
                    even[j] = padded[2 * j]
                    odd[j] = padded[2 * j + 1]
                for k in range(kw):
                    q = k * dw
                    half = even[q // 2:] if q % 2 == 0 else odd[q // 2:]
                    if k == 0:
                        for j in range(out_w):
                            out[j] = half[j]
                    else:
                        for j in range(out_w):
                            out[j] = np.maximum(out[j], half[j])
            else:
                for j in range(out_w):
                    out[j] = tap[sw * j]
                for k in range(1, kw):
                    tap = padded[k * dw:]
                    for j in range(out_w):
                        out[j] = np.maximum(out[j], tap[sw * j])


@kernel()
def max_idx_fwd_nchw(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    idx: Array,
    fill: float,
    sh: int,
    dh: int,
    kh: int,
    ph: int,
    slots: int,
    first_cell: Array,
    sw: int,
    dw: int,
    kw: int,
    pw: int,
    width: int,
) -> None:  # pragma: no cover - compiled
    """Max with PyTorch's flat in-plane argmax (int64) in ``idx`` (P, H_out, W_out).

    W goes first (the first maximum in row-major order is the first maximum of the first row
    holding the largest value), and both passes run as long loops over a whole plane:

    1. the plane is copied into a −inf-padded scratch plane whose rows are stored
       H-de-interleaved (padded row ``r`` at phase ``r mod S_h``, slot ``r div S_h``) and are
       ``width = S_w · J`` wide, so output column ``j`` of every row is cell ``S_w·m + k·d_w`` of
       the flat scratch, ``m = row · J + j``;
    2. the W pass keeps, per (row, j), the best value and *which tap* ``k`` gave it;
    3. the H pass, thanks to the de-interleaving one contiguous block per tap ``t``, keeps the
       best value and which ``t``;
    4. one more long loop per H tap ``t`` turns (t, k) into the flat index: for a fixed ``t`` the
       W taps ``k`` of all output rows are again one contiguous block. Windows that never took a
       value (all −inf) report their first real cell, as PyTorch does.

    Only loop counters and scalars feed the selects, which keeps them vectorised. Columns
    ``j >= W_out`` of the scratch rows are computed and ignored.
    """
    in_h, in_w = x.shape[1], x.shape[2]
    out_h, out_w = y.shape[1], y.shape[2]
    if (sh == 2 and sw == 2 and kh == 2 and kw == 2 and dh == 1 and dw == 1 and ph == 0
            and pw == 0 and 2 * out_h <= in_h and 2 * out_w <= in_w):
        # VGG's 2x2/2 without padding: every window is 4 real cells; take them in row-major
        # order straight from the input (no scratch plane, one pass).
        for plane in range(lo, hi):
            for oh in range(out_h):
                r0 = x[plane, 2 * oh]
                r1 = x[plane, 2 * oh + 1]
                out = y[plane, oh]
                out_i = idx[plane, oh]
                base0 = 2 * oh * in_w
                base1 = base0 + in_w
                for j in range(out_w):
                    o = r0[2 * j]
                    f = base0 + 2 * j
                    a = r0[2 * j + 1]
                    take = (a > o) | (a != a)
                    o = np.maximum(o, a)
                    f = base0 + 2 * j + 1 if take else f
                    a = r1[2 * j]
                    take = (a > o) | (a != a)
                    o = np.maximum(o, a)
                    f = base1 + 2 * j if take else f
                    a = r1[2 * j + 1]
                    take = (a > o) | (a != a)
                    o = np.maximum(o, a)
                    f = base1 + 2 * j + 1 if take else f
                    out[j] = o
                    out_i[j] = f
        return
    cols = width // sw  # J
    span = sh * slots  # padded rows
    scratch = np.empty(span * width + (kw - 1) * dw + sw + 1, x.dtype)
    scratch[:] = fill  # padding rows and columns stay -inf
    half_len = scratch.shape[0] // 2
    even = np.empty(half_len, x.dtype)
    odd = np.empty(half_len, x.dtype)
    best = np.empty(span * cols, x.dtype)
    tap_w = np.empty(span * cols, np.int32)
    out_v = np.empty(out_h * cols, x.dtype)
    tap_h = np.empty(out_h * cols, np.int32)
    found_at = np.empty(out_h * cols, np.int32)
    # per output cell (in the J-wide layout): its flat index without the taps, and the first real
    # cell of its window
    cell0 = np.empty(out_h * cols, np.int32)
    first_m = np.zeros(out_h * cols, np.int32)
    for oh in range(out_h):
        for ow in range(cols):
            cell0[oh * cols + ow] = oh * sh * in_w + ow * sw
        for ow in range(out_w):
            first_m[oh * cols + ow] = first_cell[oh * out_w + ow]
    for plane in range(lo, hi):
        for ih in range(in_h):
            slot = ih + ph
            base = ((slot % sh) * slots + slot // sh) * width + pw
            dst = scratch[base:base + in_w]
            src = x[plane, ih]
            for j in range(in_w):
                dst[j] = src[j]
        if sw == 2:
            for m in range(half_len):  # even and odd cells apart, in one pass (shuffles)
                even[m] = scratch[2 * m]
                odd[m] = scratch[2 * m + 1]
        for m in range(span * cols):
            best[m] = fill
            tap_w[m] = -1
        for k in range(kw):
            taps = scratch[k * dw:]
            kk = np.int32(k)
            if sw == 1:
                for m in range(span * cols):
                    a = taps[m]
                    o = best[m]
                    take = (a > o) | (a != a)
                    best[m] = np.maximum(o, a)
                    tap_w[m] = kk if take else tap_w[m]
            elif sw == 2:
                q = k * dw
                half = even[q // 2:] if q % 2 == 0 else odd[q // 2:]
                for m in range(span * cols):
                    a = half[m]
                    o = best[m]
                    take = (a > o) | (a != a)
                    best[m] = np.maximum(o, a)
                    tap_w[m] = kk if take else tap_w[m]
            else:
                for m in range(span * cols):
                    a = taps[sw * m]
                    o = best[m]
                    take = (a > o) | (a != a)
                    best[m] = np.maximum(o, a)
                    tap_w[m] = kk if take else tap_w[m]
        for m in range(out_h * cols):
            out_v[m] = fill
            tap_h[m] = -1
        for t in range(kh):
            q = t * dh
            start = ((q % sh) * slots + q // sh) * cols
            block = best[start:start + out_h * cols]
            tt = np.int32(t)
            for m in range(out_h * cols):
                a = block[m]
                o = out_v[m]
                take = (a > o) | (a != a)
                out_v[m] = np.maximum(o, a)
                tap_h[m] = tt if take else tap_h[m]
        # (t, k) -> flat index, for every output cell at once, one pass per H tap t: the W tap k
        # of output row oh, H tap t sits in tap_w at a block offset linear in oh.
        for m in range(out_h * cols):
            found_at[m] = first_m[m]  # kept where the window held only -inf (t = -1)
        for t in range(kh):
            q = t * dh
            start = ((q % sh) * slots + q // sh) * cols
            taps_k = tap_w[start:start + out_h * cols]
            row_part = (q - ph) * in_w - pw
            tt = np.int32(t)
            for m in range(out_h * cols):
                found = np.int32(row_part + cell0[m] + taps_k[m] * dw)
                found_at[m] = found if tap_h[m] == tt else found_at[m]
        for oh in range(out_h):
            out = y[plane, oh]
            out_i = idx[plane, oh]
            values = out_v[oh * cols:oh * cols + out_w]
            found_row = found_at[oh * cols:oh * cols + out_w]
            for ow in range(out_w):
                out[ow] = values[ow]
                out_i[ow] = found_row[ow]


@kernel()
def avg_fwd_nchw(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    row_start: Array,
    row_count: Array,
    dh: int,
    sw: int,
    dw: int,
    kw: int,
    pw: int,
    padded_w: int,
    div_h: Array,
    div_w: Array,
) -> None:  # pragma: no cover - compiled
    """y[p, oh, ow] = (sum of the window's cells) / (div_h[oh] · div_w[ow]); H first, as max."""
    in_w = x.shape[2]
    out_h, out_w = y.shape[1], y.shape[2]
    padded = np.zeros(padded_w, x.dtype)
    hrow = padded[pw:pw + in_w]
    even = np.empty(padded_w // 2, x.dtype)
    odd = np.empty(padded_w // 2, x.dtype)
    # 2-wide windows at stride 2 with no left padding (VGG's 2x2/2): one loop per output row.
    pairs = sw == 2 and kw == 2 and dw == 1 and pw == 0 and 2 * out_w <= in_w
    for plane in range(lo, hi):
        for oh in range(out_h):
            first = row_start[oh]
            count = row_count[oh]
            r0 = x[plane, first]
            if pairs and count <= 2:
                out = y[plane, oh]
                dvh = div_h[oh]
                if count == 1:
                    for j in range(out_w):
                        out[j] = (r0[2 * j] + r0[2 * j + 1]) / (dvh * div_w[j])
                else:
                    # rows first (a contiguous loop), then neighbouring cells: 1.5x faster than
                    # four stride-2 loads per output
                    r1 = x[plane, first + dh]
                    for j in range(2 * out_w):
                        hrow[j] = r0[j] + r1[j]
                    for j in range(out_w):
                        out[j] = (hrow[2 * j] + hrow[2 * j + 1]) / (dvh * div_w[j])
                continue
            if count == 1:
                for j in range(in_w):
                    hrow[j] = r0[j]
            else:
                r1 = x[plane, first + dh]
                for j in range(in_w):
                    hrow[j] = r0[j] + r1[j]
                for t in range(2, count):
                    r = x[plane, first + t * dh]
                    for j in range(in_w):
                        hrow[j] += r[j]
            out = y[plane, oh]
            tap = padded[0:]
            if sw == 1:
                for j in range(out_w):
                    out[j] = tap[j]
                for k in range(1, kw):
                    tap = padded[k * dw:]
                    for j in range(out_w):
                        out[j] += tap[j]
            elif sw == 2:
                for j in range(padded_w // 2):  # split even/odd cells in one pass (shuffles)
                    even[j] = padded[2 * j]
                    odd[j] = padded[2 * j + 1]
                for k in range(kw):
                    q = k * dw
                    half = even[q // 2:] if q % 2 == 0 else odd[q // 2:]
                    if k == 0:
                        for j in range(out_w):
                            out[j] = half[j]
                    else:
                        for j in range(out_w):
                            out[j] += half[j]
            else:
                for j in range(out_w):
                    out[j] = tap[sw * j]
                for k in range(1, kw):
                    tap = padded[k * dw:]
                    for j in range(out_w):
                        out[j] += tap[sw * j]
            dvh = div_h[oh]
            for j in range(out_w):
                out[j] = out[j] / (dvh * div_w[j])


@kernel()
def max_bwd_nchw(
    lo: int,
    hi: int,
    grad_x: Array,
    grad_y: Array,
    idx: Array,
) -> None:  # pragma: no cover - compiled
    """grad_x (P, H·W) = 0, then grad_x[p, idx[p, m]] += grad_y[p, m]; race-free per plane."""
    size = grad_x.shape[1]
    outs = grad_y.shape[1]
    for plane in range(lo, hi):
        g = grad_x[plane]
        for i in range(size):
            g[i] = 0
        gy = grad_y[plane]
        ix = idx[plane]
        for m in range(outs):
            g[ix[m]] += gy[m]


@kernel()
def avg_bwd_nchw(
    lo: int,
    hi: int,
    grad_x: Array,
    grad_y: Array,
    row_start: Array,
    row_count: Array,
    dh: int,
    sw: int,
    dw: int,
    kw: int,
    pw: int,
    padded_w: int,
    div_h: Array,
    div_w: Array,
) -> None:  # pragma: no cover - compiled
    """The forward pass transposed: each output row's ``grad / divisor`` is spread over a padded
    row along W (the taps, with the stride), whose middle is then added to the window's rows."""
    height, in_w = grad_x.shape[1], grad_x.shape[2]
    out_h, out_w = grad_y.shape[1], grad_y.shape[2]
    padded = np.zeros(padded_w, grad_x.dtype)
    inner = padded[pw:pw + in_w]
    scaled = np.empty(out_w, grad_x.dtype)
    # 2x2/2 windows tiling the plane exactly (VGG): every input cell gets exactly one window's
    # share, written once (no zeroing pass); ``zero + share`` keeps the -0 -> +0 of the sum below.
    tiles = sw == 2 and kw == 2 and dw == 1 and pw == 0 and in_w == 2 * out_w
    tiles = tiles and dh == 1 and height == 2 * out_h
    for oh in range(out_h):
        tiles = tiles and row_start[oh] == 2 * oh and row_count[oh] == 2
    if tiles:
        zero = padded[0]
        for plane in range(lo, hi):
            for oh in range(out_h):
                src = grad_y[plane, oh]
                dvh = div_h[oh]
                row0 = grad_x[plane, 2 * oh]
                row1 = grad_x[plane, 2 * oh + 1]
                for j in range(out_w):
                    v = zero + src[j] / (dvh * div_w[j])
                    row0[2 * j] = v
                    row0[2 * j + 1] = v
                    row1[2 * j] = v
                    row1[2 * j + 1] = v
        return
    for plane in range(lo, hi):
        for ih in range(height):
            row = grad_x[plane, ih]
            for j in range(in_w):
                row[j] = 0
        for oh in range(out_h):
            src = grad_y[plane, oh]
            dvh = div_h[oh]
            for j in range(out_w):
                scaled[j] = src[j] / (dvh * div_w[j])
            for j in range(padded_w):
                padded[j] = 0
            for k in range(kw):
                tap = padded[k * dw:]
                if sw == 1:
                    for j in range(out_w):
                        tap[j] += scaled[j]
                elif sw == 2:
                    for j in range(out_w):
                        tap[2 * j] += scaled[j]
                else:
                    for j in range(out_w):
                        tap[sw * j] += scaled[j]
            first = row_start[oh]
            for t in range(row_count[oh]):
                row = grad_x[plane, first + t * dh]
                for j in range(in_w):
                    row[j] += inner[j]


# ---------------------------------------------------------------------------------------------
# NCHW global pooling: one reduction per plane
# ---------------------------------------------------------------------------------------------


@kernel(fastmath={"reassoc"})
def global_avg_fwd_nchw(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    divisor: Any,
    zero: Any,
) -> None:  # pragma: no cover - compiled
    """y[p] = sum(x[p, :]) / divisor; x (P, H·W); ``divisor`` and ``zero`` in x's dtype.

    Four planes per loop with four accumulators: small planes (7×7 = 49 cells) otherwise spend
    most of their time in each sum's final horizontal add; interleaving four independent sums
    hides it (measured 1.7× in cache, 1.2× from DRAM).
    """
    size = x.shape[1]
    flat = x.reshape(x.shape[0] * size)  # slices of a flat view: a faster loop than x[plane]
    plane = lo
    while plane + 4 <= hi:
        b = plane * size
        r0 = flat[b:b + size]
        r1 = flat[b + size:b + 2 * size]
        r2 = flat[b + 2 * size:b + 3 * size]
        r3 = flat[b + 3 * size:b + 4 * size]
        s0 = zero
        s1 = zero
        s2 = zero
        s3 = zero
        for i in range(size):
            s0 += r0[i]
            s1 += r1[i]
            s2 += r2[i]
            s3 += r3[i]
        y[plane] = s0 / divisor
        y[plane + 1] = s1 / divisor
        y[plane + 2] = s2 / divisor
        y[plane + 3] = s3 / divisor
        plane += 4
    while plane < hi:
        row = flat[plane * size:(plane + 1) * size]
        s = zero
        for i in range(size):
            s += row[i]
        y[plane] = s / divisor
        plane += 1


@kernel()
def global_avg_bwd_nchw(
    lo: int,
    hi: int,
    grad_x: Array,
    grad_y: Array,
    divisor: Any,
) -> None:  # pragma: no cover - compiled
    """grad_x[p, :] = grad_y[p] / divisor."""
    size = grad_x.shape[1]
    for plane in range(lo, hi):
        g = grad_y[plane] / divisor
        row = grad_x[plane]
        for i in range(size):
            row[i] = g


@kernel()
def global_max_fwd_nchw(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
) -> None:  # pragma: no cover - compiled
    """y[p] = max(x[p, :]) with NaN propagation; x (P, H·W)."""
    size = x.shape[1]
    for plane in range(lo, hi):
        row = x[plane]
        o = row[0]
        for i in range(1, size):
            a = row[i]
            o = np.maximum(o, a)
        y[plane] = o


@kernel()
def global_max_idx_fwd_nchw(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    idx: Array,
) -> None:  # pragma: no cover - compiled
    """Global max and the flat index of its first occurrence (last NaN if any)."""
    size = x.shape[1]
    for plane in range(lo, hi):
        row = x[plane]
        o = row[0]
        best = 0
        for i in range(1, size):
            a = row[i]
            if (a > o) | (a != a):
                o = a
                best = i
        y[plane] = o
        idx[plane] = best


# ---------------------------------------------------------------------------------------------
# NHWC: channel vectors, per output pixel
# ---------------------------------------------------------------------------------------------


@kernel()
def max_fwd_nhwc(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    row_start: Array,
    row_count: Array,
    dh: int,
    col_start: Array,
    col_count: Array,
    dw: int,
) -> None:  # pragma: no cover - compiled
    """x (N, H, W, C), y (N, H_out, W_out, C); taps clipped to the input."""
    channels = x.shape[3]
    out_h, out_w = y.shape[1], y.shape[2]
    for task in range(lo, hi):
        n = task // out_h
        oh = task - n * out_h
        r0 = row_start[oh]
        for ow in range(out_w):
            c0 = col_start[ow]
            out = y[n, oh, ow]
            src = x[n, r0, c0]
            for c in range(channels):
                out[c] = src[c]
            for a in range(row_count[oh]):
                ih = r0 + a * dh
                for b in range(col_count[ow]):
                    if a + b == 0:
                        continue
                    src = x[n, ih, c0 + b * dw]
                    for c in range(channels):
                        v = src[c]
                        o = out[c]
                        out[c] = np.maximum(o, v)


@kernel()
def max_idx_fwd_nhwc(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    idx: Array,
    row_start: Array,
    row_count: Array,
    dh: int,
    col_start: Array,
    col_count: Array,
    dw: int,
) -> None:  # pragma: no cover - compiled
    """Max and flat in-plane argmax (int64), NHWC."""
    in_w, channels = x.shape[2], x.shape[3]
    out_h, out_w = y.shape[1], y.shape[2]
    for task in range(lo, hi):
        n = task // out_h
        oh = task - n * out_h
        r0 = row_start[oh]
        for ow in range(out_w):
            c0 = col_start[ow]
            out = y[n, oh, ow]
            out_i = idx[n, oh, ow]
            src = x[n, r0, c0]
            first = r0 * in_w + c0
            for c in range(channels):
                out[c] = src[c]
                out_i[c] = first
            for a in range(row_count[oh]):
                ih = r0 + a * dh
                for b in range(col_count[ow]):
                    if a + b == 0:
                        continue
                    iw = c0 + b * dw
                    src = x[n, ih, iw]
                    here = ih * in_w + iw
                    for c in range(channels):
                        v = src[c]
                        o = out[c]
                        take = (v > o) | (v != v)
                        out[c] = np.maximum(o, v)
                        out_i[c] = here if take else out_i[c]


@kernel()
def avg_fwd_nhwc(
    lo: int,
    hi: int,
    x: Array,
    y: Array,
    row_start: Array,
    row_count: Array,
    dh: int,
    col_start: Array,
    col_count: Array,
    dw: int,
    div_h: Array,
    div_w: Array,
) -> None:  # pragma: no cover - compiled
    """Average over the clipped taps divided by div_h[oh]·div_w[ow], NHWC."""
    channels = x.shape[3]
    out_h, out_w = y.shape[1], y.shape[2]
    for task in range(lo, hi):
        n = task // out_h
        oh = task - n * out_h
        r0 = row_start[oh]
        for ow in range(out_w):
            c0 = col_start[ow]
            out = y[n, oh, ow]
            for c in range(channels):
                out[c] = 0
            for a in range(row_count[oh]):
                ih = r0 + a * dh
                for b in range(col_count[ow]):
                    src = x[n, ih, c0 + b * dw]
                    for c in range(channels):
                        out[c] += src[c]
            d = div_h[oh] * div_w[ow]
            for c in range(channels):
                out[c] = out[c] / d


@kernel()
def max_bwd_nhwc(
    lo: int,
    hi: int,
    grad_x: Array,
    grad_y: Array,
    idx: Array,
    blocks: int,
) -> None:  # pragma: no cover - compiled
    """grad_x (N, H·W, C) = scatter of grad_y (N, M, C) to idx; tasks = (image, channel block)."""
    size, channels = grad_x.shape[1], grad_x.shape[2]
    outs = grad_y.shape[1]
    for task in range(lo, hi):
        n = task // blocks
        blk = task - n * blocks
        lo = blk * channels // blocks
        hi = (blk + 1) * channels // blocks
        g = grad_x[n]
        for i in range(size):
            for c in range(lo, hi):
                g[i, c] = 0
        gy = grad_y[n]
        ix = idx[n]
        for m in range(outs):
            for c in range(lo, hi):
                g[ix[m, c], c] += gy[m, c]


@kernel()
def avg_bwd_nhwc(
    lo: int,
    hi: int,
    grad_x: Array,
    grad_y: Array,
    kh: int,
    sh: int,
    dh: int,
    ph: int,
    kw: int,
    sw: int,
    dw: int,
    pw: int,
    div_h: Array,
    div_w: Array,
) -> None:  # pragma: no cover - compiled
    """Gather form, NHWC: grad_x[n, ih, iw, :] sums grad_y / divisor over covering windows."""
    height, in_w, channels = grad_x.shape[1:]
    out_h, out_w = grad_y.shape[1], grad_y.shape[2]
    for task in range(lo, hi):
        n = task // height
        ih = task - n * height
        for iw in range(in_w):
            acc = grad_x[n, ih, iw]
            for c in range(channels):
                acc[c] = 0
            for a in range(kh):
                t = ih + ph - a * dh
                if t < 0 or t % sh != 0 or t // sh >= out_h:
                    continue
                oh = t // sh
                for b in range(kw):
                    u = iw + pw - b * dw
                    if u < 0 or u % sw != 0 or u // sw >= out_w:
                        continue
                    ow = u // sw
                    d = div_h[oh] * div_w[ow]
                    g = grad_y[n, oh, ow]
                    for c in range(channels):
                        acc[c] += g[c] / d


