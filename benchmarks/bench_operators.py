"""Every operator outside the speed issue's workloads, cnnblocks against PyTorch (CPU).

Usage::

    python -m benchmarks.bench_operators               # 1 and 2 threads, writes OPERATORS.md
    python -m benchmarks.bench_operators --only gelu --threads 1
    python -m benchmarks.bench_operators --tiny --rounds 1 --out /tmp/o.md   # smoke run

:mod:`benchmarks.run` times the issue's workloads (max and average pooling, global average,
sigmoid and relu). This script covers the rest of ``cnnblocks.functional``: the other
activations on 6.4 M float32 values, adaptive pooling with bins of unequal size, Lp pooling,
max unpooling and max pooling with indices at stride 4. Each runs forward and forward + backward
(the training path) for cnnblocks (NCHW and NHWC where there is a layout) and PyTorch (NCHW and
channels_last), timed as :func:`benchmarks.run.median_times` times them: blocks of back-to-back
calls in rotating order. The ratio is cnnblocks's default layout over PyTorch's faster one.
"""

from __future__ import annotations

import os

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import cnnblocks
from benchmarks.run import median_times
from cnnblocks import functional as F

OPERATORS = Path(__file__).with_name("OPERATORS.md")


@dataclass(frozen=True)
class Case:
    """One operator: how cnnblocks and PyTorch run it forward and for training."""

    key: str
    title: str
    ours: Callable[..., Any]  # (x, training[, data_format]) -> result
    theirs: Callable[[Any, Any, bool], Any] | None  # (torch, x, training)
    shape: tuple[int, ...]
    layouts: bool = True  # whether NHWC / channels_last columns apply


def _train(forward: Callable[[np.ndarray], tuple[np.ndarray, Any]], x: np.ndarray) -> Any:
    y, ctx = forward(x)
    return ctx.backward(np.ones_like(y))


def _torch_train(torch: Any, f: Callable[[Any], Any], x: Any) -> Any:
    leaf = x.detach().requires_grad_()
    y = f(leaf)
    y.backward(torch.ones_like(y))
    return leaf.grad


def _activation(name: str, key: str | None = None, **kwargs: Any) -> Case:
    """An elementwise activation; PyTorch's function of the same name and arguments."""
    forward = getattr(F, f"{name}_forward")
    value = getattr(F, name)
    torch_name = {"thresholded_relu": "threshold"}.get(name, name)

    def ours(x: np.ndarray, training: bool) -> Any:
        if training:
            return _train(lambda a: forward(a, **kwargs), x)
        return value(x, **kwargs)

    def theirs(torch: Any, x: Any, training: bool) -> Any:
        f = getattr(torch.nn.functional, torch_name)
        if name == "thresholded_relu":
            def call(a: Any) -> Any:
                return f(a, kwargs.get("theta", 1.0), 0.0)
        elif name == "gelu":
            def call(a: Any) -> Any:
                return f(a, approximate=kwargs.get("approximate", "none"))
        else:
            def call(a: Any) -> Any:
                return f(a, **kwargs)
        return _torch_train(torch, call, x) if training else call(x)

    title = name + "".join(f" {k}={v}" for k, v in kwargs.items())
    return Case(key or name, title, ours, theirs, (6_400_000,), layouts=False)


