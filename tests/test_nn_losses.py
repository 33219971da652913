"""Losses against hand computation, finite differences, and extreme inputs."""

from __future__ import annotations

import math

import numpy as np

from cnnblocks.losses import CrossEntropyLoss, MSELoss, cross_entropy_forward, mse_forward
from gradcheck import check_vjp


def test_cross_entropy_by_hand() -> None:
    loss, _ = cross_entropy_forward(np.zeros((2, 4)), np.array([1, 3]))
    assert math.isclose(loss, math.log(4), rel_tol=1e-12)
    # logits (0, ln 3): softmax (1/4, 3/4); label 1 -> -ln(3/4)
    loss, ctx = cross_entropy_forward(np.array([[0.0, math.log(3.0)]]), np.array([1]))
    assert math.isclose(loss, -math.log(0.75), rel_tol=1e-12)
    np.testing.assert_allclose(ctx.backward(1.0), [[0.25, -0.25]], rtol=1e-12)


def test_cross_entropy_gradient_by_finite_differences() -> None:
    g = np.random.default_rng(0)
    z = g.standard_normal((5, 4))
    t = np.array([0, 3, 1, 1, 2])
    _, ctx = cross_entropy_forward(z, t)
    grad = ctx.backward(1.0)
    check_vjp(lambda v: np.asarray(cross_entropy_forward(v, t)[0]), lambda _: grad, z,
              grad_y=np.ones(()), op="cross_entropy", arg="logits")


def test_cross_entropy_extreme_logits_no_overflow() -> None:
    z = np.array([[1000.0, -1000.0, 0.0], [-800.0, -800.0, -800.0]], dtype=np.float32)
    crit = CrossEntropyLoss()
    loss = crit(z, np.array([0, 2]))  # warnings are errors: exp must not overflow
    assert math.isclose(loss, math.log(3) / 2, rel_tol=1e-6)
    grad = crit.backward()
    assert grad.dtype == np.float32
    assert np.isfinite(grad).all()
    # wrong and confident: loss 2000 / 2, finite
    assert math.isclose(crit(z, np.array([1, 0])), (2000 + math.log(3)) / 2, rel_tol=1e-6)


def test_mse_by_hand_and_by_finite_differences() -> None:
    crit = MSELoss()
    assert crit(np.array([1.0, 3.0]), np.array([0.0, 1.0])) == 2.5
    np.testing.assert_allclose(crit.backward(), [1.0, 2.0])  # 2 (p - y) / 2
    g = np.random.default_rng(1)
    p, y = g.standard_normal((3, 2)), g.standard_normal((3, 2))
    _, ctx = mse_forward(p, y)
    grad = ctx.backward(1.0)
    check_vjp(lambda v: np.asarray(mse_forward(v, y)[0]), lambda _: grad, p, grad_y=np.ones(()),
              op="mse", arg="pred")
