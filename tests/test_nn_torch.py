"""PyTorch parity: Conv2d, Linear, BatchNorm (train and eval), losses, SGD and Adam steps."""

from __future__ import annotations

import numpy as np
import pytest

from cnnblocks.losses import cross_entropy_forward, mse_forward
from cnnblocks.nn import BatchNorm1d, BatchNorm2d, Conv2d, Linear, Parameter
from cnnblocks.optim import SGD, Adam

pytestmark = pytest.mark.torch
F64 = np.float64


@pytest.mark.parametrize(("k", "s", "p", "d", "torch_pad"), [
    (3, 1, 1, 1, (1, 1, 1, 1)),
    ((2, 3), (2, 1), (0, 1, 2, 0), (1, 2), (2, 0, 0, 1)),  # F.pad order: left, right, top, bottom
    (3, 2, "SAME", 1, (0, 1, 0, 1)),  # 6 -> 3: total pad 1, the odd cell after
])
def test_conv2d_forward_and_backward(k, s, p, d, torch_pad) -> None:
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    layer = Conv2d(2, 3, k, s, p, d, rng=np.random.default_rng(0), dtype=F64)
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 6))
    y = layer(x)
    gy = np.random.default_rng(2).standard_normal(y.shape)
    gx = layer.backward(gy)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.weight.value, requires_grad=True)
    bt = torch.tensor(layer.bias.value, requires_grad=True)
    yt = tf.conv2d(tf.pad(xt, torch_pad), wt, bt, stride=s, dilation=d)
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_linear_forward_and_backward() -> None:
    torch = pytest.importorskip("torch")
    layer = Linear(5, 3, rng=np.random.default_rng(0), dtype=F64)
    ref = torch.nn.Linear(5, 3).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.weight.value))
        ref.bias.copy_(torch.tensor(layer.bias.value))
    x = np.random.default_rng(1).standard_normal((4, 5))
    xt = torch.tensor(x, requires_grad=True)
    gy = np.random.default_rng(2).standard_normal((4, 3))
    ref(xt).backward(torch.tensor(gy))
    np.testing.assert_allclose(layer(x), ref(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.backward(gy), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(("cls", "shape"), [(BatchNorm1d, (6, 3)), (BatchNorm2d, (4, 3, 2, 3))])
def test_batchnorm_train_then_eval(cls, shape) -> None:
    torch = pytest.importorskip("torch")
    ref = (torch.nn.BatchNorm1d if cls is BatchNorm1d else torch.nn.BatchNorm2d)(
        3, momentum=0.3).double()
    layer = cls(3, momentum=0.3, dtype=F64)
    g = np.random.default_rng(0)
    gamma, beta = g.standard_normal(3), g.standard_normal(3)
    layer.weight.value[:], layer.bias.value[:] = gamma, beta
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        ref.bias.copy_(torch.tensor(beta))
    for step in range(2):  # two training steps move the running statistics twice
        x = g.standard_normal(shape) * 2 + step
        gy = g.standard_normal(shape)
        xt = torch.tensor(x, requires_grad=True)
        ref.weight.grad = ref.bias.grad = None
        yt = ref(xt)
        yt.backward(torch.tensor(gy))
        layer.zero_grad()
        np.testing.assert_allclose(layer(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.backward(gy), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.running_mean, ref.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, ref.running_var.numpy(), rtol=1e-12)
    layer.eval()
    ref.eval()
    x = g.standard_normal(shape)
    gy = g.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(layer(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.backward(gy), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_losses_match_torch() -> None:
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(0)
    z = g.standard_normal((6, 5)) * 10
    t = g.integers(0, 5, 6)
    zt = torch.tensor(z, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(zt, torch.tensor(t))
    lt.backward()
    loss, ctx = cross_entropy_forward(z, t)
    assert np.isclose(loss, lt.item(), rtol=1e-12)
    np.testing.assert_allclose(ctx.backward(1.0), zt.grad.numpy(), rtol=1e-10, atol=1e-14)
    p, y = g.standard_normal((3, 4)), g.standard_normal((3, 4))
    pt = torch.tensor(p, requires_grad=True)
    mt = torch.nn.functional.mse_loss(pt, torch.tensor(y))
    mt.backward()
    loss, ctx = mse_forward(p, y)
    assert np.isclose(loss, mt.item(), rtol=1e-12)
    np.testing.assert_allclose(ctx.backward(1.0), pt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), [
    (SGD, "SGD", {"lr": 0.1}),
    (SGD, "SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    (Adam, "Adam", {"lr": 0.01}),
    (Adam, "Adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
])
def test_optimiser_steps_match_torch(ours, theirs, kwargs) -> None:
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(0)
    start = g.standard_normal((3, 2))
    p = Parameter(start.copy())
    pt = torch.nn.Parameter(torch.tensor(start.copy()))
    opt = ours([p], **kwargs)
    opt_t = getattr(torch.optim, theirs)([pt], **kwargs)
    for _ in range(5):
        grad = g.standard_normal((3, 2))
        opt.zero_grad()
        p.grad += grad
        opt.step()
        opt_t.zero_grad()
        pt.grad = torch.tensor(grad)
        opt_t.step()
    np.testing.assert_allclose(p.value, pt.detach().numpy(), rtol=1e-10, atol=1e-12)
