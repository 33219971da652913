"""Fully connected layer ``y = x Wᵀ + b``."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks._checks import as_int_tuple, fail
from cnnblocks.init import get_initializer
from cnnblocks.nn._blas import small_gemm
from cnnblocks.nn.module import Module, Parameter

__all__ = ["Linear"]


class Linear(Module):
    """Affine map ``y = x Wᵀ + b`` with W of shape ``(out_features, in_features)`` (PyTorch's).

    Backward: ``dL/dx = dL/dy · W``, ``dL/dW = (dL/dy)ᵀ x``, ``dL/db = Σ_n dL/dy``.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
    rng : numpy.random.Generator, optional
        ``None`` means ``np.random.default_rng(0)``.
    init : str or callable
        Weight initialiser; default ``"pytorch"`` = U(±1/√in_features). The bias starts as
        U(±1/√in_features), like PyTorch's.
    dtype : numpy dtype

    Shape
    -----
    ``(N, in_features) -> (N, out_features)``.

    Examples
    --------
    >>> layer = Linear(2, 1, init=lambda shape, rng: np.ones(shape), dtype=np.float64)
    >>> layer.bias.value[:] = 0.5
    >>> layer(np.array([[1.0, 2.0]])).tolist()
    [[3.5]]
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
        init: Any = "pytorch",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.in_features = as_int_tuple(in_features, 1, func="Linear", name="in_features")[0]
        self.out_features = as_int_tuple(out_features, 1, func="Linear", name="out_features")[0]
        if not isinstance(bias, bool):
            raise fail("Linear", "bias", "a bool", bias)
        rng = np.random.default_rng(0) if rng is None else rng
        shape = (self.out_features, self.in_features)
        self.weight = Parameter(get_initializer(init)(shape, rng).astype(dtype), "weight")
        self.bias: Parameter | None = None
        if bias:
            bound = 1.0 / np.sqrt(self.in_features)
            self.bias = Parameter(rng.uniform(-bound, bound, self.out_features).astype(dtype),
                                  "bias")
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the affine map to a batch ``(N, in_features)``."""
        self._check_input(
            x, f"(N, {self.in_features})", x.ndim == 2 and x.shape[1] == self.in_features
        )
        self._x = x
        with small_gemm(x.shape[0] * self.in_features * self.out_features):
            y: np.ndarray = x @ self.weight.value.T
        if self.bias is not None:
            y += self.bias.value
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return dL/dx; add dL/dW and dL/db into the parameters' ``grad``."""
        x = self._saved(self._x)
        with small_gemm(x.shape[0] * self.in_features * self.out_features):
            self.weight.grad += (grad_out.T @ x).astype(self.weight.grad.dtype, copy=False)
            grad_x: np.ndarray = (grad_out @ self.weight.value).astype(x.dtype, copy=False)
        if self.bias is not None:
            self.bias.grad += grad_out.sum(axis=0).astype(self.bias.grad.dtype, copy=False)
        return grad_x

    def backward_parameters(self, grad_out: np.ndarray) -> None:
        """Accumulate dL/dW and dL/db only (no dL/dx)."""
        x = self._saved(self._x)
        with small_gemm(x.shape[0] * self.in_features * self.out_features):
            self.weight.grad += (grad_out.T @ x).astype(self.weight.grad.dtype, copy=False)
        if self.bias is not None:
            self.bias.grad += grad_out.sum(axis=0).astype(self.bias.grad.dtype, copy=False)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
