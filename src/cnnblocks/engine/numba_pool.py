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
  plane. Windows of k_h × 3 (k_h ≤ 3) at W stride 1 or 2 — ResNet's 3×3/2, 3×3/1, 1-D windows
  of 3 — instead run PyTorch's own nine-tap scan in registers (``max_idx_fwd_nchw_small``), which
  measured 1.6–2.2× faster than the separable passes there.
- Loops index slices with non-negative loop counters only (a possibly negative index makes numba
  emit a wrap-around check that blocks vector loads).
- Values combine as ``np.maximum(old, new)``: numba emits it as branch-free selects that
  vectorise (a Python ``a if c else b`` on floats does not), it keeps the old value on ties (the
  first maximum, so even the sign of a zero is PyTorch's) and propagates NaN. The argmax is chosen
  with ``take = (new > old) | (new != new)`` (PyTorch's test), so the last NaN gives the index;
  the index select keeps the form ``new if take else arr[m]`` with a computed ``new`` (measured
  3× faster than loading both first).
- NHWC works on whole channel vectors: one output pixel is the combination of its clipped taps,
  each a contiguous run of C values. With indices, the winners are carried as int32 flat
  indices in a per-thread channel vector and widened to int64 once per output pixel
  (``max_idx_fwd_nhwc_i32``: 1.2-1.6x faster than selecting into the int64 output at every tap).
- Max backward is a scatter of the gradient to the stored indices, per plane (NCHW) or per
  (image, channel block) (NHWC), which makes it race-free across threads. NHWC windows that
  overlap little (at most 4 windows per input cell on average: every non-overlapping window,
  3×3/2) instead *gather* per input row (``max_bwd_gather_nhwc``): each cell checks the windows
  that contain it and grad_x is written once, with no zeroing pass. The NHWC scatter
  (``max_bwd_scatter_nhwc``) indexes flat and zeroes input rows just before the first output
  row that reaches them, so the zeroing and the scatter meet in cache.
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
    "max_bwd_gather_nhwc",
    "max_bwd_nchw",
    "max_bwd_nhwc",
    "max_bwd_scatter_nhwc",
    "max_fwd_nchw",
    "max_fwd_nhwc",
    "max_idx_fwd_nchw",
    "max_idx_fwd_nchw_small",
    "max_idx_fwd_nhwc",
    "max_idx_fwd_nhwc_i32",
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
    bits: Array,
    minus_zero: Any,
    col_start: Array,
    col_count: Array,
) -> None:  # pragma: no cover - compiled
    """y[p, oh, ow] = max over the window; x (P, H, W), y (P, H_out, W_out), C-contiguous.

    Values only, so H goes first: the window's rows are combined at full width straight from the
    input (long contiguous loops), into the middle of a −inf-padded row, whose W taps are then
    read with the stride (a literal 1 or 2 lets LLVM vectorise the strided loads).

    Column-major combining picks the same *value* as PyTorch's row-major scan except for one
    thing: when +0 and −0 tie for the maximum, PyTorch returns the one met first in row-major
    order. So a plane whose output holds a zero is scanned for a −0 (``bits`` is x viewed as
    integers, ``minus_zero`` the bit pattern of −0), and the rare plane that has one is
    recomputed by a plain row-major scan over the windows' real cells (``row_start``/
    ``row_count``, ``col_start``/``col_count``).
    """
    in_h, in_w = x.shape[1], x.shape[2]
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
        # ±0 ties: only a zero maximum can have the wrong sign, and only if the plane holds a −0
        # (counting, not branching, keeps both loops vectorised; the plane is still in cache)
        done = y[plane].reshape(out_h * out_w)
        zeros = 0
        for m in range(out_h * out_w):
            zeros += done[m] == 0
        if zeros == 0:
            continue
        plane_bits = bits[plane].reshape(in_h * in_w)
        minus_zeros = 0
        for i in range(in_h * in_w):
            minus_zeros += plane_bits[i] == minus_zero
        if minus_zeros == 0:
            continue
        for oh in range(out_h):  # PyTorch's row-major scan: exact on ±0 ties, slow, rare
            r0 = row_start[oh]
            for ow in range(out_w):
                c0 = col_start[ow]
                best = x[plane, r0, c0]
                for a in range(row_count[oh]):
                    row = x[plane, r0 + a * dh]
                    for b in range(col_count[ow]):
                        best = np.maximum(best, row[c0 + b * dw])  # keeps the earlier tie
                y[plane, oh, ow] = best


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
    if (sh == 2 and sw == 2 and kh == 2 and kw == 2 and dh == 1 and dw == 1 and ph == 0
            and pw == 0):
        # The same for 2x2/2 windows cut by bottom or right padding (or ceil mode): only the
        # last window of a row or column can lose its second column or row to the padding, and
        # those are done apart. (Kept apart from the loop above, which is measured 5% faster.)
        pairs = min(out_w, in_w // 2)  # windows with both columns inside
        for plane in range(lo, hi):
            for oh in range(out_h):
                r0 = x[plane, 2 * oh]
                out = y[plane, oh]
                out_i = idx[plane, oh]
                base0 = 2 * oh * in_w
                base1 = base0 + in_w
                if 2 * oh + 1 < in_h:
                    r1 = x[plane, 2 * oh + 1]
                    for j in range(pairs):
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
                    for j in range(pairs, out_w):  # second column in the padding
                        o = r0[2 * j]
                        f = base0 + 2 * j
                        a = r1[2 * j]
                        if (a > o) | (a != a):
                            o = a
                            f = base1 + 2 * j
                        out[j] = o
                        out_i[j] = f
                else:  # second row in the padding
                    for j in range(pairs):
                        o = r0[2 * j]
                        f = base0 + 2 * j
                        a = r0[2 * j + 1]
                        take = (a > o) | (a != a)
                        o = np.maximum(o, a)
                        f = base0 + 2 * j + 1 if take else f
                        out[j] = o
                        out_i[j] = f
                    for j in range(pairs, out_w):
                        out[j] = r0[2 * j]
                        out_i[j] = base0 + 2 * j
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
def max_idx_fwd_nchw_small(
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
    padded_h: int,
    sw: int,
    dw: int,
    pw: int,
    width: int,
    row_start: Array,
    col_start: Array,
) -> None:  # pragma: no cover - compiled
    """Max with PyTorch's flat in-plane argmax (int64) for k_h × 3 windows (k_h ≤ 3), W stride
    1 or 2.

    Any H stride, dilation, padding and ceil mode (1-D windows as H = 1). Each output is
    PyTorch's own scan, in registers: ``o = -inf``, ``f =`` the window's first real cell, then
    for the taps in row-major order ``take = (a > o) | (a != a)``, ``o = a if take``,
    ``f = tap if take``. The −inf padding is never taken, so a window of only −inf keeps its
    first real cell; ties keep the first maximum (and its sign of zero); the last NaN wins. The
    loop always runs nine taps; for k_h < 3 the missing rows read a row of −inf. One loop per
    output row over W_out, no passes over intermediate arrays: measured 1.6–2.2× faster than
    the separable kernel above on ResNet's 3×3/2 and on 3×3/1 (1 thread, float32).

    Input rows are copied, as they are first needed, into a −inf-padded scratch plane (stride 1)
    or into the even and odd cells of the padded rows (stride 2), so that every tap is a
    contiguous load ``tap[j]``. ``f`` is the winner's flat index minus ``S_w · j`` and is kept in
    int32 lanes: only per-row int32 constants are selected per tap (numba widens integer
    arithmetic to int64, which would halve the vector width); a second short loop adds
    ``S_w · j`` in int64.
    """
    in_h, in_w = x.shape[1], x.shape[2]
    out_h, out_w = y.shape[1], y.shape[2]
    cols = width // sw
    low = np.empty(1, x.dtype)
    low[0] = fill
    lowest = low[0]  # -inf in x's dtype (a float64 scalar would promote the float32 compares)
    # padded rows (stride 1) or their even and odd cells (stride 2); -inf wherever no input
    # cell lands, which the copies below never overwrite. One more row, ``spare``, all -inf,
    # stands in for the rows a window of k_h < 3 does not have (chosen by index, not as another
    # array: the taps then stay plain slices, which the loop below needs to vectorise)
    spare = padded_h
    first = np.empty((padded_h + 1, cols), x.dtype)
    first[:, :] = lowest
    if sw == 2:
        second = np.empty((padded_h + 1, cols), x.dtype)
        second[:, :] = lowest
    else:
        second = first
    # W tap k of the window at output column j is cell j + q_k of scratch h_k's row
    h1 = second if sw == 2 and dw % 2 == 1 else first
    h2 = first
    q1 = dw if sw == 1 else dw // 2
    q2 = 2 * dw if sw == 1 else dw
    pairs = in_w // 2
    lead = pw // 2
    won = np.empty(out_w, np.int32)
    col_term = np.empty(out_w, np.int64)
    first_col = np.empty(out_w, np.int32)  # first real column of each window, minus S_w · j
    for j in range(out_w):
        col_term[j] = sw * j
        first_col[j] = col_start[j] - sw * j
    for plane in range(lo, hi):
        xp = x[plane]
        ready = 0  # input rows copied so far
        for oh in range(out_h):
            r = oh * sh  # padded row of the window's first row
            need = min(in_h, r + (kh - 1) * dh + 1 - ph)
            while ready < need:
                src = xp[ready]
                if sw == 2:
                    # input column c lands at padded column p_w1 + c
                    if pw % 2 == 0:
                        e_dst = first[ready + ph, lead:]
                        o_dst = second[ready + ph, lead:]
                    else:
                        e_dst = second[ready + ph, lead:]
                        o_dst = first[ready + ph, lead + 1:]
                    for i in range(pairs):
                        e_dst[i] = src[2 * i]
                        o_dst[i] = src[2 * i + 1]
                    if in_w % 2 == 1:
                        e_dst[pairs] = src[in_w - 1]
                else:
                    dst = first[ready + ph, pw:pw + in_w]
                    for i in range(in_w):
                        dst[i] = src[i]
                ready += 1
            r1 = r + dh if kh > 1 else spare
            r2 = r + 2 * dh if kh > 2 else spare
            at0 = (r - ph) * in_w - pw  # flat index of tap (0, 0) of window j, minus S_w · j
            c0 = np.int32(at0)
            c1 = np.int32(at0 + dw)
            c2 = np.int32(at0 + 2 * dw)
            c3 = np.int32(at0 + dh * in_w)
            c4 = np.int32(at0 + dh * in_w + dw)
            c5 = np.int32(at0 + dh * in_w + 2 * dw)
            c6 = np.int32(at0 + 2 * dh * in_w)
            c7 = np.int32(at0 + 2 * dh * in_w + dw)
            c8 = np.int32(at0 + 2 * dh * in_w + 2 * dw)
            row_cell = row_start[oh] * in_w
            # the nine taps as contiguous rows indexed by j alone (no index arithmetic that
            # numba could see as negative: its wrap-around checks would block vector loads)
            t0, t1, t2 = first[r], h1[r, q1:], h2[r, q2:]
            t3, t4, t5 = first[r1], h1[r1, q1:], h2[r1, q2:]
            t6, t7, t8 = first[r2], h1[r2, q1:], h2[r2, q2:]
            out = y[plane, oh]
            for j in range(out_w):
                o = lowest
                f = np.int32(row_cell + first_col[j])
                a = t0[j]
                take = (a > o) | (a != a)
                o = a if take else o
                f = c0 if take else f
                a = t1[j]
                take = (a > o) | (a != a)
                o = a if take else o
                f = c1 if take else f
                a = t2[j]
                take = (a > o) | (a != a)
                o = a if take else o
                f = c2 if take else f
                a = t3[j]
                take = (a > o) | (a != a)
                o = a if take else o
                f = c3 if take else f
                a = t4[j]
                take = (a > o) | (a != a)
                o = a if take else o
                f = c4 if take else f
                a = t5[j]
                take = (a > o) | (a != a)
                o = a if take else o
                f = c5 if take else f
                a = t6[j]
                take = (a > o) | (a != a)
                o = a if take else o
                f = c6 if take else f
                a = t7[j]
                take = (a > o) | (a != a)
                o = a if take else o
                f = c7 if take else f
                a = t8[j]
                take = (a > o) | (a != a)
                o = a if take else o
                f = c8 if take else f
                out[j] = o
                won[j] = f
            # widened in a loop of its own: int64 lanes in the loop above would halve its width
            out_i = idx[plane, oh]
            for j in range(out_w):
                out_i[j] = won[j] + col_term[j]


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
def max_idx_fwd_nhwc_i32(
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
    """Max and flat in-plane argmax (int64), NHWC, for planes of fewer than 2**31 cells.

    The winner is carried per channel as an int32 flat index in a per-thread vector (a 32-bit
    select vectorises as wide as the float32 values; numba's int64 one is half as wide, and the
    int64 ``idx`` row would be re-read and re-written at every tap) and is widened into ``idx``
    once per output pixel. The first tap initialises both, so a window of only −inf reports its
    first real cell; ``take = (v > best) | (v != v)`` keeps the first maximum and the last NaN.
    """
    in_w, channels = x.shape[2], x.shape[3]
    out_h, out_w = y.shape[1], y.shape[2]
    code = np.empty(channels, np.int32)
    for task in range(lo, hi):
        n = task // out_h
        oh = task - n * out_h
        r0 = row_start[oh]
        rows = row_count[oh]
        for ow in range(out_w):
            c0 = col_start[ow]
            cols = col_count[ow]
            out = y[n, oh, ow]
            src = x[n, r0, c0]
            first = np.int32(r0 * in_w + c0)
            for c in range(channels):
                out[c] = src[c]
                code[c] = first
            for a in range(rows):
                ih = r0 + a * dh
                for b in range(cols):
                    if a + b == 0:
                        continue
                    iw = c0 + b * dw
                    src = x[n, ih, iw]
                    here = np.int32(ih * in_w + iw)
                    for c in range(channels):
                        v = src[c]
                        o = out[c]
                        take = (v > o) | (v != v)
                        out[c] = np.maximum(o, v)
                        code[c] = here if take else code[c]
            out_i = idx[n, oh, ow]
            for c in range(channels):
                out_i[c] = code[c]


@kernel()
def max_bwd_gather_nhwc(
    lo: int,
    hi: int,
    grad_x: Array,
    grad_y: Array,
    idx: Array,
    row_windows: Array,
    row_windows_count: Array,
    col_windows: Array,
    col_windows_count: Array,
    zero: Any,
) -> None:  # pragma: no cover - compiled
    """Max backward, gather form, NHWC; units are input rows (n, ih).

    ``grad_x[n, ih, iw, c] = Σ grad_y[n, oh, ow, c]`` over the windows (oh, ow) that contain
    (ih, iw) and whose argmax ``idx[n, oh, ow, c]`` is ``ih·W + iw``; ``row_windows[ih, :count]``
    and ``col_windows[iw, :count]`` list those windows along each axis in increasing order, so the
    sum runs in the scatter's order (increasing flat output index) and rounds the same. Each
    grad_x cell is written once, in memory order, with no zeroing pass; a cell that only one
    window covers (every cell when windows do not overlap) is a single store. ``zero + g`` turns
    a −0 gradient into +0, as the scatter's ``0 += g`` does (``zero`` is 0 in grad_x's dtype).
    The indices must be the forward's: an index outside its window is not seen.
    """
    in_h, in_w, channels = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    for task in range(lo, hi):
        n = task // in_h
        ih = task - n * in_h
        row = grad_x[n, ih]
        rows = row_windows_count[ih]
        gy_n = grad_y[n]
        idx_n = idx[n]
        here = ih * in_w
        for iw in range(in_w):
            cell = row[iw]
            cols = col_windows_count[iw]
            if rows == 0 or cols == 0:
                for c in range(channels):
                    cell[c] = zero
                continue
            flat = np.int32(here + iw)
            started = False
            for a in range(rows):
                oh = row_windows[ih, a]
                for b in range(cols):
                    ow = col_windows[iw, b]
                    g = gy_n[oh, ow]
                    won = idx_n[oh, ow]
                    if not started:
                        for c in range(channels):
                            cell[c] = zero + (g[c] if np.int32(won[c]) == flat else zero)
                        started = True
                    else:
                        for c in range(channels):
                            cell[c] += g[c] if np.int32(won[c]) == flat else zero


@kernel()
def max_bwd_scatter_nhwc(
    lo: int,
    hi: int,
    grad_x: Array,
    grad_y: Array,
    idx: Array,
    channels: int,
    blocks: int,
    in_w: int,
    out_w: int,
    row_end: Array,
) -> None:  # pragma: no cover - compiled
    """Max backward, scatter form, NHWC, flat: grad_x (N, H·W·C), grad_y and idx (N, M·C);
    ``grad_x[n, idx[n, m, c]·C + c] += grad_y[n, m, c]``; units are (image, channel block).

    Input rows are zeroed just before the first output row whose windows reach them
    (``row_end[oh]``: one past the last input row window row ``oh`` reads, non-decreasing), so
    the zeroing and the scatter meet in cache instead of two passes over the image. The
    indices must be the forward's: each lies inside its window.
    """
    row = in_w * channels
    size = grad_x.shape[1] // row
    out_h = row_end.shape[0]
    for task in range(lo, hi):
        n = task // blocks
        blk = task - n * blocks
        c_lo = blk * channels // blocks
        c_hi = (blk + 1) * channels // blocks
        g = grad_x[n]
        gy = grad_y[n]
        ix = idx[n]
        zeroed = 0
        for oh in range(out_h + 1):
            end = row_end[oh] if oh < out_h else size
            if end > zeroed:
                if blocks == 1:
                    for i in range(zeroed * row, end * row):
                        g[i] = 0
                else:
                    for p in range(zeroed * in_w, end * in_w):
                        base = p * channels
                        for c in range(c_lo, c_hi):
                            g[base + c] = 0
                zeroed = end
            if oh == out_h:
                break
            for m in range(oh * out_w, (oh + 1) * out_w):
                base = m * channels
                for c in range(c_lo, c_hi):
                    g[ix[base + c] * channels + c] += gy[base + c]


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


