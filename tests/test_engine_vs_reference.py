"""The compiled engine against the readable loops of :mod:`cnnblocks.reference`.

Random configurations (odd sizes, asymmetric padding, stride, dilation, ceil mode, 1-D and 2-D),
in every memory layout the engine takes (NCHW, NHWC, NCHW-shaped arrays stored channels-last, and
strided views that must be copied), at 1 and 2 threads, float32 and float64, with ties, NaN and
-inf on purpose. Values and indices must match exactly (max pooling picks, it does not compute);
sums and gradients to rounding. The last tests go through the public API and check the dispatcher
really chose the compiled path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import cnnblocks
from cnnblocks import reference
from cnnblocks.engine import fast_pool
from cnnblocks.errors import ParameterError
from cnnblocks.shapes import PoolGeometry, pool_geometry

LAYOUTS = ("nchw", "nhwc", "nchw-in-nhwc-memory", "strided")


@pytest.fixture
def threads() -> Iterator[None]:
    before = cnnblocks.get_num_threads()
    yield
    cnnblocks.set_num_threads(before)


def _config(seed: int) -> dict[str, Any]:
    """A valid random configuration; every 7th one is a global window (its own kernels)."""
    rng = np.random.default_rng(seed)
    rank = 1 + seed % 2
    while True:
        spatial = tuple(int(v) for v in rng.integers(1, 12, rank))
        if seed % 7 == 3:
            return {"spatial": spatial, "kernel_size": spatial, "stride": 1, "padding": 0,
                    "dilation": 1, "ceil_mode": False, "rng": rng}
        kernel = tuple(int(v) for v in rng.integers(1, 5, rank))
        dilation = tuple(int(v) for v in rng.integers(1, 3, rank))
        stride = tuple(int(v) for v in rng.integers(1, 4, rank))
        padding = tuple(int(v) for _ in range(rank) for v in rng.integers(0, 3, 2))
        ceil_mode = bool(rng.integers(0, 2))
        try:
            pool_geometry(spatial, kernel, stride, padding, dilation, ceil_mode)
        except ParameterError:
            continue
        return {"spatial": spatial, "kernel_size": kernel, "stride": stride, "padding": padding,
                "dilation": dilation, "ceil_mode": ceil_mode, "rng": rng}


def _data(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any, seed: int) -> np.ndarray:
    """Small integers (many ties), sometimes NaN and -inf."""
    x = rng.integers(-3, 4, shape).astype(dtype)
    if seed % 3 == 0:
        x.flat[rng.integers(0, x.size, 2)] = np.nan
    if seed % 4 == 1:
        x.flat[rng.integers(0, x.size, max(1, x.size // 3))] = -np.inf
    return x


def _in_layout(x: np.ndarray, layout: str) -> tuple[np.ndarray, bool]:
    """The NCHW array ``x`` as the engine's caller would pass it, and whether channels_last."""
    last_axes = (0, *range(2, x.ndim), 1)
    if layout == "nchw":
        return x.copy(), False
    if layout == "nhwc":
        return np.ascontiguousarray(x.transpose(last_axes)), True
    if layout == "nchw-in-nhwc-memory":
        stored = np.ascontiguousarray(x.transpose(last_axes))
        back = (0, x.ndim - 1, *range(1, x.ndim - 1))
        return stored.transpose(back), False
    # a strided view: every other channel of a twice-as-wide array
    wide = np.repeat(x, 2, axis=1)
    view = wide[:, ::2]
    assert not view.flags.c_contiguous
    return view, False


def _to_nchw(y: np.ndarray, channels_last: bool) -> np.ndarray:
    if not channels_last:
        return y
    return y.transpose(0, y.ndim - 1, *range(1, y.ndim - 1))


def _ref_args(c: dict[str, Any]) -> tuple[Any, ...]:
    return c["kernel_size"], c["stride"], c["padding"], c["dilation"], c["ceil_mode"]


def _geometry(c: dict[str, Any]) -> PoolGeometry:
    return pool_geometry(c["spatial"], *_ref_args(c))


