"""The compiled 3-D pooling engine against the readable loops of :mod:`cnnblocks.reference`.

Random 3-D configurations (odd sizes, asymmetric padding, stride, dilation, ceil mode) in every
memory layout the engine takes (NCDHW, NDHWC, NCDHW-shaped arrays stored channels-last, strided
views), float32 and float64, at 1 and 2 threads, with ties, signed zeros, NaN and -inf on
purpose. Max values and indices must match exactly (max pooling picks, it does not compute),
down to the sign of a zero; sums and gradients to rounding. PyTorch checks a few larger cases,
and the last tests go through the public API and check the dispatcher chose the compiled path.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import cnnblocks
from cnnblocks import reference
from cnnblocks.engine import _numba, fast_pool3d
from cnnblocks.errors import ParameterError
from cnnblocks.shapes import PoolGeometry, pool_geometry

LAYOUTS = ("ncdhw", "ndhwc", "ncdhw-in-ndhwc-memory", "strided")
TO_LAST = (0, 2, 3, 4, 1)
TO_FIRST = (0, 4, 1, 2, 3)


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Restore the thread count afterwards; let even tiny arrays be cut between threads."""
    monkeypatch.setattr(_numba, "SERIAL_BELOW", 0)
    before = cnnblocks.get_num_threads()
    yield
    cnnblocks.set_num_threads(before)


def _config(seed: int) -> dict[str, Any]:
    """A valid random 3-D configuration; every 9th one is a whole-volume window."""
    rng = np.random.default_rng(seed)
    while True:
        spatial = tuple(int(v) for v in rng.integers(1, 8, 3))
        if seed % 9 == 4:
            return {"spatial": spatial, "kernel_size": spatial, "stride": 1, "padding": 0,
                    "dilation": 1, "ceil_mode": False, "rng": rng}
        kernel = tuple(int(v) for v in rng.integers(1, 4, 3))
        dilation = tuple(int(v) for v in rng.integers(1, 3, 3))
        stride = tuple(int(v) for v in rng.integers(1, 4, 3))
        padding = tuple(int(v) for _ in range(3) for v in rng.integers(0, 2, 2))
        ceil_mode = bool(rng.integers(0, 2))
        try:
            pool_geometry(spatial, kernel, stride, padding, dilation, ceil_mode)
        except ParameterError:
            continue
        return {"spatial": spatial, "kernel_size": kernel, "stride": stride, "padding": padding,
                "dilation": dilation, "ceil_mode": ceil_mode, "rng": rng}


