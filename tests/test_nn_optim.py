"""Optimisers against hand computation."""

from __future__ import annotations

import numpy as np

from cnnblocks.nn import Parameter
from cnnblocks.optim import SGD, Adam


def _param(value: list[float]) -> Parameter:
    return Parameter(np.array(value))


def test_sgd_plain_momentum_and_weight_decay_by_hand() -> None:
    p = _param([1.0])
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    p.grad[:] = 2.0
    opt.step()  # g = 2 + 0.5*1 = 2.5; b = 2.5; p = 1 - 0.25 = 0.75
    assert np.isclose(p.value[0], 0.75)
    opt.step()  # g = 2 + 0.375 = 2.375; b = 0.9*2.5 + 2.375 = 4.625; p = 0.75 - 0.4625
    assert np.isclose(p.value[0], 0.2875)


def test_sgd_nesterov_by_hand() -> None:
    p = _param([0.0])
    opt = SGD([p], lr=1.0, momentum=0.5, nesterov=True)
    p.grad[:] = 1.0
    opt.step()  # b = 1; step g + 0.5 b = 1.5
    assert np.isclose(p.value[0], -1.5)
    opt.step()  # b = 0.5 + 1 = 1.5; step 1 + 0.75 = 1.75
    assert np.isclose(p.value[0], -3.25)


def test_adam_first_step_moves_by_lr_times_sign() -> None:
    p = _param([1.0, 1.0, 1.0])
    opt = Adam([p], lr=0.01, eps=0.0)
    p.grad[:] = [3.0, -0.001, 20.0]
    opt.step()  # m̂ = g, v̂ = g²: step = lr · g / |g|
    np.testing.assert_allclose(p.value, [0.99, 1.01, 0.99])


def test_zero_grad_clears_in_place() -> None:
    p = _param([1.0, 2.0])
    ref = p.grad
    p.grad += 3
    SGD([p], lr=0.1).zero_grad()
    assert ref is p.grad
    assert not p.grad.any()