def cases(size: str) -> list[Case]:
    """The operators, at full size or (``tiny``) on small arrays for the smoke run."""
    def shape(*full: int) -> tuple[int, ...]:
        if size == "tiny":
            return tuple(max(1, v // 16) if i < 2 else max(3, v // 8) for i, v in enumerate(full))
        return full

    activations = [
        _activation("tanh"), _activation("leaky_relu"), _activation("elu"), _activation("selu"),
        _activation("celu"), _activation("softplus"), _activation("silu"), _activation("mish"),
        _activation("gelu"), _activation("gelu", "gelu-tanh", approximate="tanh"),
        _activation("hardsigmoid"), _activation("hardswish"), _activation("relu6"),
        _activation("softsign"), _activation("thresholded_relu"),
    ]
    if size == "tiny":
        activations = [
            Case(a.key, a.title, a.ours, a.theirs, (1000,), layouts=False) for a in activations
        ]

    def prelu_ours(x: np.ndarray, training: bool) -> Any:
        w = np.full(x.shape[1], 0.25, x.dtype)
        if training:
            y, ctx = F.prelu_forward(x, w)
            return ctx.backward(np.ones_like(y))
        return F.prelu(x, w)

    def prelu_theirs(torch: Any, x: Any, training: bool) -> Any:
        w = torch.full((x.shape[1],), 0.25)
        if training:
            return _torch_train(torch, lambda a: torch.nn.functional.prelu(a, w), x)
        return torch.nn.functional.prelu(x, w)

    pooling = [
        Case("adaptive-avg", "adaptive avg 13×13 → 6×6 (unequal bins)",
             _pool(F.adaptive_avg_pool, F.adaptive_avg_pool_forward, (6, 6)),
             _torch_pool("adaptive_avg_pool2d", (6, 6)), shape(32, 256, 13, 13)),
        Case("adaptive-max", "adaptive max 13×13 → 6×6 (unequal bins)",
             _pool(F.adaptive_max_pool, F.adaptive_max_pool_forward, (6, 6)),
             _torch_pool("adaptive_max_pool2d", (6, 6)), shape(32, 256, 13, 13)),
        Case("lp2", "Lp pooling p=2 3×3/2",
             _pool(F.lp_pool, F.lp_pool_forward, 2, 3, 2),
             _torch_pool("lp_pool2d", 2, 3, 2), shape(16, 64, 56, 56)),
        Case("max-4x4", "max 4×4/4 with indices (training path)",
             _pool(F.max_pool, F.max_pool_forward, 4, 4),
             _torch_pool("max_pool2d", 4, 4), shape(16, 64, 56, 56)),
        Case("unpool", "max_unpool 2×2/2 (from 28×28 to 56×56)", _unpool_ours, _unpool_theirs,
             shape(16, 64, 56, 56)),
        Case("prelu", "prelu (a weight per channel)", prelu_ours, prelu_theirs,
             shape(32, 64, 56, 56), layouts=False),
    ]
    return activations + pooling


def _pool(value: Callable[..., Any], forward: Callable[..., Any], *args: Any
          ) -> Callable[..., Any]:
    def run(x: np.ndarray, training: bool, data_format: str = "NCHW") -> Any:
        if training:
            return _train(lambda a: forward(a, *args, data_format=data_format), x)
        return value(x, *args, data_format=data_format)
    return run


def _torch_pool(name: str, *args: Any) -> Callable[[Any, Any, bool], Any]:
    def run(torch: Any, x: Any, training: bool) -> Any:
        f = getattr(torch.nn.functional, name)
        return _torch_train(torch, lambda a: f(a, *args), x) if training else f(x, *args)
    return run


def _unpool_ours(x: np.ndarray, training: bool, data_format: str = "NCHW") -> Any:
    # x has the unpooled size: it is max-pooled once, in the first (untimed) call, and the
    # pooled values and indices are reused, as on PyTorch's side
    y, idx = _pooled(x, data_format)
    size = x.shape[1:-1] if data_format == "NHWC" else x.shape[2:]
    if training:
        out, ctx = F.max_unpool_forward(y, idx, 2, output_size=size, data_format=data_format)
        return ctx.backward(np.ones_like(out))
    return F.max_unpool(y, idx, 2, output_size=size, data_format=data_format)


_POOLED: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}


def _pooled(x: np.ndarray, data_format: str) -> tuple[np.ndarray, np.ndarray]:
    key = (id(x), data_format)
    if key not in _POOLED:
        y, idx = F.max_pool(x, 2, 2, return_indices=True, data_format=data_format)
        _POOLED[key] = (y, idx)
    return _POOLED[key]


_TORCH_POOLED: dict[int, tuple[Any, Any]] = {}


def _unpool_theirs(torch: Any, x: Any, training: bool) -> Any:
    key = id(x)
    if key not in _TORCH_POOLED:
        _TORCH_POOLED[key] = torch.nn.functional.max_pool2d(x, 2, 2, return_indices=True)
    y, idx = _TORCH_POOLED[key]
    size = tuple(x.shape[2:])

    def unpool(a: Any) -> Any:
        return torch.nn.functional.max_unpool2d(a, idx, 2, output_size=size)

    return _torch_train(torch, unpool, y) if training else unpool(y)


@dataclass
class Row:
    case: Case
    training: bool
    threads: int
    ms: dict[str, float]

    @property
    def ratio(self) -> float | None:
        """cnnblocks's default layout over PyTorch's faster layout."""
        theirs = [v for k, v in self.ms.items() if k.startswith("torch")]
        return self.ms["cnnblocks"] / min(theirs) if theirs else None

    @property
    def same_layout_ratio(self) -> float | None:
        """cnnblocks NHWC over PyTorch channels_last: the two channels-last kernels."""
        if "cnnblocks NHWC" not in self.ms or "torch channels_last" not in self.ms:
            return None
        return self.ms["cnnblocks NHWC"] / self.ms["torch channels_last"]


def _calls(case: Case, training: bool, x: np.ndarray, x_last: np.ndarray | None,
           torch: Any) -> dict[str, Callable[[], Any]]:
    """The timed calls of one operator and pass, by column."""
    calls: dict[str, Callable[[], Any]] = {"cnnblocks": lambda: case.ours(x, training)}
    if x_last is not None:
        calls["cnnblocks NHWC"] = lambda: case.ours(x_last, training, data_format="NHWC")
    theirs = case.theirs
    if torch is not None and theirs is not None:
        xt = torch.from_numpy(x)
        calls["torch NCHW"] = lambda: theirs(torch, xt, training)
        if case.layouts:
            xl = xt.contiguous(memory_format=torch.channels_last)
            calls["torch channels_last"] = lambda: theirs(torch, xl, training)
    return calls


def run_case(torch: Any, case: Case, threads: int, rounds: int, quick: bool) -> list[Row]:
    """Forward and training rows of one operator at one thread count."""
    x = np.random.default_rng(0).standard_normal(case.shape, dtype=np.float32)
    x_last = np.ascontiguousarray(np.moveaxis(x, 1, -1)) if case.layouts else None
    cnnblocks.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    rows = []
    for training in (False, True):
        calls = _calls(case, training, x, x_last, torch)
        seconds = median_times(calls, rounds, *((0.0, 0.0) if quick else ()))
        rows.append(Row(case, training, threads, {k: 1e3 * v for k, v in seconds.items()}))
    return rows


COLUMNS = ("cnnblocks", "cnnblocks NHWC", "torch NCHW", "torch channels_last")


def _line(row: Row) -> list[str]:
    cells = [f"{row.ms[c]:.2f}" if c in row.ms else "—" for c in COLUMNS]
    ratios = [
        "—" if r is None else f"{r:.2f}" for r in (row.ratio, row.same_layout_ratio)
    ]
    return [row.case.title, "fwd+bwd" if row.training else "fwd", str(row.threads), *cells,
            *ratios]


def write_markdown(path: Path, rows: list[Row], command: str) -> None:
    head = ["operator", "pass", "thr", "cnnblocks ms", "cnnblocks NHWC ms", "torch NCHW ms",
            "torch CL ms", "ratio", "NHWC / CL"]
    lines = [
        "# Other operators: cnnblocks against PyTorch",
        "",
        f"Written by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. float32; "
        "activations on 6.4 M values; median of blocks of back-to-back calls in rotating order "
        "(as in RESULTS.md); ratio = cnnblocks's default layout (NCHW) over PyTorch's faster "
        "layout; NHWC / CL = cnnblocks NHWC over PyTorch channels_last (the same layout). "
        "Below 1: cnnblocks is faster.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    lines += ["| " + " | ".join(_line(r)) + " |" for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--only", default="", help="run the operators whose key contains this")
    parser.add_argument("--tiny", action="store_true", help="small arrays (smoke run)")
    parser.add_argument("--no-torch", action="store_true", help="time cnnblocks only")
    parser.add_argument("--out", type=Path, default=OPERATORS)
    args = parser.parse_args(argv)
    torch: Any = None
    if not args.no_torch:
        import torch
    chosen = [c for c in cases("tiny" if args.tiny else "full") if args.only in c.key]
    rows: list[Row] = []
    for threads in args.threads:
        for case in chosen:
            for row in run_case(torch, case, threads, args.rounds, args.tiny):
                rows.append(row)
                print(" | ".join(_line(row)), flush=True)
    command = "python -m benchmarks.bench_operators " + " ".join(argv or [])
    write_markdown(args.out, rows, command.strip())
    return rows


if __name__ == "__main__":
    main()
