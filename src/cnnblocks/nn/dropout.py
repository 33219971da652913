"""Inverted dropout."""

from __future__ import annotations

import numpy as np

from cnnblocks._checks import check_real, fail
from cnnblocks.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each input with probability ``p`` during training and scale the rest by 1/(1−p).

    ``y = x · m / (1 − p)`` with ``m ~ Bernoulli(1 − p)``, so E[y] = x and evaluation needs no
    rescaling: in eval mode (or with ``p = 0``) the layer is the identity.
    Backward: ``dL/dx = dL/dy · m / (1 − p)``.

    Parameters
    ----------
    p : float in [0, 1)
    rng : numpy.random.Generator, optional
        Source of the masks; ``None`` means ``np.random.default_rng(0)`` (reproducible runs).
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.p = check_real(p, func="Dropout", name="p", low=0.0)
        if self.p >= 1.0:
            raise fail("Dropout", "p", "a real number in [0, 1)", p)
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise fail("Dropout", "rng", "a numpy.random.Generator or None", rng)
        self.rng = np.random.default_rng(0) if rng is None else rng
        self._scale: np.ndarray | float | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply a fresh mask in training mode; identity in eval mode."""
        if not self.training or self.p == 0.0:
            self._scale = 1.0
            return x
        keep = self.rng.random(x.shape) >= self.p
        self._scale = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self._scale

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Multiply by the same mask and scale."""
        scale = self._saved(self._scale)
        return grad_out * scale if isinstance(scale, np.ndarray) else grad_out

    def extra_repr(self) -> str:
        return f"p={self.p}"
