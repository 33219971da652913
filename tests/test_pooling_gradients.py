"""Float64 central-difference checks of every pooling backward, on random configurations.

Inputs are tie-free (a shuffled range of distinct values one apart, none 0), so a step of 1e-6
never changes which cell wins a max window and never crosses the kink of |x| in Lp pooling.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnblocks import functional as F
from gradcheck import check_op_gradient, check_vjp
from pooling_cases import pool_kwargs, random_case, tie_free

SEEDS = range(12)


def _case(seed: int) -> dict:
    rng = np.random.default_rng(1000 + seed)
    rank = 1 + seed % 3
    return random_case(rng, rank=rank, max_size=(7, 6, 4)[rank - 1])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("data_format", ["NCHW", "NHWC"])
def test_max_pool_gradient(seed: int, data_format: str) -> None:
    case = _case(seed)
    x = tie_free(np.random.default_rng(seed), case["shape"])
    if data_format == "NHWC":
        x = np.moveaxis(x, 1, -1)
    check_op_gradient(F.max_pool_forward, F.max_pool_backward, x, **pool_kwargs(case),
                      data_format=data_format)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_gradient(seed: int, count_include_pad: bool) -> None:
    case = _case(seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case["shape"])
    data_format = "NHWC" if seed % 2 else "NCHW"
    if data_format == "NHWC":
        x = np.moveaxis(x, 1, -1)
    override = 5 if seed % 4 == 3 else None
    check_op_gradient(F.avg_pool_forward, F.avg_pool_backward, x, **pool_kwargs(case),
                      count_include_pad=count_include_pad, divisor_override=override,
                      data_format=data_format)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("p", [1, 2, 3])
def test_lp_pool_gradient(seed: int, p: int) -> None:
    case = _case(seed)
    x = tie_free(np.random.default_rng(seed), case["shape"]) / 3
    kw = pool_kwargs(case)
    check_op_gradient(F.lp_pool_forward, F.lp_pool_backward, x, p, **kw, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 3, 5), (1, 2, 4, 3), (2, 2, 2, 3, 2)])
@pytest.mark.parametrize("data_format", ["NCHW", "NHWC"])
def test_global_pool_gradients(shape: tuple[int, ...], data_format: str) -> None:
    x = tie_free(np.random.default_rng(len(shape)), shape)
    check_op_gradient(F.global_max_pool_forward, F.global_max_pool_backward, x,
                      data_format=data_format)
    check_op_gradient(F.global_avg_pool_forward, F.global_avg_pool_backward, x,
                      data_format=data_format)
    check_op_gradient(F.global_lp_pool_forward, F.global_lp_pool_backward, x / 4, 2,
                      data_format=data_format, atol=1e-6)
    check_op_gradient(F.global_lp_pool_forward, F.global_lp_pool_backward, x / 4, 3,
                      data_format=data_format, atol=1e-6)


@pytest.mark.parametrize(
    ("spatial", "out"),
    [((10,), (4,)), ((3,), (5,)), ((7, 5), (3, 2)), ((4, 6), (5, 4)), ((4, 3, 3), (2, 2, 3))],
)
@pytest.mark.parametrize("data_format", ["NCHW", "NHWC"])
def test_adaptive_gradients(spatial: tuple[int, ...], out: tuple[int, ...], data_format: str
                            ) -> None:
    shape = (2, 2, *spatial) if data_format == "NCHW" else (2, *spatial, 2)
    x = tie_free(np.random.default_rng(7), shape)
    check_op_gradient(F.adaptive_max_pool_forward, F.adaptive_max_pool_backward, x, out,
                      data_format=data_format)
    check_op_gradient(F.adaptive_avg_pool_forward, F.adaptive_avg_pool_backward, x, out,
                      data_format=data_format)


@pytest.mark.parametrize("seed", range(6))
def test_max_unpool_gradient(seed: int) -> None:
    # distinct indices (with duplicates the forward keeps one value, and the gradient is
    # PyTorch's gather for every source, see test_pooling_exact)
    rng = np.random.default_rng(seed)
    rank = 1 + seed % 3
    in_spatial = tuple(int(v) for v in rng.integers(1, 4, rank))
    kernel = tuple(int(v) for v in rng.integers(1, 4, rank))
    out_spatial = tuple((n - 1) * k + k for n, k in zip(in_spatial, kernel, strict=True))
    shape = (2, 2, *in_spatial)
    plane = int(np.prod(out_spatial))
    count = int(np.prod(in_spatial))
    idx = np.stack([rng.permutation(plane)[:count] for _ in range(4)]).reshape(shape)
    y = rng.standard_normal(shape)

    def forward(values: np.ndarray) -> np.ndarray:
        return F.max_unpool(values, idx, kernel)

    _, ctx = F.max_unpool_forward(y, idx, kernel)
    check_vjp(forward, ctx.backward, y, op="max_unpool", arg="y")


def test_gradcheck_reports_a_wrong_backward() -> None:
    # the checker itself must be able to fail, with a message naming op, argument and index
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(AssertionError, match=r"Received derivative 1\.0 for argument 'x' of "
                                             r"square at index \(2,\), but expected 6\.0"):
        check_vjp(np.square, lambda g: g * np.array([2.0, 4.0, 1.0]), x, op="square",
                  grad_y=np.ones(3))