CASES = [
    pytest.param(seed, layout, id=f"seed{seed}-{layout}")
    for seed in range(24)
    for layout in LAYOUTS
]


@pytest.mark.parametrize(("seed", "layout"), CASES)
def test_max_pool_matches_reference(seed: int, layout: str, threads: None) -> None:
    c = _config(seed)
    dtype = (np.float32, np.float64)[seed % 2]
    cnnblocks.set_num_threads(1 + (seed // 2) % 2)
    shape = (int(c["rng"].integers(1, 4)), int(c["rng"].integers(2, 5)), *c["spatial"])
    x = _data(c["rng"], shape, dtype, seed)
    g = _geometry(c)
    want_y, want_idx = reference.max_pool(x, *_ref_args(c))

    arg, last = _in_layout(x, layout)
    assert fast_pool.supports(arg, g)
    y, idx = fast_pool.max_pool_forward(arg, g, last, True)
    y_only, none = fast_pool.max_pool_forward(arg, g, last, False)
    assert none is None
    assert y.dtype == dtype
    assert idx is not None
    assert idx.dtype == np.int64
    assert_array_equal(_to_nchw(y, last), want_y, err_msg=f"max_pool values, case {c}")
    assert_array_equal(_to_nchw(y_only, last), want_y, err_msg="max_pool without indices")
    assert_array_equal(_to_nchw(idx, last), want_idx, err_msg=f"max_pool indices, case {c}")

    grad_y = c["rng"].standard_normal(want_y.shape).astype(dtype)
    gy_arg, _ = _in_layout(grad_y, layout)
    grad_x = fast_pool.max_pool_backward(gy_arg, idx, g, last, arg.shape)
    assert grad_x.dtype == dtype
    assert grad_x.shape == arg.shape
    want_gx = reference.max_pool_backward(grad_y, x, *_ref_args(c))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(_to_nchw(grad_x, last), want_gx, rtol=tol, atol=tol,
                    err_msg=f"max_pool backward, case {c}")


@pytest.mark.parametrize(("seed", "layout"), CASES)
def test_avg_pool_matches_reference(seed: int, layout: str, threads: None) -> None:
    c = _config(seed + 100)
    dtype = (np.float32, np.float64)[seed % 2]
    cnnblocks.set_num_threads(1 + (seed // 2) % 2)
    rng = c["rng"]
    shape = (int(rng.integers(1, 4)), int(rng.integers(2, 5)), *c["spatial"])
    x = rng.standard_normal(shape).astype(dtype)
    include = bool(seed % 2)
    override = 3 if seed % 5 == 4 else None
    g = _geometry(c)
    want = reference.avg_pool(x, *_ref_args(c), include, override)

    arg, last = _in_layout(x, layout)
    y = fast_pool.avg_pool_forward(arg, g, last, include, override)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert y.dtype == dtype
    assert_allclose(_to_nchw(y, last), want, rtol=tol, atol=tol, err_msg=f"avg_pool, case {c}")

    grad_y = rng.standard_normal(want.shape).astype(dtype)
    gy_arg, _ = _in_layout(grad_y, layout)
    grad_x = fast_pool.avg_pool_backward(gy_arg, g, last, include, override, arg.shape)
    want_gx = reference.avg_pool_backward(grad_y, x.shape, *_ref_args(c), include, override)
    assert grad_x.dtype == dtype
    assert grad_x.shape == arg.shape
    assert_allclose(_to_nchw(grad_x, last), want_gx, rtol=tol, atol=tol,
                    err_msg=f"avg_pool backward, case {c}")


ONE_PASS = [
    # spatial size, kernel, stride, padding ((top, bottom, left, right) or 1-D (left, right)),
    # dilation, ceil_mode
    ((112, 112), 3, 2, 1, 1, False),  # ResNet's stem pool
    ((56, 56), 3, 1, 1, 1, False),
    ((13, 11), 3, 2, (0, 2, 1, 0), 1, True),  # odd sizes, asymmetric padding, ceil mode
    ((9, 14), 3, (3, 2), (2, 1, 1, 2), (2, 1), True),
    ((12, 10), 3, (1, 2), (1, 0, 2, 1), (1, 2), False),  # odd W dilation at stride 2
    ((7, 13), 3, (2, 1), (2, 2, 0, 1), 2, True),
    ((5, 3), 3, 1, 0, 1, False),  # one window per row
    ((4, 6), 3, 2, (1, 1, 1, 1), (1, 2), True),
    ((10, 9), (2, 3), (1, 2), (1, 0, 1, 1), 1, True),  # 2 rows
    ((6, 8), (1, 3), 1, (0, 0, 2, 1), (1, 2), False),  # 1 row
    ((31,), 3, 2, (1, 1), 1, True),  # 1-D
    ((17,), 3, 1, (0, 2), 2, False),
    # 2x2/2 without top or left padding: VGG's, and windows cut by bottom or right padding
    ((8, 10), 2, 2, 0, 1, False),
    ((9, 11), 2, 2, (0, 1, 0, 1), 1, False),
    ((7, 6), 2, 2, 0, 1, True),
    ((6, 9), 2, 2, (0, 0, 0, 1), 1, True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("spatial", "kernel", "stride", "padding", "dilation", "ceil"), ONE_PASS)
def test_one_pass_argmax_kernels_match_reference(
    dtype: Any, spatial: tuple[int, ...], kernel: Any, stride: Any, padding: Any, dilation: Any,
    ceil: bool,
) -> None:
    # 3-wide windows at W stride 1 and 2, and 2x2/2 without top or left padding, have one-pass
    # kernels of their own: many ties (small integers), +0 and -0 side by side, NaN, and
    # planes of (partly) -inf
    rng = np.random.default_rng(sum(spatial))
    x = rng.integers(-2, 3, (2, 3, *spatial)).astype(dtype)
    zeros = x == 0
    x[zeros] = np.where(rng.random(int(zeros.sum())) < 0.5, -0.0, 0.0)
    x[0, 1].flat[rng.integers(0, x[0, 1].size, 4)] = np.nan
    x[1, 0] = -np.inf
    x[1, 2].flat[rng.integers(0, x[1, 2].size, x[1, 2].size // 2)] = -np.inf
    g = pool_geometry(spatial, kernel, stride, padding, dilation, ceil)
    want_y, want_idx = reference.max_pool(x, kernel, stride, padding, dilation, ceil)
    y, idx = fast_pool.max_pool_forward(x, g, False, True)
    assert idx is not None
    assert_array_equal(y, want_y)
    assert_array_equal(idx, want_idx)
    assert_array_equal(np.signbit(y), np.signbit(want_y))  # the first maximum's sign of zero


# NHWC training path: the int32-winner forward, the gather backward (windows that do not overlap,
# or overlap little: 3x3/2) and the scatter backward (3x3/1, 1-D 5/1), at 1 and 2 threads, with
# enough channels for full vectors plus a remainder, and with one image so that 2 threads split
# the scatter into channel blocks.
NHWC_TRAINING = [
    ((9, 11), 2, 2, 0, 1, False),
    ((9, 11), 2, 2, (0, 1, 0, 1), 1, False),
    ((7, 9), 2, 2, 0, 1, True),
    ((10, 12), (3, 2), (3, 2), (1, 0, 0, 1), 1, True),
    ((11, 13), 3, 2, 1, 1, False),
    ((11, 13), 3, 2, 1, 1, True),
    ((9, 10), 3, 1, 1, 1, False),
    ((9, 10), 2, 1, 0, 2, False),
    ((13,), 3, 2, 1, 1, True),
    ((13,), 5, 1, 2, 1, False),
]


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize(("spatial", "kernel", "stride", "padding", "dilation", "ceil"),
                         NHWC_TRAINING)
def test_nhwc_training_path_matches_reference(
    spatial: tuple[int, ...], kernel: Any, stride: Any, padding: Any, dilation: Any, ceil: bool,
    batch: int, n_threads: int, threads: None,
) -> None:
    # Small integers (many ties) with +0 and -0 side by side, NaN, a plane of only -inf and one
    # half -inf; gradients are small integers and ±0, so every sum is exact and the backward
    # must match the reference bit for bit (a -0 gradient lands as +0, as 0 + -0 does).
    cnnblocks.set_num_threads(n_threads)
    rng = np.random.default_rng(sum(spatial) + batch)
    channels = 37
    x = rng.integers(-2, 3, (batch, channels, *spatial)).astype(np.float32)
    zeros = x == 0
    x[zeros] = np.where(rng.random(int(zeros.sum())) < 0.5, -0.0, 0.0)
    x[0, 1].flat[rng.integers(0, x[0, 1].size, 4)] = np.nan
    x[-1, 0] = -np.inf
    x[-1, 2].flat[rng.integers(0, x[-1, 2].size, x[-1, 2].size // 2)] = -np.inf
    args = (kernel, stride, padding, dilation, ceil)
    g = pool_geometry(spatial, *args)
    want_y, want_idx = reference.max_pool(x, *args)
    arg, last = _in_layout(x, "nhwc")
    y, idx = fast_pool.max_pool_forward(arg, g, last, True)
    assert idx is not None
    assert_array_equal(_to_nchw(y, last), want_y)
    assert_array_equal(np.signbit(_to_nchw(y, last)), np.signbit(want_y))
    assert_array_equal(_to_nchw(idx, last), want_idx)

    grad_y = rng.integers(-2, 3, want_y.shape).astype(np.float32)
    grad_y[grad_y == 0] = -0.0
    gy_arg, _ = _in_layout(grad_y, "nhwc")
    grad_x = _to_nchw(fast_pool.max_pool_backward(gy_arg, idx, g, last, arg.shape), last)
    want_gx = reference.max_pool_backward(grad_y, x, *args)
    assert_array_equal(grad_x, want_gx)
    assert_array_equal(np.signbit(grad_x), np.signbit(want_gx))


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_window_of_only_minus_inf_reports_its_first_real_cell(layout: str) -> None:
    # PyTorch starts every window at its first real cell; -inf never beats -inf, and the padding
    # (also -inf) must not be reported.
    x = np.full((1, 1, 3, 3), -np.inf, np.float32)
    g = pool_geometry((3, 3), 2, 2, 1)
    arg, last = _in_layout(x, layout)
    _, idx = fast_pool.max_pool_forward(arg, g, last, True)
    assert idx is not None
    assert _to_nchw(idx, last)[0, 0].tolist() == [[0, 1], [3, 4]]


def test_ties_go_to_the_first_cell_in_row_major_order() -> None:
    # window [[1, 5], [5, 5]]: the first 5 in row-major order is (0, 1) -> flat index 1, not the
    # first one down the columns; a separable pass in the wrong order would give 2.
    x = np.array([[[[1, 5], [5, 5]]]], np.float32)
    g = pool_geometry((2, 2), 2)
    _, idx = fast_pool.max_pool_forward(x, g, False, True)
    assert idx is not None
    assert int(idx[0, 0, 0, 0]) == 1


def test_nan_wins_and_the_last_nan_gives_the_index() -> None:
    nan = np.nan
    x = np.array([[[[nan, 9], [nan, 1]]]], np.float64)
    g = pool_geometry((2, 2), 2)
    y, idx = fast_pool.max_pool_forward(x, g, False, True)
    assert idx is not None
    assert np.isnan(y[0, 0, 0, 0])
    assert int(idx[0, 0, 0, 0]) == 2


def test_channels_last_memory_stays_channels_last_without_a_copy() -> None:
    x_nhwc = np.random.default_rng(0).standard_normal((2, 9, 8, 5)).astype(np.float32)
    x = x_nhwc.transpose(0, 3, 1, 2)  # NCHW shape, NHWC memory (PyTorch's channels_last)
    g = pool_geometry((9, 8), 3, 2, 1)
    y, _ = fast_pool.max_pool_forward(x, g, False, False)
    assert y.shape == (2, 5, 5, 4)
    assert y.transpose(0, 2, 3, 1).flags.c_contiguous  # same memory format as the input


def test_the_2d_kernels_decline_3d_windows_and_float16() -> None:
    x = np.zeros((1, 1, 4, 4, 4), np.float32)
    assert not fast_pool.supports(x, pool_geometry((4, 4, 4), 2))
    assert not fast_pool.supports(x[..., 0].astype(np.float16), pool_geometry((4, 4), 2))


# --- through the public API: the dispatcher must pick the compiled path ----------------------


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count calls into the compiled drivers (pooling and activations)."""
    from cnnblocks.engine import fast_activations

    counts: dict[str, int] = {}
    for module in (fast_pool, fast_activations):
        for name in module.__all__:
            target = getattr(module, name)
            if not callable(target) or name == "supports":
                continue

            def spy(*args: Any, _name: str = name, _target: Any = target) -> Any:
                counts[_name] = counts.get(_name, 0) + 1
                return _target(*args)

            monkeypatch.setattr(module, name, spy)
    return counts


@pytest.mark.parametrize("data_format", ["NCHW", "NHWC"])
def test_public_pooling_runs_on_the_compiled_engine(
    calls: dict[str, int], data_format: str
) -> None:
    from cnnblocks import functional as F

    rng = np.random.default_rng(11)
    x = rng.integers(-4, 5, (2, 3, 9, 8)).astype(np.float32)
    arg = x if data_format == "NCHW" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    y, ctx = F.max_pool_forward(arg, 3, 2, (0, 1, 1, 0), data_format=data_format)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    gx = F.max_pool_backward(gy, ctx)
    a, actx = F.avg_pool_forward(arg, 2, data_format=data_format)
    ga = F.avg_pool_backward(np.ones_like(a), actx)
    assert calls == {"max_pool_forward": 1, "max_pool_backward": 1, "avg_pool_forward": 1,
                     "avg_pool_backward": 1}
    want_y, _ = reference.max_pool(x, 3, 2, (0, 1, 1, 0))
    last = data_format == "NHWC"
    assert_array_equal(_to_nchw(y, last), want_y)
    to_nchw_gy = _to_nchw(gy, last)
    assert_allclose(_to_nchw(gx, last),
                    reference.max_pool_backward(to_nchw_gy, x, 3, 2, (0, 1, 1, 0)), rtol=1e-6)
    assert_allclose(_to_nchw(a, last), reference.avg_pool(x, 2), rtol=1e-6)
    assert_allclose(_to_nchw(ga, last), reference.avg_pool_backward(
        np.ones((2, 3, 4, 4), np.float32), x.shape, 2), rtol=1e-6)


def test_public_activations_run_on_the_compiled_engine(calls: dict[str, int]) -> None:
    from cnnblocks import functional as F

    x = np.linspace(-5, 5, 11, dtype=np.float32)
    y, ctx = F.sigmoid_forward(x)
    F.sigmoid_backward(np.ones_like(y), ctx)
    F.sigmoid_grad(x)
    r, rctx = F.relu_forward(x)
    F.relu_backward(np.ones_like(r), rctx)
    F.relu_grad(x)
    assert calls == {"sigmoid": 1, "sigmoid_backward": 1, "sigmoid_grad": 1, "relu": 1,
                     "relu_backward": 1, "relu_grad": 1}


def test_float16_runs_through_float32_and_3d_windows_avoid_the_2d_kernels(
    calls: dict[str, int],
) -> None:
    # float16 is widened to float32 for the 2-D kernels; 3-D windows run on fast_pool3d
    # (tests/test_engine_3d.py)
    from cnnblocks import functional as F

    x16 = np.ones((1, 2, 4, 4), np.float16)
    assert F.max_pool(x16, 2).dtype == np.float16
    assert F.avg_pool(np.ones((1, 1, 4, 4, 4), np.float32), 2).shape == (1, 1, 2, 2, 2)
    assert calls == {"max_pool_forward": 1}


@pytest.mark.parametrize("seed", range(8))
def test_float16_through_float32_matches_reference(seed: int) -> None:
    """Maxima and indices survive the float32 round trip exactly; means and gradients are
    rounded once to float16 (the reference rounds its float64 result once: at most one float16
    rounding apart)."""
    from cnnblocks import functional as F

    config = _config(seed)
    rng = config.pop("rng")
    x = _data(rng, (2, 3, *config.pop("spatial")), np.float16, seed)
    x = np.where(np.isfinite(x), x * np.float16(0.37), x).astype(np.float16)
    y, idx = F.max_pool(x, return_indices=True, **config)
    want_y, want_idx = reference.max_pool(x, **config)
    assert y.dtype == np.float16
    assert_array_equal(y, want_y)
    assert_array_equal(idx, want_idx)
    y, ctx = F.max_pool_forward(x, **config)
    gy = rng.standard_normal(y.shape).astype(np.float16)
    assert_allclose(F.max_pool_backward(gy, ctx).astype(np.float64),
                    reference.max_pool_backward(gy.astype(np.float64), x, **config),
                    rtol=2e-3, atol=1e-3)
    finite = np.nan_to_num(x, nan=1.5, neginf=-2.5)
    a = F.avg_pool(finite, **config)
    assert a.dtype == np.float16
    assert_allclose(a.astype(np.float64), reference.avg_pool(finite.astype(np.float64), **config),
                    rtol=2e-3, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_global_average_of_a_plane_starting_with_infinity_is_infinite(dtype: Any) -> None:
    # the sum must start from 0, not from x[0] - x[0] (inf - inf would be NaN)
    x = np.ones((1, 3, 3, 3), dtype)
    x[0, 0, 0, 0] = np.inf
    x[0, 1, 0, 0] = -np.inf
    x[0, 2, 1, 1] = 10.0
    y = fast_pool.avg_pool_forward(x, pool_geometry((3, 3), 3), False, True, None)
    assert y.dtype == dtype
    assert y[:, :, 0, 0].tolist() == [[np.inf, -np.inf, 2.0]]  # (8 + 10) / 9 = 2


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize(
    ("spatial", "kernel", "stride", "padding", "dilation", "ceil"),
    [((12, 11), 3, 1, 1, 1, False), ((13, 14), 3, 2, 1, 1, False), ((9, 9), 2, 2, 0, 1, True),
     ((10, 12), (3, 2), (2, 2), (1, 0, 0, 1), 1, True), ((15, 16), 7, 1, 3, 1, False),
     ((11, 13), 3, 1, 2, 2, False)],
)
def test_values_only_max_keeps_the_first_zero_sign(
    layout: str, spatial: tuple[int, ...], kernel: Any, stride: Any, padding: Any,
    dilation: Any, ceil: bool,
) -> None:
    # Windows whose maximum is 0 with both +0 and -0 in them: PyTorch (and the reference's
    # row-major scan) return the zero met first in row-major order. Only plane 0 holds -0, so
    # the other planes run the fast column-first path and must agree as well.
    rng = np.random.default_rng(sum(spatial))
    x = -rng.integers(0, 2, (2, 3, *spatial)).astype(np.float32)  # 0 or -1
    zeros = x == 0
    x[zeros] = 0.0
    plane = x[0, 0]
    plane[(plane == 0) & (rng.random(plane.shape) < 0.5)] = -0.0
    g = pool_geometry(spatial, kernel, stride, padding, dilation, ceil)
    want, _ = reference.max_pool(x, kernel, stride, padding, dilation, ceil)
    arg = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if layout == "nhwc" else x
    y, _ = fast_pool.max_pool_forward(arg, g, layout == "nhwc", False)
    if layout == "nhwc":
        y = y.transpose(0, 3, 1, 2)
    assert_array_equal(y, want)
    assert_array_equal(np.signbit(y), np.signbit(want))
    assert ((want == 0) & np.signbit(want)).any()  # the case really has -0 maxima
