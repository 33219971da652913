"""The real data of the report: scikit-learn's 8x8 handwritten digits (bundled, no download)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["digit_images"]


@lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64) / 16.0  # pixel values 0..16 -> [0, 1]
    labels = np.asarray(bunch.target, dtype=np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits as ``(images (N, 8, 8) float64 in [0, 1], labels (N,) int64)``, read-only."""
    return _load()
