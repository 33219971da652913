"""Measurements behind sections 3 and 4: translation invariance, and what pooling saves.

Both are plain functions of arrays and sizes so they can be tested on their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnblocks.functional.pooling import avg_pool, max_pool

__all__ = [
    "FcCost",
    "ShiftResult",
    "conv_relu",
    "fc_cost",
    "lenet_flat_features",
    "shift_on_canvas",
    "time_fc_forward",
    "translation_invariance",
]


def shift_on_canvas(images: np.ndarray, border: int, dy: int, dx: int) -> np.ndarray:
    """Place (N, H, W) images on a zero canvas with ``border`` cells each side, moved by (dy, dx).

    The canvas keeps every pixel of a shifted image (|dy|, |dx| <= border), so a shift moves the
    content without cropping it.
    """
    n, h, w = images.shape
    canvas = np.zeros((n, h + 2 * border, w + 2 * border), dtype=images.dtype)
    canvas[:, border + dy : border + dy + h, border + dx : border + dx + w] = images
    return canvas


def conv_relu(images: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """ReLU of the 'valid' cross-correlation of (N, H, W) images with (F, k, k) filters.

    Returns shape (N, F, H - k + 1, W - k + 1).
    """
    k = filters.shape[-1]
    windows = sliding_window_view(images, (k, k), axis=(1, 2))  # (N, H', W', k, k)
    out: np.ndarray = np.maximum(np.einsum("nhwij,fij->nfhw", windows, filters), 0.0)
    return out


@dataclass(frozen=True, slots=True)
class ShiftResult:
    """How much a feature map changed when the input moved by ``shift`` pixels.

    ``unchanged``: fraction of the active outputs (non-zero before or after the shift) that kept
    their value; ``relative_change``: sum |after - before| / sum |before| over all outputs.
    Averaged over a shift to the right and a shift down.
    """

    shift: int
    stage: str  # "conv", "conv + max pool 2x2", "conv + avg pool 2x2"
    unchanged: float
    relative_change: float


def _compare(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    scale = float(np.abs(before).max()) or 1.0
    same = np.abs(after - before) <= 1e-9 * scale
    active = (before > 0) | (after > 0)
    unchanged = float(same[active].mean()) if active.any() else 1.0
    relative = float(np.abs(after - before).sum() / max(np.abs(before).sum(), 1e-300))
    return unchanged, relative


def translation_invariance(
    images: np.ndarray, filters: np.ndarray, shifts: tuple[int, ...] = (1, 2)
) -> list[ShiftResult]:
    """Shift digits by each of ``shifts`` pixels; measure the conv map with and without pooling.

    Parameters
    ----------
    images : ndarray, shape (N, H, W)
    filters : ndarray, shape (F, k, k)
    shifts : tuple of int
        Shift sizes in pixels; each is applied to the right and down, and the two averaged.
    """
    border = max(shifts)
    base = conv_relu(shift_on_canvas(images, border, 0, 0), filters)
    stages: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "conv": lambda f: f,
        "conv + max pool 2x2": lambda f: np.asarray(max_pool(f, 2)),
        "conv + avg pool 2x2": lambda f: np.asarray(avg_pool(f, 2)),
    }
    base_out = {name: fn(base) for name, fn in stages.items()}
    results = []
    for shift in shifts:
        moved = [
            conv_relu(shift_on_canvas(images, border, 0, shift), filters),
            conv_relu(shift_on_canvas(images, border, shift, 0), filters),
        ]
        for name, fn in stages.items():
            pairs = [_compare(base_out[name], fn(m)) for m in moved]
            results.append(
                ShiftResult(
                    shift,
                    name,
                    float(np.mean([p[0] for p in pairs])),
                    float(np.mean([p[1] for p in pairs])),
                )
            )
    return results


def lenet_flat_features(input_size: int, pooled: bool) -> int:
    """Inputs of LeNet's first fully connected layer, with or without its two 2x2 pools.

    LeNet: conv 6@5x5 'same' (pad 2) -> [pool 2x2] -> conv 16@5x5 (pad 2 on 8x8 inputs, none on
    28x28) -> [pool 2x2] -> flatten -> fc 120.
    """
    size = input_size  # conv1 keeps the size (pad 2)
    if pooled:
        size //= 2
    pad2 = 2 if input_size < 28 else 0
    size = size + 2 * pad2 - 5 + 1
    if pooled:
        size //= 2
    return 16 * size * size


@dataclass(frozen=True, slots=True)
class FcCost:
    """Size and work of a fully connected layer ``in_features -> out_features``."""

    in_features: int
    out_features: int

    @property
    def parameters(self) -> int:
        """Weights plus biases."""
        return self.in_features * self.out_features + self.out_features

    @property
    def multiplies(self) -> int:
        """Multiplications per input example."""
        return self.in_features * self.out_features

    @property
    def bytes_float32(self) -> int:
        """Memory of the parameters in float32."""
        return 4 * self.parameters


def fc_cost(input_size: int, pooled: bool, out_features: int = 120) -> FcCost:
    """The cost of LeNet's first fully connected layer."""
    return FcCost(lenet_flat_features(input_size, pooled), out_features)


def time_fc_forward(cost: FcCost, batch: int, repeats: int, seed: int = 0) -> float:
    """Best-of-``repeats`` seconds of one float32 forward pass ``x @ W.T + b`` for a batch.

    The minimum, after one warm-up call, is the time the work itself takes; slower repeats are
    the machine's other load (timeit's rule).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, cost.in_features), dtype=np.float32)
    w = rng.standard_normal((cost.out_features, cost.in_features), dtype=np.float32)
    b = rng.standard_normal(cost.out_features, dtype=np.float32)
    y = x @ w.T  # warm-up: BLAS threads and caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        y = x @ w.T
        y += b
        times.append(time.perf_counter() - t0)
    return float(min(times))
