"""The compiled kernels on their own: activations, PyTorch parity at real sizes, the disk cache.

Expected values come from float64 NumPy formulas (the activations), PyTorch (pooling at sizes the
reference loops would take long on) and numba's own cache statistics (no recompilation).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import cnnblocks
from cnnblocks.engine import _numba, fast_pool
from cnnblocks.engine import fast_activations as fa
from cnnblocks.shapes import pool_geometry


@pytest.fixture
def threads() -> Iterator[None]:
    before = cnnblocks.get_num_threads()
    yield
    cnnblocks.set_num_threads(before)


def _sigmoid64(x: np.ndarray) -> np.ndarray:
    """σ in float64 from the textbook stable form (an independent formula)."""
    x = x.astype(np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    with np.errstate(over="ignore"):
        e = np.exp(x[~pos])
    out[~pos] = e / (1 + e)
    return out


def _ulps(got: np.ndarray, want64: np.ndarray) -> np.ndarray:
    """Error in units of the last place of got's dtype at the true value."""
    spacing = np.spacing(np.abs(want64).astype(got.dtype)).astype(np.float64)
    spacing = np.maximum(spacing, np.finfo(got.dtype).smallest_subnormal)
    return np.abs(got.astype(np.float64) - want64) / spacing


SIZES = [pytest.param(37, id="serial"), pytest.param(fa.PARALLEL_MIN + 1001, id="parallel")]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_sigmoid_within_three_ulp_everywhere(dtype: Any, n: int) -> None:
    rng = np.random.default_rng(1)
    # both tails, the subnormal range (float32 below -87, float64 below -708) and around 0
    x = np.concatenate([rng.uniform(-120, 40, n), rng.uniform(-760, -700, 64),
                        rng.uniform(-1e-3, 1e-3, 64)]).astype(dtype)
    y = fa.sigmoid(x)
    assert y is not None
    assert y.dtype == dtype
    assert y.shape == x.shape
    assert np.max(_ulps(y, _sigmoid64(x))) <= 3

    dy = fa.sigmoid_grad(x)
    assert dy is not None
    want = _sigmoid64(x) * _sigmoid64(-x)
    assert np.max(_ulps(dy, want)) <= 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_special_values(dtype: Any) -> None:
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -800.0, 800.0], dtype)
    y = fa.sigmoid(x)
    assert y is not None
    assert y[:4].tolist() == [0.5, 0.5, 1.0, 0.0]
    assert np.isnan(y[4])
    assert y[5] == 0.0
    assert y[6] == 1.0
    d = fa.sigmoid_grad(x)
    assert d is not None
    assert d[:4].tolist() == [0.25, 0.25, 0.0, 0.0]
    assert np.isnan(d[4])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_hardswish_and_backward_match_numpy_exactly(dtype: Any, n: int) -> None:
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(n) * 4).astype(dtype)
    big = np.finfo(dtype).max
    x[:12] = [0.0, -0.0, np.nan, np.inf, -np.inf, 3.0, -3.0, big, -big,
              np.nextafter(dtype(3), dtype(0)), np.nextafter(dtype(-3), dtype(0)), -1e-30]
    y = fa.hardswish(x)
    assert y is not None
    with np.errstate(over="ignore"):
        want = np.clip(x + dtype(3), 0, 6) / dtype(6) * np.maximum(x, -big)
    assert_array_equal(y, want)
    assert_array_equal(np.signbit(y), np.signbit(want))
    want_d = np.where(x <= -3, dtype(0), x / dtype(3) + dtype(0.5))
    want_d = np.where(x < 3, want_d, dtype(1))  # 1 at x >= 3 and at NaN (PyTorch)
    d = fa.hardswish_grad(x)
    assert d is not None
    assert_array_equal(d, want_d)
    g = rng.standard_normal(n).astype(dtype)
    gx = fa.hardswish_backward(g, x)
    assert gx is not None
    assert_array_equal(gx, want_d * g)


