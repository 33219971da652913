"""Batch normalisation over the batch (and spatial) axes, per channel.

.. math::

    \\hat x = \\frac{x - \\mu_B}{\\sqrt{\\sigma_B^2 + \\epsilon}}, \\qquad
    y = \\gamma \\hat x + \\beta

with μ_B, σ²_B the mean and biased variance over N (BatchNorm1d) or N, H, W (BatchNorm2d) in
training; running estimates ``r ← (1 − momentum) r + momentum · stat`` (the running variance uses
the unbiased batch variance, as PyTorch) replace them in eval mode.

Backward in training mode (m values per channel):

.. math::

    \\frac{\\partial L}{\\partial x} = \\frac{\\gamma}{m \\sqrt{\\sigma_B^2+\\epsilon}}
    \\Big(m\\, g - \\sum g - \\hat x \\sum g \\hat x\\Big), \\quad g = \\partial L/\\partial y

and in eval mode it is the constant scale ``γ / √(r_var + ε)``.
Normalising keeps each layer's input in the steep part of σ, which is why it is a remedy for
vanishing gradients.
"""

from __future__ import annotations

import numpy as np

from cnnblocks._checks import as_int_tuple, check_real
from cnnblocks.errors import ParameterError
from cnnblocks.nn.module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    _ndim = 2

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
        *, dtype: type[np.floating] = np.float32,
    ) -> None:
        super().__init__()
        func = type(self).__name__
        self.num_features = as_int_tuple(num_features, 1, func=func, name="num_features")[0]
        self.eps = check_real(eps, func=func, name="eps", low=0.0, low_inclusive=False)
        self.momentum = check_real(momentum, func=func, name="momentum", low=0.0, high=1.0)
        self.weight = Parameter(np.ones(self.num_features, dtype=dtype), "weight")
        self.bias = Parameter(np.zeros(self.num_features, dtype=dtype), "bias")
        self.running_mean = np.zeros(self.num_features, dtype=dtype)
        self.running_var = np.ones(self.num_features, dtype=dtype)
        self._cache: tuple[np.ndarray, np.ndarray, bool] | None = None

    def _own_buffers(self) -> dict[str, np.ndarray]:
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def _axes(self) -> tuple[int, ...]:
        return (0,) if self._ndim == 2 else (0, 2, 3)

    def _bshape(self) -> tuple[int, ...]:
        return (1, -1) if self._ndim == 2 else (1, -1, 1, 1)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Normalise per channel with batch (training) or running (eval) statistics."""
        expected = "(N, {c})" if self._ndim == 2 else "(N, {c}, H, W)"
        self._check_input(
            x, expected.format(c=self.num_features),
            x.ndim == self._ndim and x.shape[1] == self.num_features,
        )
        axes, bshape = self._axes(), self._bshape()
        if self.training:
            m = x.size // self.num_features
            if m < 2:
                raise ParameterError(
                    f"{self.label} needs more than 1 value per channel in training mode to "
                    f"estimate a variance; got an input of shape {tuple(x.shape)}."
                )
            mean = x.mean(axis=axes)
            centered = x - mean.reshape(bshape)
            var = (centered * centered).mean(axis=axes)
            mo = self.momentum
            self.running_mean *= 1 - mo
            self.running_mean += (mo * mean).astype(self.running_mean.dtype)
            self.running_var *= 1 - mo
            self.running_var += (mo * var * m / (m - 1)).astype(self.running_var.dtype)
        else:
            mean, var = self.running_mean, self.running_var
            centered = x - mean.reshape(bshape).astype(x.dtype)
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        x_hat = centered * inv_std.reshape(bshape)
        self._cache = (x_hat, inv_std, self.training)
        w = self.weight.value.astype(x.dtype, copy=False).reshape(bshape)
        b = self.bias.value.astype(x.dtype, copy=False).reshape(bshape)
        y: np.ndarray = x_hat * w + b
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return dL/dx; add dL/dγ = Σ g x̂ and dL/dβ = Σ g into the parameters."""
        x_hat, inv_std, training = self._saved(self._cache)
        axes, bshape = self._axes(), self._bshape()
        sum_g = grad_out.sum(axis=axes)
        sum_gx = (grad_out * x_hat).sum(axis=axes)
        self.weight.grad += sum_gx.astype(self.weight.grad.dtype, copy=False)
        self.bias.grad += sum_g.astype(self.bias.grad.dtype, copy=False)
        scale = (self.weight.value.astype(grad_out.dtype) * inv_std).reshape(bshape)
        if not training:
            grad_eval: np.ndarray = grad_out * scale
            return grad_eval
        m = grad_out.size // self.num_features
        grad_x: np.ndarray = scale * (
            grad_out - (sum_g / m).reshape(bshape) - x_hat * (sum_gx / m).reshape(bshape)
        )
        return grad_x

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` features, one (γ, β) per feature (see module docstring)."""

    _ndim = 2


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` maps, one (γ, β) per channel over N, H, W."""

    _ndim = 4
