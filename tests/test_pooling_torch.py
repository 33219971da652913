"""PyTorch parity (optional oracle): forward values, indices and gradients on random configs.

Only configurations PyTorch can express: symmetric padding no larger than half the window,
no dilation for average pooling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from cnnblocks import functional as F
from pooling_cases import tie_free

pytestmark = pytest.mark.torch


def _torch() -> Any:
    import torch

    torch.set_num_threads(1)
    return torch


def _config(seed: int, *, dilation: bool) -> dict:
    rng = np.random.default_rng(seed)
    rank = 1 + seed % 3
    while True:
        k = tuple(int(v) for v in rng.integers(1, 4, rank))
        d = tuple(int(v) for v in rng.integers(1, 3, rank)) if dilation else (1,) * rank
        s = tuple(int(v) for v in rng.integers(1, 4, rank))
        p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)  # PyTorch: pad <= k/2
        spatial = tuple(int(v) for v in rng.integers(1, (9, 7, 5)[rank - 1], rank))
        ceil = bool(rng.integers(0, 2))
        span = [(kk - 1) * dd + 1 for kk, dd in zip(k, d, strict=True)]
        # PyTorch's 3-d average pooling also wants the unpadded input to hold a window
        if all(n >= sp for n, sp in zip(spatial, span, strict=True)):
            try:
                F.max_pool(np.zeros((1, 1, *spatial)), k, s, p, d, ceil)
            except ValueError:
                continue
            return {"shape": (2, 3, *spatial), "kernel_size": k, "stride": s, "padding": p,
                    "dilation": d, "ceil_mode": ceil, "rank": rank}


@pytest.mark.parametrize("seed", range(30))
def test_max_pool_matches_torch(seed: int) -> None:
    torch = _torch()
    c = _config(seed, dilation=True)
    x = tie_free(np.random.default_rng(seed), c["shape"])
    x[..., 0] = x[..., -1]  # some ties across windows
    pool = getattr(torch.nn.functional, f"max_pool{c['rank']}d")
    xt = torch.tensor(x, requires_grad=True)
    yt, it = pool(xt, c["kernel_size"], c["stride"], c["padding"], c["dilation"],
                  c["ceil_mode"], return_indices=True)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(g))
    y, ctx = F.max_pool_forward(x, c["kernel_size"], c["stride"], c["padding"], c["dilation"],
                                c["ceil_mode"])
    assert_array_equal(y, yt.detach().numpy())
    assert_array_equal(ctx.saved["indices"], it.numpy())
    assert_allclose(ctx.backward(g), xt.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("seed", range(30))
def test_avg_pool_matches_torch(seed: int) -> None:
    torch = _torch()
    c = _config(seed, dilation=False)
    x = np.random.default_rng(seed).standard_normal(c["shape"])
    cip = bool(seed % 2)
    override = 2 if seed % 5 == 4 and c["rank"] > 1 else None
    pool = getattr(torch.nn.functional, f"avg_pool{c['rank']}d")
    xt = torch.tensor(x, requires_grad=True)
    extra = {"divisor_override": override} if c["rank"] > 1 else {}
    yt = pool(xt, c["kernel_size"], c["stride"], c["padding"], c["ceil_mode"], cip, **extra)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(g))
    y, ctx = F.avg_pool_forward(x, c["kernel_size"], c["stride"], c["padding"],
                                ceil_mode=c["ceil_mode"], count_include_pad=cip,
                                divisor_override=override)
    assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert_allclose(ctx.backward(g), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_max_pool_nan_matches_torch(seed: int) -> None:
    torch = _torch()
    c = _config(seed, dilation=True)
    rng = np.random.default_rng(seed)
    x = tie_free(rng, c["shape"])
    x.reshape(-1)[rng.integers(0, x.size, max(2, x.size // 4))] = np.nan
    pool = getattr(torch.nn.functional, f"max_pool{c['rank']}d")
    yt, it = pool(torch.tensor(x), c["kernel_size"], c["stride"], c["padding"], c["dilation"],
                  c["ceil_mode"], return_indices=True)
    y, idx = F.max_pool(x, c["kernel_size"], c["stride"], c["padding"], c["dilation"],
                        c["ceil_mode"], return_indices=True)
    assert_array_equal(y, yt.numpy())
    assert_array_equal(idx, it.numpy())


@pytest.mark.parametrize(
    ("spatial", "out"),
    [((10,), (4,)), ((3,), (5,)), ((7, 5), (3, 2)), ((4, 6), (5, 4)), ((5, 4, 3), (2, 3, 2)),
     ((9, 9), (4, 7)), ((6, 5, 4), (4, 5, 6)),
     # sizes that divide: equal bins, run as ordinary k/k pooling on the compiled kernels
     ((8,), (4,)), ((14, 14), (7, 7)), ((12, 10), (3, 5)), ((7, 7), (1, 1)),
     ((6, 4, 8), (3, 2, 4))],
)
def test_adaptive_matches_torch(spatial: tuple[int, ...], out: tuple[int, ...]) -> None:
    torch = _torch()
    rank = len(spatial)
    rng = np.random.default_rng(rank)
    x = rng.integers(-3, 4, (2, 3, *spatial)).astype(np.float64)  # ties
    x.reshape(-1)[::11] = np.nan
    yt, it = getattr(torch.nn.functional, f"adaptive_max_pool{rank}d")(
        torch.tensor(x), out, return_indices=True)
    y, idx = F.adaptive_max_pool(x, out, return_indices=True)
    assert_array_equal(y, yt.numpy())
    assert_array_equal(idx, it.numpy())
    # gradients on NaN-free, tie-free data
    z = tie_free(rng, x.shape)
    g = rng.standard_normal((2, 3, *out))
    for name, fwd in [("max", F.adaptive_max_pool_forward), ("avg", F.adaptive_avg_pool_forward)]:
        zt = torch.tensor(z, requires_grad=True)
        yt = getattr(torch.nn.functional, f"adaptive_{name}_pool{rank}d")(zt, out)
        yt.backward(torch.tensor(g))
        y, ctx = fwd(z, out)
        assert_allclose(y, yt.detach().numpy(), rtol=1e-12)
        assert_allclose(ctx.backward(g), zt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_max_unpool_matches_torch(seed: int) -> None:
    torch = _torch()
    c = _config(seed, dilation=False)
    x = tie_free(np.random.default_rng(seed), c["shape"])
    rank = c["rank"]
    y, idx = F.max_pool(x, c["kernel_size"], c["stride"], c["padding"], return_indices=True)
    unpool = getattr(torch.nn.functional, f"max_unpool{rank}d")
    spatial = c["shape"][2:]
    yt = torch.tensor(y, requires_grad=True)
    outt = unpool(yt, torch.tensor(idx), c["kernel_size"], c["stride"], c["padding"],
                  output_size=spatial)
    out, ctx = F.max_unpool_forward(y, idx, c["kernel_size"], c["stride"], c["padding"],
                                    output_size=spatial)
    assert_array_equal(out, outt.detach().numpy())
    g = np.random.default_rng(seed).standard_normal(out.shape)
    outt.backward(torch.tensor(g))
    assert_allclose(ctx.backward(g), yt.grad.numpy())
    # PyTorch's default output size: (in - 1)*S - 2p + k
    default = tuple((n - 1) * st - 2 * p + k for n, st, p, k in zip(
        y.shape[2:], c["stride"], c["padding"], c["kernel_size"], strict=True))
    if min(default) < 1:  # PyTorch returns an empty array; we refuse with the formula
        with pytest.raises(ValueError, match="would give an output of size"):
            F.max_unpool(y, idx, c["kernel_size"], c["stride"], c["padding"])
        return
    if idx.max() >= np.prod(default):  # indices beyond the default plane: both refuse
        with pytest.raises(RuntimeError, match="invalid max index"):
            unpool(torch.tensor(y), torch.tensor(idx), c["kernel_size"], c["stride"],
                   c["padding"])
        with pytest.raises(ValueError, match="must be flat positions in"):
            F.max_unpool(y, idx, c["kernel_size"], c["stride"], c["padding"])
        return
    theirs = unpool(torch.tensor(y), torch.tensor(idx), c["kernel_size"], c["stride"],
                    c["padding"])
    ours = F.max_unpool(y, idx, c["kernel_size"], c["stride"], c["padding"])
    assert ours.shape == tuple(theirs.shape) == (*y.shape[:2], *default)
    assert_array_equal(ours, theirs.numpy())


@pytest.mark.parametrize("seed", range(20))
def test_output_shape_matches_torch(seed: int) -> None:
    torch = _torch()
    c = _config(seed + 100, dilation=True)
    pool = getattr(torch.nn.functional, f"max_pool{c['rank']}d")
    yt = pool(torch.zeros(c["shape"]), c["kernel_size"], c["stride"], c["padding"],
              c["dilation"], c["ceil_mode"])
    from cnnblocks.shapes import pool_output_shape

    assert pool_output_shape(c["shape"], c["kernel_size"], c["stride"], c["padding"],
                             c["dilation"], c["ceil_mode"]) == tuple(yt.shape)


def test_global_pools_match_torch() -> None:
    torch = _torch()
    x = tie_free(np.random.default_rng(0), (2, 3, 4, 5))
    xt = torch.tensor(x)
    assert_allclose(F.global_avg_pool(x), torch.nn.functional.adaptive_avg_pool2d(xt, 1).numpy(),
                    rtol=1e-12)
    assert_array_equal(F.global_max_pool(x),
                       torch.nn.functional.adaptive_max_pool2d(xt, 1).numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("spatial", "out"), [((14, 14), (7, 7)), ((6, 4, 8), (3, 2, 4))])
def test_adaptive_equal_bins_channels_last_matches_torch(
    spatial: tuple[int, ...], out: tuple[int, ...], dtype: type
) -> None:
    torch = _torch()
    rank = len(spatial)
    rng = np.random.default_rng(7)
    x = rng.integers(-3, 4, (2, 5, *spatial)).astype(dtype)  # ties
    x.reshape(-1)[::13] = np.nan
    to_last = (0, *range(2, x.ndim), 1)
    to_first = (0, x.ndim - 1, *range(1, x.ndim - 1))
    x_last = np.ascontiguousarray(x.transpose(to_last))
    yt, it = getattr(torch.nn.functional, f"adaptive_max_pool{rank}d")(
        torch.tensor(x), out, return_indices=True)
    y, idx = F.adaptive_max_pool(x_last, out, return_indices=True, data_format="NHWC")
    assert_array_equal(y.transpose(to_first), yt.numpy())
    assert_array_equal(idx.transpose(to_first), it.numpy())
    z = tie_free(rng, x.shape).astype(dtype)
    g = rng.standard_normal((2, 5, *out)).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for name, fwd in [("max", F.adaptive_max_pool_forward), ("avg", F.adaptive_avg_pool_forward)]:
        zt = torch.tensor(z, requires_grad=True)
        yt = getattr(torch.nn.functional, f"adaptive_{name}_pool{rank}d")(zt, out)
        yt.backward(torch.tensor(g))
        y, ctx = fwd(np.ascontiguousarray(z.transpose(to_last)), out, data_format="NHWC")
        assert y.dtype == dtype
        assert_allclose(y.transpose(to_first), yt.detach().numpy(), rtol=tol, atol=tol)
        grad = ctx.backward(np.ascontiguousarray(g.transpose(to_last)))
        assert_allclose(grad.transpose(to_first), zt.grad.numpy(), rtol=tol, atol=tol)
