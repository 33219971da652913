"""Optimisers that update :class:`~cnnblocks.nn.Parameter` values in place from their ``grad``.

Semantics are PyTorch's (``torch.optim.SGD`` with dampening 0, ``torch.optim.Adam`` with L2
weight decay added to the gradient), checked step by step against it in the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from cnnblocks._checks import check_real, fail
from cnnblocks.nn.module import Parameter

__all__ = ["SGD", "Adam", "Optimizer"]


class Optimizer:
    """Base class: holds the parameters; ``zero_grad`` clears their gradients."""

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        name = type(self).__name__
        self.params: list[Parameter] = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise fail(name, f"params[{i}]", "a cnnblocks.nn.Parameter", p)
        self.lr = check_real(lr, func=name, name="lr", low=0.0, low_inclusive=False)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (call before each backward pass)."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter from its gradient."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay.

    .. math::

        g = \\nabla + \\lambda \\theta, \\quad b \\leftarrow \\mu b + g \\;(b_1 = g), \\quad
        \\theta \\leftarrow \\theta - \\eta \\,(g + \\mu b \\text{ if Nesterov else } b)

    Parameters
    ----------
    params : iterable of Parameter
    lr : float > 0
    momentum : float >= 0
    nesterov : bool
        Needs ``momentum > 0``.
    weight_decay : float >= 0
        L2 penalty λ added to the gradient.
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = check_real(momentum, func="SGD", name="momentum", low=0.0)
        self.weight_decay = check_real(weight_decay, func="SGD", name="weight_decay", low=0.0)
        if not isinstance(nesterov, bool):
            raise fail("SGD", "nesterov", "a bool", nesterov)
        if nesterov and self.momentum == 0.0:
            raise fail("SGD", "nesterov", "False when momentum is 0 (Nesterov needs momentum)",
                       nesterov)
        self.nesterov = nesterov
        self._buffers: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        """One update of every parameter."""
        for i, p in enumerate(self.params):
            g = p.grad
            if self.weight_decay:
                g = g + p.value.dtype.type(self.weight_decay) * p.value
            if self.momentum:
                buf = self._buffers[i]
                if buf is None:
                    buf = self._buffers[i] = np.array(g, copy=True)
                else:
                    buf *= p.value.dtype.type(self.momentum)
                    buf += g
                g = g + p.value.dtype.type(self.momentum) * buf if self.nesterov else buf
            p.value -= p.value.dtype.type(self.lr) * g


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction.

    .. math::

        m \\leftarrow \\beta_1 m + (1-\\beta_1) g, \\quad
        v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2, \\quad
        \\theta \\leftarrow \\theta - \\eta \\frac{m / (1-\\beta_1^t)}
        {\\sqrt{v / (1-\\beta_2^t)} + \\epsilon}
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: Sequence[float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, Sequence) or len(betas) != 2:
            raise fail("Adam", "betas", "a pair (beta1, beta2) of reals in [0, 1)", betas)
        b1, b2 = (check_real(b, func="Adam", name="betas", low=0.0) for b in betas)
        if b1 >= 1 or b2 >= 1:
            raise fail("Adam", "betas", "a pair (beta1, beta2) of reals in [0, 1)", betas)
        self.betas = (b1, b2)
        self.eps = check_real(eps, func="Adam", name="eps", low=0.0)
        self.weight_decay = check_real(weight_decay, func="Adam", name="weight_decay", low=0.0)
        self._m = [np.zeros_like(p.value) for p in self.params]
        self._v = [np.zeros_like(p.value) for p in self.params]
        self.t = 0

    def step(self) -> None:
        """One update of every parameter."""
        self.t += 1
        b1, b2 = self.betas
        c1 = 1.0 - b1**self.t
        c2 = 1.0 - b2**self.t
        for p, m, v in zip(self.params, self._m, self._v, strict=True):
            dt = p.value.dtype.type
            g = p.grad
            if self.weight_decay:
                g = g + dt(self.weight_decay) * p.value
            m *= dt(b1)
            m += dt(1.0 - b1) * g
            v *= dt(b2)
            v += dt(1.0 - b2) * (g * g)
            denom = np.sqrt(v) / dt(np.sqrt(c2)) + dt(self.eps)
            p.value -= dt(self.lr / c1) * (m / denom)