def _data(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any, seed: int) -> np.ndarray:
    """Small integers (many ties), sometimes only signed zeros and ±1, NaN and -inf."""
    if seed % 5 == 2:
        x = rng.choice(np.array([-1.0, -0.0, 0.0, 1.0]), shape).astype(dtype)
    else:
        x = rng.integers(-3, 4, shape).astype(dtype)
    if seed % 3 == 0:
        x.flat[rng.integers(0, x.size, 2)] = np.nan
    if seed % 4 == 1:
        x.flat[rng.integers(0, x.size, max(1, x.size // 2))] = -np.inf
    return x


def _in_layout(x: np.ndarray, layout: str) -> tuple[np.ndarray, bool]:
    """The NCDHW array ``x`` as the engine's caller would pass it, and whether channels_last."""
    if layout == "ncdhw":
        return x.copy(), False
    if layout == "ndhwc":
        return np.ascontiguousarray(x.transpose(TO_LAST)), True
    if layout == "ncdhw-in-ndhwc-memory":
        return np.ascontiguousarray(x.transpose(TO_LAST)).transpose(TO_FIRST), False
    wide = np.repeat(x, 2, axis=3)  # every other row of a twice-as-tall array
    view = wide[:, :, :, ::2]
    assert not view.flags.c_contiguous
    return view, False


def _to_ncdhw(y: np.ndarray, channels_last: bool) -> np.ndarray:
    return y.transpose(TO_FIRST) if channels_last else y


def _ref_args(c: dict[str, Any]) -> tuple[Any, ...]:
    return c["kernel_size"], c["stride"], c["padding"], c["dilation"], c["ceil_mode"]


def _geometry(c: dict[str, Any]) -> PoolGeometry:
    return pool_geometry(c["spatial"], *_ref_args(c))


def _assert_same_signs(got: np.ndarray, want: np.ndarray, msg: str) -> None:
    """Max pooling returns the first maximum itself: -0 and +0 must come out as the reference's."""
    real = ~np.isnan(want)
    assert_array_equal(np.signbit(got[real]), np.signbit(want[real]), err_msg=msg)


CASES = [
    pytest.param(seed, layout, id=f"seed{seed}-{layout}")
    for seed in range(18)
    for layout in LAYOUTS
]


@pytest.mark.parametrize(("seed", "layout"), CASES)
def test_max_pool_3d_matches_reference(seed: int, layout: str, threads: None) -> None:
    c = _config(seed)
    dtype = (np.float32, np.float64)[seed % 2]
    cnnblocks.set_num_threads(1 + (seed // 2) % 2)
    shape = (int(c["rng"].integers(1, 3)), int(c["rng"].integers(2, 4)), *c["spatial"])
    x = _data(c["rng"], shape, dtype, seed)
    g = _geometry(c)
    want_y, want_idx = reference.max_pool(x, *_ref_args(c))

    arg, last = _in_layout(x, layout)
    assert fast_pool3d.supports(arg, g)
    y, idx = fast_pool3d.max_pool_forward(arg, g, last, True)
    y_only, none = fast_pool3d.max_pool_forward(arg, g, last, False)
    assert none is None
    assert idx is not None
    assert y.dtype == y_only.dtype == dtype
    assert idx.dtype == np.int64
    assert_array_equal(_to_ncdhw(y, last), want_y, err_msg=f"max_pool values, case {c}")
    assert_array_equal(_to_ncdhw(y_only, last), want_y, err_msg="max_pool without indices")
    _assert_same_signs(_to_ncdhw(y, last), want_y, "signed zeros, with indices")
    _assert_same_signs(_to_ncdhw(y_only, last), want_y, "signed zeros, values only")
    assert_array_equal(_to_ncdhw(idx, last), want_idx, err_msg=f"max_pool indices, case {c}")

    grad_y = c["rng"].standard_normal(want_y.shape).astype(dtype)
    gy_arg, _ = _in_layout(grad_y, layout)
    grad_x = fast_pool3d.max_pool_backward(gy_arg, idx, g, last, arg.shape)
    assert grad_x.dtype == dtype
    assert grad_x.shape == arg.shape
    want_gx = reference.max_pool_backward(grad_y, x, *_ref_args(c))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(_to_ncdhw(grad_x, last), want_gx, rtol=tol, atol=tol,
                    err_msg=f"max_pool backward, case {c}")


@pytest.mark.parametrize(("seed", "layout"), CASES)
def test_avg_pool_3d_matches_reference(seed: int, layout: str, threads: None) -> None:
    c = _config(seed + 100)
    dtype = (np.float32, np.float64)[seed % 2]
    cnnblocks.set_num_threads(1 + (seed // 2) % 2)
    rng = c["rng"]
    shape = (int(rng.integers(1, 3)), int(rng.integers(2, 4)), *c["spatial"])
    x = rng.standard_normal(shape).astype(dtype)
    include = bool(seed % 2)
    override = 3 if seed % 5 == 4 else None
    g = _geometry(c)
    want = reference.avg_pool(x, *_ref_args(c), include, override)

    arg, last = _in_layout(x, layout)
    y = fast_pool3d.avg_pool_forward(arg, g, last, include, override)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert y.dtype == dtype
    assert_allclose(_to_ncdhw(y, last), want, rtol=tol, atol=tol, err_msg=f"avg_pool, case {c}")

    grad_y = rng.standard_normal(want.shape).astype(dtype)
    gy_arg, _ = _in_layout(grad_y, layout)
    grad_x = fast_pool3d.avg_pool_backward(gy_arg, g, last, include, override, arg.shape)
    want_gx = reference.avg_pool_backward(grad_y, x.shape, *_ref_args(c), include, override)
    assert grad_x.dtype == dtype
    assert grad_x.shape == arg.shape
    assert_allclose(_to_ncdhw(grad_x, last), want_gx, rtol=tol, atol=tol,
                    err_msg=f"avg_pool backward, case {c}")


@pytest.mark.parametrize("layout", ["ncdhw", "ndhwc"])
def test_window_of_only_minus_inf_reports_its_first_real_cell(layout: str) -> None:
    # 2x2x2 windows at stride 2 with padding 1 on a 3x3x3 volume of -inf: each window's first
    # real cell is the corner nearest the origin, (d, h, w) in {0, 1} x {0, 1} x {0, 1} for
    # outputs 0 and 1 per axis -> flat index d*9 + h*3 + w (worked out by hand).
    x = np.full((1, 2, 3, 3, 3), -np.inf, np.float32)
    g = pool_geometry((3, 3, 3), 2, 2, 1)
    arg, last = _in_layout(x, layout)
    y, idx = fast_pool3d.max_pool_forward(arg, g, last, True)
    assert idx is not None
    got = _to_ncdhw(idx, last)[0, 1]
    want = np.array([[[0, 1], [3, 4]], [[9, 10], [12, 13]]])
    assert_array_equal(got, want)
    assert np.all(_to_ncdhw(y, last) == -np.inf)


@pytest.mark.parametrize("layout", ["ncdhw", "ndhwc"])
def test_first_maximum_in_row_major_order_and_last_nan(layout: str) -> None:
    # 2x2x2 window with the value 5 at (0, 1, 0), (1, 0, 0) and (0, 1, 1): the first in
    # row-major (d, h, w) order is (0, 1, 0) -> 2; a depth-first scan would say 4.
    x = np.zeros((1, 1, 2, 2, 2), np.float64)
    x[0, 0, 0, 1, 0] = x[0, 0, 1, 0, 0] = x[0, 0, 0, 1, 1] = 5
    g = pool_geometry((2, 2, 2), 2)
    arg, last = _in_layout(x, layout)
    _, idx = fast_pool3d.max_pool_forward(arg, g, last, True)
    assert idx is not None
    assert int(idx.ravel()[0]) == 2
    # NaN wins, and of two NaN the last one gives the index
    x[0, 0, 0, 0, 1] = x[0, 0, 1, 1, 0] = np.nan
    arg, last = _in_layout(x, layout)
    y, idx = fast_pool3d.max_pool_forward(arg, g, last, True)
    assert idx is not None
    assert np.isnan(y.ravel()[0])
    assert int(idx.ravel()[0]) == 6


@pytest.mark.parametrize("layout", ["ncdhw", "ndhwc"])
def test_non_overlapping_windows_backward_matches_reference(layout: str, threads: None) -> None:
    # windows that never share a cell (extent <= stride on every axis) take a gather kernel in
    # NDHWC; cells in no window (gaps, dilation holes) get 0, and a -0 gradient comes out +0 as
    # the reference's zeros + grad gives.
    cnnblocks.set_num_threads(2)
    rng = np.random.default_rng(21)
    x = rng.integers(-2, 3, (2, 3, 7, 8, 9)).astype(np.float32)
    x[0, 1] = -np.inf
    args = ((2, 1, 2), (3, 2, 4), (1, 0, 0, 1, 1, 1), (2, 1, 2), True)
    g = pool_geometry(x.shape[2:], *args)
    want_y, _ = reference.max_pool(x, *args)
    grad_y = rng.standard_normal(want_y.shape).astype(np.float32)
    grad_y[0, 0] = -0.0
    arg, last = _in_layout(x, layout)
    _, idx = fast_pool3d.max_pool_forward(arg, g, last, True)
    assert idx is not None
    gy_arg, _ = _in_layout(grad_y, layout)
    got = _to_ncdhw(fast_pool3d.max_pool_backward(gy_arg, idx, g, last, arg.shape), last)
    want = reference.max_pool_backward(grad_y, x, *args)
    assert_array_equal(got, want)  # one window per cell: nothing is summed, values are exact
    assert_array_equal(np.signbit(got), np.signbit(want))


def test_one_image_with_many_channels_splits_its_backward_by_channel_blocks(
    threads: None,
) -> None:
    # N=1 cannot keep 2 threads busy with one image per thread: the NDHWC max backward then
    # cuts the channels into blocks (another kernel than the one-image-per-unit scatter)
    cnnblocks.set_num_threads(2)
    rng = np.random.default_rng(31)
    x = rng.integers(-3, 4, (1, 40, 4, 5, 6)).astype(np.float64)
    g = pool_geometry((4, 5, 6), 3, 1, 1)
    want_y, _ = reference.max_pool(x, 3, 1, 1)
    grad_y = rng.standard_normal(want_y.shape)
    arg, last = _in_layout(x, "ndhwc")
    _, idx = fast_pool3d.max_pool_forward(arg, g, last, True)
    assert idx is not None
    gy_arg, _ = _in_layout(grad_y, "ndhwc")
    got = fast_pool3d.max_pool_backward(gy_arg, idx, g, last, arg.shape)
    assert_allclose(_to_ncdhw(got, last), reference.max_pool_backward(grad_y, x, 3, 1, 1),
                    rtol=1e-12, atol=1e-12)


def test_global_average_of_a_volume_runs_compiled_in_both_layouts(calls: dict[str, int]) -> None:
    from cnnblocks import functional as F

    x = np.random.default_rng(8).standard_normal((2, 3, 4, 5, 6))
    want = x.sum(axis=(2, 3, 4), keepdims=True) / 120
    assert_allclose(F.global_avg_pool(x), want, rtol=1e-12)
    y, ctx = F.global_avg_pool_forward(np.ascontiguousarray(x.transpose(TO_LAST)),
                                       data_format="NDHWC")
    assert_allclose(_to_ncdhw(y, True), want, rtol=1e-12)
    gx = F.global_avg_pool_backward(np.ones_like(y), ctx)
    assert_allclose(gx, np.full((2, 4, 5, 6, 3), 1 / 120), rtol=1e-12)
    assert calls == {"avg_pool_forward": 1, "avg_pool_backward": 1}  # NDHWC; NCDHW has its own


def test_a_larger_volume_is_the_same_on_one_and_two_threads() -> None:
    before = cnnblocks.get_num_threads()
    x = np.random.default_rng(4).standard_normal((2, 6, 9, 23, 30)).astype(np.float32)
    g = pool_geometry((9, 23, 30), 3, (1, 2, 2), 1)
    results = []
    try:
        for n in (1, 2):
            cnnblocks.set_num_threads(n)
            for last in (False, True):
                arg = np.ascontiguousarray(x.transpose(TO_LAST)) if last else x
                y, idx = fast_pool3d.max_pool_forward(arg, g, last, True)
                assert idx is not None
                a = fast_pool3d.avg_pool_forward(arg, g, last, False, None)
                gx = fast_pool3d.max_pool_backward(y, idx, g, last, arg.shape)
                ga = fast_pool3d.avg_pool_backward(a, g, last, False, None, arg.shape)
                results.append((y, idx, a, gx, ga))
    finally:
        cnnblocks.set_num_threads(before)
    for first, second in zip(results[:2], results[2:], strict=True):
        for one, two in zip(first, second, strict=True):
            assert_array_equal(one, two)


# --- PyTorch parity at sizes the loop reference would be slow on -------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation", "ceil"),
    [(2, 2, 0, 1, False), (3, 1, 1, 1, False), (3, 2, 1, 2, True),
     ((2, 3, 3), (1, 2, 3), (1, 0, 1), 1, True)],
)
def test_max_pool_3d_matches_torch(channels_last: bool, kernel: Any, stride: Any, padding: Any,
                                   dilation: Any, ceil: bool) -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((2, 5, 9, 14, 17)).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_()
    yt, it = torch.nn.functional.max_pool3d(xt, kernel, stride, padding, dilation, ceil, True)
    gy = torch.randn_like(yt)
    yt.backward(gy)
    assert xt.grad is not None
    g = pool_geometry((9, 14, 17), kernel, stride, padding, dilation, ceil)
    arg = np.ascontiguousarray(x.transpose(TO_LAST)) if channels_last else x
    y, idx = fast_pool3d.max_pool_forward(arg, g, channels_last, True)
    assert idx is not None
    gy_np = np.ascontiguousarray(gy.numpy().transpose(TO_LAST)) if channels_last else gy.numpy()
    gx = fast_pool3d.max_pool_backward(gy_np, idx, g, channels_last, arg.shape)
    assert_array_equal(_to_ncdhw(y, channels_last), yt.detach().numpy())
    assert_array_equal(_to_ncdhw(idx, channels_last), it.numpy())
    assert_allclose(_to_ncdhw(gx, channels_last), xt.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "ceil", "include", "override"),
    [(2, 2, 0, False, True, None), (3, 1, 1, False, False, None), (3, 2, 1, True, True, None),
     ((3, 2, 3), (2, 1, 2), (1, 1, 0), True, False, 7)],
)
def test_avg_pool_3d_matches_torch(channels_last: bool, kernel: Any, stride: Any, padding: Any,
                                   ceil: bool, include: bool, override: int | None) -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).standard_normal((2, 4, 8, 13, 15)).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_()
    yt = torch.nn.functional.avg_pool3d(xt, kernel, stride, padding, ceil, include, override)
    gy = torch.randn_like(yt)
    yt.backward(gy)
    assert xt.grad is not None
    g = pool_geometry((8, 13, 15), kernel, stride, padding, 1, ceil)
    arg = np.ascontiguousarray(x.transpose(TO_LAST)) if channels_last else x
    gy_np = np.ascontiguousarray(gy.numpy().transpose(TO_LAST)) if channels_last else gy.numpy()
    y = fast_pool3d.avg_pool_forward(arg, g, channels_last, include, override)
    gx = fast_pool3d.avg_pool_backward(gy_np, g, channels_last, include, override, arg.shape)
    assert_allclose(_to_ncdhw(y, channels_last), yt.detach().numpy(), rtol=2e-6, atol=2e-6)
    assert_allclose(_to_ncdhw(gx, channels_last), xt.grad.numpy(), rtol=2e-6, atol=2e-6)


# --- through the public API: the dispatcher must pick the compiled path ----------------------


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count calls into the compiled 3-D driver."""
    counts: dict[str, int] = {}
    for name in fast_pool3d.__all__:
        target = getattr(fast_pool3d, name)
        if name == "supports":
            continue

        def spy(*args: Any, _name: str = name, _target: Any = target) -> Any:
            counts[_name] = counts.get(_name, 0) + 1
            return _target(*args)

        monkeypatch.setattr(fast_pool3d, name, spy)
    return counts


@pytest.mark.parametrize("data_format", ["NCDHW", "NDHWC"])
def test_public_3d_pooling_runs_on_the_compiled_engine(
    calls: dict[str, int], data_format: str
) -> None:
    from cnnblocks import functional as F

    rng = np.random.default_rng(11)
    x = rng.integers(-4, 5, (2, 3, 5, 7, 6)).astype(np.float32)
    last = data_format == "NDHWC"
    arg = np.ascontiguousarray(x.transpose(TO_LAST)) if last else x
    pad = (0, 1, 1, 0, 1, 1)
    y, ctx = F.max_pool_forward(arg, 3, 2, pad, data_format=data_format)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    gx = F.max_pool_backward(gy, ctx)
    a, actx = F.avg_pool_forward(arg, 2, data_format=data_format)
    ga = F.avg_pool_backward(np.ones_like(a), actx)
    assert calls == {"max_pool_forward": 1, "max_pool_backward": 1, "avg_pool_forward": 1,
                     "avg_pool_backward": 1}
    want_y, _ = reference.max_pool(x, 3, 2, pad)
    assert_array_equal(_to_ncdhw(y, last), want_y)
    assert_allclose(_to_ncdhw(gx, last),
                    reference.max_pool_backward(_to_ncdhw(gy, last), x, 3, 2, pad), rtol=1e-6)
    assert_allclose(_to_ncdhw(a, last), reference.avg_pool(x, 2), rtol=1e-6)
    assert_allclose(_to_ncdhw(ga, last), reference.avg_pool_backward(
        np.ones((2, 3, 2, 3, 3), np.float32), x.shape, 2), rtol=1e-6)


def test_float16_volumes_run_through_float32_and_integers_take_the_numpy_path(
    calls: dict[str, int],
) -> None:
    from cnnblocks import functional as F

    x16 = np.arange(64, dtype=np.float16).reshape(1, 1, 4, 4, 4)
    y16 = F.max_pool(x16, 2)
    assert y16.dtype == np.float16
    assert y16.ravel().tolist() == [21, 23, 29, 31, 53, 55, 61, 63]  # the far corner of each block
    assert calls == {"max_pool_forward": 1}  # widened to float32 for the compiled kernel
    assert F.max_pool(np.arange(64).reshape(1, 1, 4, 4, 4), 2).dtype.kind == "i"
    assert calls == {"max_pool_forward": 1}  # integers: the NumPy taps


# --- issue 3's memory rule: no full-size temporaries -------------------------------------------


def _peak_extra(call: Callable[[], Any]) -> tuple[int, int]:
    """(peak bytes NumPy and numba allocated during ``call``, bytes of what it returned)."""
    call()  # compile or load the kernels, fill the memo caches
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    arrays = result if isinstance(result, tuple) else (result,)
    returned = sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))
    for a in arrays:  # a Context keeps the indices it saved
        saved = getattr(a, "saved", None)
        if saved is not None and "indices" in saved:
            returned += saved["indices"].nbytes
    return peak - start, returned


@pytest.mark.parametrize("data_format", ["NCDHW", "NDHWC"])
@pytest.mark.parametrize("window", [(3, 1, 1), (3, 2, 1), (2, 2, 0)])
@pytest.mark.parametrize("op", ["max", "max_forward", "max_backward", "avg", "avg_backward"])
def test_3d_pooling_allocates_no_full_size_temporary(
    op: str, window: tuple[int, int, int], data_format: str, threads: None
) -> None:
    # 1 MiB of input: one full-size temporary would break the bound several times over. The
    # kernels' scratch is per thread and a few (H_out, W_out) slices or rows (~36 KiB here for
    # the separable max), whatever N, C and D: one thread keeps it within the slack.
    from cnnblocks import functional as F

    cnnblocks.set_num_threads(1)

    x = np.random.default_rng(0).standard_normal((2, 8, 16, 32, 32)).astype(np.float32)
    if data_format == "NDHWC":
        x = np.ascontiguousarray(x.transpose(TO_LAST))
    k, stride, pad = window
    kw: dict[str, Any] = {"stride": stride, "padding": pad, "data_format": data_format}
    calls: dict[str, Callable[[], Any]] = {
        "max": lambda: F.max_pool(x, k, **kw),
        "max_forward": lambda: F.max_pool_forward(x, k, **kw),
        "avg": lambda: F.avg_pool(x, k, **kw),
    }
    if op == "max_backward":
        y, ctx = F.max_pool_forward(x, k, **kw)
        g = np.ones_like(y)
        calls[op] = lambda: F.max_pool_backward(g, ctx)
    elif op == "avg_backward":
        y, ctx = F.avg_pool_forward(x, k, **kw)
        g = np.ones_like(y)
        calls[op] = lambda: F.avg_pool_backward(g, ctx)
    extra, returned = _peak_extra(calls[op])
    assert returned > 0
    assert extra <= returned + 64 * 1024, (op, data_format, extra, returned)
