"""LeNet training speed: cnnblocks against the same architecture in PyTorch (CPU), same threads.

Usage::

    python -m benchmarks.bench_training                 # 1 and 2 threads
    python -m benchmarks.bench_training --threads 2 --rounds 5

Workloads:

1. one training epoch of LeNet (relu, max pooling) on the 8×8 digits: 1,347 images in batches
   of 32, forward, cross-entropy, backward, SGD step with momentum;
2. one forward + backward of a batch of 64 MNIST-sized (1, 28, 28) images through LeNet for
   28×28 (the classic 16·5·5 = 400 features before the first fully connected layer).

Timing as in :mod:`benchmarks.run` (``median_times``): each implementation runs in blocks of
back-to-back calls, blocks in rotating order, after an untimed warm-up call; the median is
reported with the ratio cnnblocks / PyTorch (below 1: cnnblocks faster).
Thread counts: ``torch.set_num_threads`` for PyTorch; the BLAS thread limit (threadpoolctl) and
``cnnblocks.set_num_threads`` (the compiled kernels) for cnnblocks. Products below ≈ 4 M
multiply-adds run on one BLAS thread either way (``cnnblocks.nn._blas``).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

import numpy as np

import cnnblocks
from benchmarks.run import median_times
from cnnblocks.data import Dataset, load_digits, standardize
from cnnblocks.losses import CrossEntropyLoss
from cnnblocks.models import lenet
from cnnblocks.nn import Sequential
from cnnblocks.optim import SGD
from cnnblocks.training import fit


def _torch_lenet(torch: Any, input_size: int) -> Any:
    nn = torch.nn
    pad2 = 2 if input_size < 16 else 0
    side = (input_size // 2 + 2 * pad2 - 4) // 2
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, padding=pad2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * side * side, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def _torch_epoch(torch: Any, model: Any, opt: Any, x: Any, y: Any, batch: int,
                 order: np.ndarray) -> None:
    f = torch.nn.functional
    for start in range(0, len(order), batch):
        idx = torch.from_numpy(order[start:start + batch])
        opt.zero_grad()
        f.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()


def _ours_step(model: Sequential, x: np.ndarray, y: np.ndarray) -> None:
    crit = CrossEntropyLoss()
    crit(model(x), y)
    model.zero_grad()
    # Like PyTorch for an input that does not require grad: no gradient for the images.
    model.backward_parameters(crit.backward())


def run(threads: int, rounds: int) -> list[tuple[str, float, float]]:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    cnnblocks.set_num_threads(threads)  # the compiled pooling/activation kernels
    rows = []
    with threadpool_limits(limits=threads, user_api="blas"):
        # 1. an epoch on the digits
        split = standardize(load_digits(seed=0))
        train: Dataset = split.train
        ours = lenet("relu", "max", rng=np.random.default_rng(0))
        ours_opt = SGD(ours.parameters(), lr=0.05, momentum=0.9)
        torch.manual_seed(0)
        theirs = _torch_lenet(torch, 8)
        theirs_opt = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9)
        tx, ty = torch.from_numpy(train.x), torch.from_numpy(train.y)
        order = np.random.default_rng(0).permutation(len(train))
        times = median_times(
            {
                "ours": lambda: fit(ours, train, 1, ours_opt, 32, 0, progress=False),
                "torch": lambda: _torch_epoch(torch, theirs, theirs_opt, tx, ty, 32, order),
            },
            rounds,
        )
        rows.append(("LeNet epoch, digits 8x8 (1347 imgs, batch 32)", 1e3 * times["ours"],
                     1e3 * times["torch"]))

        # 2. forward + backward of 64 MNIST-sized images
        g = np.random.default_rng(1)
        x = g.random((64, 1, 28, 28), dtype=np.float32)
        y = g.integers(0, 10, 64)
        ours28 = lenet("relu", "max", input_size=28, rng=np.random.default_rng(0))
        theirs28 = _torch_lenet(torch, 28)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def torch_step() -> None:
            theirs28.zero_grad()
            torch.nn.functional.cross_entropy(theirs28(xt), yt).backward()

        times = median_times(
            {"ours": lambda: _ours_step(ours28, x, y), "torch": torch_step}, 10 * rounds
        )
        rows.append(("LeNet fwd+bwd, batch 64 x (1, 28, 28)", 1e3 * times["ours"],
                     1e3 * times["torch"]))
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print a table of median times and ratios for each thread count."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{'workload':<50} {'threads':>7} {'cnnblocks ms':>13} {'PyTorch ms':>11} "
          f"{'ratio':>6}")
    for threads in args.threads:
        for name, ours, theirs in run(threads, args.rounds):
            print(f"{name:<50} {threads:>7} {ours:>13.2f} {theirs:>11.2f} {ours / theirs:>6.2f}")


if __name__ == "__main__":
    main()
