"""Issue 3's memory rule: no extra full-size temporaries.

The peak of NumPy allocations during a call (NumPy reports its buffers to :mod:`tracemalloc`) may
exceed what the call returns only by small per-call tables: at most the output (plus the int64
indices on the training path) and ``SLACK`` bytes. The input is 1 MiB, so a single full-size
temporary (a padded copy, an ``np.abs(x)``, a float64 upcast) would break the bound several times
over. The kernels' per-thread scratch (a padded row or a plane, allocated by numba and counted
by tracemalloc too) fits in the slack.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from cnnblocks import functional as F

SLACK = 64 * 1024  # geometry tables and small views; far below the 1 MiB input
SHAPE = (4, 16, 64, 64)  # 1 MiB of float32


def _peak_extra(call: Callable[[], Any]) -> tuple[int, int]:
    """(peak bytes allocated during ``call`` beyond the start, bytes of what it returned)."""
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
    for a in arrays:  # a Context keeps the indices (Lp pooling: the float64 norms) it saved
        saved = getattr(a, "saved", None)
        if saved is not None and "indices" in saved:
            returned += saved["indices"].nbytes
        if saved is not None and "y64" in saved:
            returned += saved["y64"].nbytes
    return peak - start, returned


def _inputs(data_format: str) -> np.ndarray:
    x = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if data_format == "NHWC" else x


@pytest.mark.parametrize("data_format", ["NCHW", "NHWC"])
@pytest.mark.parametrize(
    "op",
    ["max", "max_forward", "max_backward", "avg", "avg_backward", "global_avg",
     "global_avg_backward"],
)
def test_pooling_allocates_no_full_size_temporary(op: str, data_format: str) -> None:
    x = _inputs(data_format)
    kw: dict[str, Any] = {"stride": 2, "padding": 1, "data_format": data_format}
    calls: dict[str, Callable[[], Any]] = {
        "max": lambda: F.max_pool(x, 3, **kw),
        "max_forward": lambda: F.max_pool_forward(x, 3, **kw),
        "avg": lambda: F.avg_pool(x, 3, **kw),
        "global_avg": lambda: F.global_avg_pool(x, data_format=data_format),
    }
    if op == "max_backward":
        y, ctx = F.max_pool_forward(x, 3, **kw)
        g = np.ones_like(y)
        calls[op] = lambda: F.max_pool_backward(g, ctx)
    elif op == "avg_backward":
        y, ctx = F.avg_pool_forward(x, 3, **kw)
        g = np.ones_like(y)
        calls[op] = lambda: F.avg_pool_backward(g, ctx)
    elif op == "global_avg_backward":
        y, ctx = F.global_avg_pool_forward(x, data_format=data_format)
        g = np.ones_like(y)
        calls[op] = lambda: F.global_avg_pool_backward(g, ctx)
    extra, returned = _peak_extra(calls[op])
    assert returned > 0
    assert extra <= returned + SLACK, (op, data_format, extra, returned)


@pytest.mark.parametrize(
    "name",
    ["relu", "sigmoid", "relu6", "hardsigmoid", "softsign", "elu", "selu", "celu", "softplus",
     "silu", "mish", "tanh", "gelu", "gelu_tanh"],
)
def test_activations_allocate_only_their_output(name: str) -> None:
    x = _inputs("NCHW")
    kw: dict[str, Any] = {"approximate": "tanh"} if name == "gelu_tanh" else {}
    name = name.removesuffix("_tanh")
    forward = getattr(F, f"{name}_forward")
    backward = getattr(F, f"{name}_backward")
    grad = getattr(F, f"{name}_grad")
    y, ctx = forward(x, **kw)
    g = np.ones_like(y)
    for call in (lambda: getattr(F, name)(x, **kw), lambda: forward(x, **kw),
                 lambda: backward(g, ctx), lambda: grad(x, **kw)):
        extra, returned = _peak_extra(call)
        assert extra <= returned + SLACK, (name, extra, returned)


def test_prelu_allocates_only_its_outputs() -> None:
    x = _inputs("NCHW")
    w = np.linspace(0.1, 0.4, SHAPE[1]).astype(np.float32)
    y, ctx = F.prelu_forward(x, w)
    g = np.ones_like(y)
    # the backward's weight-gradient partial sums (a few float64 per channel) fit in the slack
    for call in (lambda: F.prelu(x, w), lambda: F.prelu_forward(x, w),
                 lambda: F.prelu_backward(g, ctx)):
        extra, returned = _peak_extra(call)
        assert extra <= returned + SLACK, ("prelu", extra, returned)


@pytest.mark.parametrize("data_format", ["NCHW", "NHWC"])
@pytest.mark.parametrize(
    "op",
    ["adaptive_max_forward", "adaptive_max_backward", "adaptive_avg", "adaptive_avg_backward",
     "lp_forward", "lp_backward", "unpool", "unpool_backward"],
)
def test_other_pooling_allocates_no_full_size_temporary(op: str, data_format: str) -> None:
    """Adaptive pooling with unequal bins (64 -> 10), Lp pooling (p = 2) and max unpooling."""
    x = _inputs(data_format)
    fmt = {"data_format": data_format}
    pooled, idx = F.max_pool(x, 2, return_indices=True, **fmt)
    calls: dict[str, Callable[[], Any]] = {
        "adaptive_max_forward": lambda: F.adaptive_max_pool_forward(x, 10, **fmt),
        "adaptive_avg": lambda: F.adaptive_avg_pool(x, 10, **fmt),
        "lp_forward": lambda: F.lp_pool_forward(x, 2, 3, 2, **fmt),
        "unpool": lambda: F.max_unpool(pooled, idx, 2, **fmt),
    }
    backward = {
        "adaptive_max_backward": (lambda: F.adaptive_max_pool_forward(x, 10, **fmt),
                                  F.adaptive_max_pool_backward),
        "adaptive_avg_backward": (lambda: F.adaptive_avg_pool_forward(x, 10, **fmt),
                                  F.adaptive_avg_pool_backward),
        "lp_backward": (lambda: F.lp_pool_forward(x, 2, 3, 2, **fmt), F.lp_pool_backward),
        "unpool_backward": (lambda: F.max_unpool_forward(pooled, idx, 2, **fmt),
                            F.max_unpool_backward),
    }
    if op in backward:
        forward, grad = backward[op]
        y, ctx = forward()
        g = np.ones_like(y)
        calls[op] = lambda: grad(g, ctx)
    extra, returned = _peak_extra(calls[op])
    assert returned > 0
    assert extra <= returned + SLACK, (op, data_format, extra, returned)
