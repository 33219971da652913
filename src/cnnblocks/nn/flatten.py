"""Flatten every axis after the batch axis."""

from __future__ import annotations

import numpy as np

from cnnblocks.nn.module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Reshape ``(N, d_1, ..., d_k) -> (N, d_1 ⋯ d_k)``; backward reshapes the gradient back.

    >>> Flatten()(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """

    def __init__(self) -> None:
        super().__init__()
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Flatten all but the first axis."""
        self._check_input(x, "(N, ...) with at least 1 axis", x.ndim >= 1)
        self._shape = tuple(x.shape)
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Reshape the gradient to the input's shape."""
        return grad_out.reshape(self._saved(self._shape))