@pytest.mark.parametrize("theta", [1.0, -0.5, 0.0, 1.0000000001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_thresholded_relu_and_backward_match_numpy_exactly(
    dtype: Any, n: int, theta: float
) -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal(n).astype(dtype)
    x[:6] = [0.0, -0.0, np.nan, np.inf, -np.inf, theta]
    kept = ~(x <= theta)  # NumPy compares in x's dtype (θ rounded to it); NaN is kept
    y = fa.thresholded_relu(x, theta)
    assert y is not None
    assert_array_equal(y, np.where(kept, x, 0))
    assert not np.signbit(y[~kept]).any()  # the zeros are +0
    d = fa.thresholded_relu_grad(x, theta)
    assert d is not None
    assert_array_equal(d, kept.astype(dtype))
    g = rng.standard_normal(n).astype(dtype)
    gx = fa.thresholded_relu_backward(g, x, theta)
    assert gx is not None
    assert_array_equal(gx, np.where(kept, g, 0))


@pytest.mark.parametrize("slope", [0.01, -0.5, 3.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_leaky_relu_and_backward_match_numpy_exactly(dtype: Any, n: int, slope: float) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(n).astype(dtype)
    x[:5] = [0.0, -0.0, np.nan, np.inf, -np.inf]
    a = dtype(slope)
    y = fa.leaky_relu(x, slope)
    assert y is not None
    assert_array_equal(y, np.where(x > 0, x, x * a))  # NaN stays NaN (x*a)
    assert_array_equal(np.signbit(y), np.signbit(np.where(x > 0, x, x * a)))
    d = fa.leaky_relu_grad(x, slope)
    assert d is not None
    assert_array_equal(d, np.where(x > 0, dtype(1), a))  # leaky'(0) = slope; NaN: slope
    g = rng.standard_normal(n).astype(dtype)
    gx = fa.leaky_relu_backward(g, x, slope)
    assert gx is not None
    assert_array_equal(gx, np.where(x > 0, dtype(1), a) * g)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_relu_and_backward_match_numpy_exactly(dtype: Any, n: int) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal(n).astype(dtype)
    x[:5] = [0.0, -0.0, np.nan, np.inf, -np.inf]
    y = fa.relu(x)
    assert y is not None
    assert_array_equal(y, np.maximum(x, 0))
    assert not np.signbit(y[1])  # relu(-0) = +0, as np.maximum gives
    g = rng.standard_normal(n).astype(dtype)
    gx = fa.relu_backward(g, y)
    assert gx is not None
    # relu'(0) = 0; a NaN passes the gradient (PyTorch's threshold_backward: x <= 0 ? 0 : g)
    assert_array_equal(gx, np.where(y <= 0, 0, g))
    assert gx[2] == g[2]
    d = fa.relu_grad(x)
    assert d is not None
    assert_array_equal(d, (~(x <= 0)).astype(dtype))
    assert d[2] == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_sigmoid_backward_rounds_like_the_numpy_formula(dtype: Any, n: int) -> None:
    rng = np.random.default_rng(3)
    y = rng.uniform(0, 1, n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    got = fa.sigmoid_backward(g, y)
    d = np.subtract(1, y)
    d *= y
    assert got is not None
    assert_array_equal(got, d * g)


def test_activations_keep_shape_and_memory_order_and_decline_other_inputs() -> None:
    x = np.arange(-6.0, 6.0).reshape(3, 4).T  # Fortran order: no copy needed
    y = fa.relu(x)
    assert y is not None
    assert y.shape == (4, 3)
    assert y.flags.f_contiguous
    assert_array_equal(y, np.maximum(x, 0))
    s = fa.sigmoid(np.float32(0.5).reshape(()))
    assert s is not None
    assert s.shape == ()
    assert fa.sigmoid(x[::2]) is None  # strided: the NumPy path handles it
    assert fa.relu(np.arange(4)) is None  # integers
    assert fa.sigmoid(np.zeros(3, np.float16)) is None
    assert fa.relu_backward(np.zeros(3, np.float32), np.zeros(3, np.float64)) is None


def test_one_and_two_threads_give_identical_bits(threads: None) -> None:
    x = np.random.default_rng(4).standard_normal((8, 13, 31, 29)).astype(np.float32)
    g = pool_geometry((31, 29), 3, 2, 1)
    results = []
    for n in (1, 2):
        cnnblocks.set_num_threads(n)
        s = fa.sigmoid(x.reshape(-1))
        y, idx = fast_pool.max_pool_forward(x, g, False, True)
        a = fast_pool.avg_pool_forward(x, g, False, True, None)
        results.append((s, y, idx, a))
    for first, second in zip(*results, strict=True):
        assert_array_equal(first, second)


# --- PyTorch parity at sizes the loop reference would be slow on -------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation", "ceil"),
    [(3, 2, 1, 1, False), (2, 2, 0, 1, False), (2, 2, 0, 1, True), (3, 1, 1, 1, False),
     (7, 1, 3, 1, False),
     (3, 2, 1, 2, True), ((2, 3), (1, 2), (1, 0), 1, True)],
)
def test_max_pool_matches_torch(channels_last: bool, kernel: Any, stride: Any, padding: Any,
                                dilation: Any, ceil: bool) -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((3, 6, 23, 30)).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_()
    yt, it = torch.nn.functional.max_pool2d(xt, kernel, stride, padding, dilation, ceil, True)
    gy = torch.randn_like(yt)
    yt.backward(gy)
    assert xt.grad is not None
    g = pool_geometry((23, 30), kernel, stride, padding, dilation, ceil)
    arg = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if channels_last else x
    y, idx = fast_pool.max_pool_forward(arg, g, channels_last, True)
    assert idx is not None
    gy_np = gy.numpy()
    if channels_last:
        y, idx = y.transpose(0, 3, 1, 2), idx.transpose(0, 3, 1, 2)
        gy_np = np.ascontiguousarray(gy_np.transpose(0, 2, 3, 1))
    assert_array_equal(y, yt.detach().numpy())
    assert_array_equal(idx, it.numpy())
    gx = fast_pool.max_pool_backward(
        gy_np, idx.transpose(0, 2, 3, 1) if channels_last else idx, g, channels_last, arg.shape
    )
    if channels_last:
        gx = gx.transpose(0, 3, 1, 2)
    assert_allclose(gx, xt.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "ceil", "include", "override"),
    [(2, 2, 0, False, True, None), (2, 2, 0, True, True, None), (2, 2, 0, True, False, None),
     (3, 2, 1, True, True, None), (3, 2, 1, True, False, None),
     (7, 1, 3, False, False, None), ((3, 2), (2, 1), (1, 1), False, True, 5)],
)
def test_avg_pool_matches_torch(channels_last: bool, kernel: Any, stride: Any, padding: Any,
                                ceil: bool, include: bool, override: int | None) -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).standard_normal((2, 5, 21, 26)).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_()
    yt = torch.nn.functional.avg_pool2d(xt, kernel, stride, padding, ceil, include, override)
    gy = torch.randn_like(yt)
    yt.backward(gy)
    assert xt.grad is not None
    g = pool_geometry((21, 26), kernel, stride, padding, 1, ceil)
    to_last = (0, 2, 3, 1)
    arg = np.ascontiguousarray(x.transpose(to_last)) if channels_last else x
    gy_np = np.ascontiguousarray(gy.numpy().transpose(to_last)) if channels_last else gy.numpy()
    y = fast_pool.avg_pool_forward(arg, g, channels_last, include, override)
    gx = fast_pool.avg_pool_backward(gy_np, g, channels_last, include, override, arg.shape)
    if channels_last:
        y, gx = y.transpose(0, 3, 1, 2), gx.transpose(0, 3, 1, 2)
    assert_allclose(y, yt.detach().numpy(), rtol=2e-6, atol=2e-6)
    assert_allclose(gx, xt.grad.numpy(), rtol=2e-6, atol=2e-6)


@pytest.mark.torch
def test_global_pooling_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(7).standard_normal((4, 33, 7, 7)).astype(np.float32)
    g = pool_geometry((7, 7), 7)
    y = fast_pool.avg_pool_forward(x, g, False, True, None)
    want = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(x), 1).numpy()
    assert_allclose(y, want, rtol=2e-6, atol=2e-7)
    ym, idx = fast_pool.max_pool_forward(x, g, False, True)
    wm, wi = torch.nn.functional.max_pool2d(torch.from_numpy(x), 7, return_indices=True)
    assert idx is not None
    assert_array_equal(ym, wm.numpy())
    assert_array_equal(idx, wi.numpy())


# --- import cost and the disk cache ---------------------------------------------------------------


def _run(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_cnnblocks_does_not_import_numba() -> None:
    out = _run(
        """
        import sys
        import cnnblocks, cnnblocks.engine, cnnblocks.engine.fast_pool
        import cnnblocks.engine.fast_activations
        print("numba" in sys.modules)
        """,
        dict(os.environ),
    )
    assert out == "False"


def test_a_second_process_loads_kernels_from_the_cache(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("NUMBA_CACHE_DIR", None)
    env["CNNBLOCKS_CACHE_DIR"] = str(tmp_path / "cache")
    code = """
        import numpy as np
        from cnnblocks.engine import _numba, fast_activations
        fast_activations.relu(np.arange(-3.0, 3.0))
        from cnnblocks.engine import numba_activations as k
        stats = k.relu.dispatcher.stats
        print(_numba.cache_dir(), sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
    """
    first_dir, first_hits, first_misses = _run(code, env).split()
    second_dir, second_hits, second_misses = _run(code, env).split()
    assert first_dir == second_dir == str(tmp_path / "cache" / _numba.sources_fingerprint())
    assert (first_hits, first_misses) == ("0", "1")  # compiled, then saved
    assert (second_hits, second_misses) == ("1", "0")  # loaded: no recompilation
    assert any((tmp_path / "cache").rglob("*.nbi"))
