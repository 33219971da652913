"""Float64 finite-difference checks of every layer's input and parameter gradients, plus
hand-computed forward values."""

from __future__ import annotations

import numpy as np
import pytest

from cnnblocks.losses import cross_entropy_forward, mse_forward
from cnnblocks.nn import (
    ACTIVATIONS,
    Activation,
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    GlobalMaxPool2d,
    Linear,
    MaxPool2d,
    PReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    conv2d_forward,
)
from nn_gradcheck import check_layer, check_loss_network

F64 = np.float64


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def conv_by_loops(x, w, b, stride, pads, dilation):
    """The definition, one output cell at a time (independent of im2col)."""
    (t, bo), (le, r) = pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (le, r)))
    n, _, hp, wp = xp.shape
    co, _, kh, kw = w.shape
    ho = (hp - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wp - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, co, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride[0]:i * stride[0] + dilation[0] * (kh - 1) + 1:dilation[0],
                       j * stride[1]:j * stride[1] + dilation[1] * (kw - 1) + 1:dilation[1]]
            y[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w) + b
    return y


def test_conv_hand_example() -> None:
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    y, _ = conv2d_forward(x, np.ones((1, 1, 2, 2)))
    assert y[0, 0].tolist() == [[8.0, 12.0], [20.0, 24.0]]  # 0+1+3+4, 1+2+4+5, ...


CONV_CASES = [
    # (C_in, C_out, kernel, stride, padding, dilation, H, W, normalised padding)
    (2, 3, 3, 1, 0, 1, 5, 6, ((0, 0), (0, 0))),
    (2, 3, 3, 2, 1, 1, 6, 7, ((1, 1), (1, 1))),
    (1, 2, (2, 3), (2, 1), (0, 1, 2, 0), 1, 5, 5, ((0, 1), (2, 0))),  # asymmetric
    (2, 2, 3, 1, ((1, 0), (0, 2)), 2, 7, 6, ((1, 0), (0, 2))),  # dilation + pairs
    (1, 2, 3, 2, "SAME", 1, 5, 6, ((1, 1), (0, 1))),  # TF SAME: ceil(5/2)=3, ceil(6/2)=3
    (3, 2, 2, (1, 2), 0, (2, 1), 6, 6, ((0, 0), (0, 0))),
    # W_out >= 8: backward takes the slab-add col2im instead of the scatter-add one
    (1, 2, 3, 1, (1, 0, 0, 1), (1, 2), 4, 12, ((1, 0), (0, 1))),
    (2, 1, 2, (1, 2), 0, 1, 3, 17, ((0, 0), (0, 0))),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_forward_matches_the_definition(case) -> None:
    cin, cout, k, s, p, d, h, w, pads = case
    layer = Conv2d(cin, cout, k, s, p, d, rng=rng(), dtype=F64)
    x = rng(1).standard_normal((2, cin, h, w))
    st = (s, s) if isinstance(s, int) else s
    dl = (d, d) if isinstance(d, int) else d
    expected = conv_by_loops(x, layer.weight.value, layer.bias.value, st, pads, dl)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_gradients(case) -> None:
    cin, cout, k, s, p, d, h, w, _ = case
    layer = Conv2d(cin, cout, k, s, p, d, rng=rng(), dtype=F64)
    check_layer(layer, rng(2).standard_normal((2, cin, h, w)))


def test_conv_without_bias_gradients() -> None:
    layer = Conv2d(2, 2, 2, bias=False, rng=rng(), dtype=F64)
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    check_layer(layer, rng(3).standard_normal((1, 2, 3, 4)))


def test_conv_float32_stays_float32() -> None:
    layer = Conv2d(1, 2, 3, padding=1, rng=rng())
    x = rng().random((2, 1, 4, 4), dtype=np.float32)
    y = layer(x)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_linear_hand_example_and_gradients() -> None:
    layer = Linear(2, 1, init=lambda shape, g: np.ones(shape), dtype=F64)
    layer.bias.value[:] = 0.5
    assert layer(np.array([[1.0, 2.0]])).tolist() == [[3.5]]
    check_layer(Linear(4, 3, rng=rng(), dtype=F64), rng(1).standard_normal((5, 4)))


@pytest.mark.parametrize("cls", [BatchNorm1d, BatchNorm2d])
def test_batchnorm_train_gradients(cls) -> None:
    shape = (6, 3) if cls is BatchNorm1d else (3, 3, 2, 2)
    layer = cls(3, dtype=F64)
    layer.weight.value[:] = [0.5, 2.0, -1.0]
    layer.bias.value[:] = [0.1, 0.0, -0.3]
    check_layer(layer, rng(4).standard_normal(shape) * 3 + 1)


@pytest.mark.parametrize("cls", [BatchNorm1d, BatchNorm2d])
def test_batchnorm_eval_gradients_and_values(cls) -> None:
    shape = (4, 3) if cls is BatchNorm1d else (2, 3, 2, 2)
    layer = cls(3, dtype=F64)
    layer.running_mean[:] = [1.0, -1.0, 0.0]
    layer.running_var[:] = [4.0, 1.0, 0.25]
    layer.eval()
    x = np.ones(shape)
    y = layer(x)
    bshape = (1, 3) if cls is BatchNorm1d else (1, 3, 1, 1)
    expected = (x - np.array([1.0, -1.0, 0.0]).reshape(bshape)) / np.sqrt(
        np.array([4.0, 1.0, 0.25]).reshape(bshape) + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    check_layer(layer, rng(5).standard_normal(shape))


def test_batchnorm_running_statistics_by_hand() -> None:
    layer = BatchNorm1d(1, momentum=0.5, dtype=F64)
    layer(np.array([[1.0], [3.0]]))  # mean 2, unbiased var 2
    assert layer.running_mean.tolist() == [1.0]  # 0.5*0 + 0.5*2
    assert layer.running_var.tolist() == [1.5]  # 0.5*1 + 0.5*2


def test_flatten_and_dropout_gradients() -> None:
    check_layer(Flatten(), rng().standard_normal((2, 3, 2, 2)))
    drop = Dropout(0.4, rng=rng())

    def reseed() -> None:
        drop.rng = np.random.default_rng(7)

    check_layer(drop, rng(1).standard_normal((4, 5)), before_forward=reseed)


def test_dropout_eval_is_identity_and_train_keeps_the_mean() -> None:
    drop = Dropout(0.5, rng=rng())
    x = np.ones((200, 100))
    y = drop(x)
    assert set(np.unique(y).tolist()) == {0.0, 2.0}
    assert abs(y.mean() - 1.0) < 0.02  # E[y] = x; 20,000 draws give sd 0.007
    drop.eval()
    assert drop(x) is x


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_layer_gradient(name: str) -> None:
    # Values away from every kink (0, ±3, 1, 6) so central differences are valid.
    x = np.array([[-4.2, -2.1, -0.7, 0.4], [1.3, 2.2, 4.1, 7.3]])
    check_layer(Activation(name), x)


def test_named_activation_classes_and_their_derivatives() -> None:
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(ReLU()(x), [0.0, 0.0, 2.0])
    sig = Sigmoid()
    np.testing.assert_allclose(sig(x), 1 / (1 + np.exp(-x)))
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(sig.derivative(), s * (1 - s))
    assert sig.derivative()[1] == 0.25
    np.testing.assert_allclose(Tanh()(x), np.tanh(x))
    relu = ReLU()
    relu(x)
    assert relu.derivative().tolist() == [0.0, 0.0, 1.0]  # relu′(0) = 0


@pytest.mark.parametrize("channels", [1, 3])
def test_prelu_gradients(channels: int) -> None:
    layer = PReLU(channels, dtype=F64)
    layer.weight.value[:] = np.linspace(0.1, 0.4, channels)
    x = np.array([[-1.5, 0.5, -0.25], [2.0, -3.0, 1.0]])[:, :, None]  # (N, C, L)
    check_layer(layer, x)


def test_leaky_relu_option_reaches_the_operator() -> None:
    layer = Activation("leaky_relu", negative_slope=0.2)
    assert layer(np.array([-1.0, 2.0])).tolist() == [-0.2, 2.0]


POOL_CASES = [
    (MaxPool2d(2), (1, 2, 4, 4)),
    (MaxPool2d(3, 2, (1, 0, 0, 1), ceil_mode=True), (2, 1, 5, 6)),
    (AvgPool2d(2, 1, 1, count_include_pad=False), (1, 2, 3, 3)),
    (AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 5)),
    (GlobalAvgPool2d(), (2, 3, 3, 2)),
    (GlobalMaxPool2d(), (2, 3, 3, 2)),
]


@pytest.mark.parametrize(("layer", "shape"), POOL_CASES, ids=lambda v: repr(v))
def test_pool_layer_gradients(layer, shape) -> None:
    # A permutation of well-separated values: no ties, so max pooling is differentiable.
    x = rng(3).permutation(np.prod(shape)).reshape(shape) * 0.1
    check_layer(layer, x)


def test_global_pools_keep_size_one_axes() -> None:
    x = np.arange(12.0).reshape(1, 2, 2, 3)
    assert GlobalAvgPool2d()(x).tolist() == [[[[2.5]], [[8.5]]]]
    assert GlobalMaxPool2d()(x).tolist() == [[[[5.0]], [[11.0]]]]


def _ce(labels: np.ndarray):
    def loss(out: np.ndarray):
        value, ctx = cross_entropy_forward(out, labels)
        return value, ctx.backward(1.0)
    return loss


def test_whole_cnn_with_loss_gradients() -> None:
    g = rng(11)
    model = Sequential(
        Conv2d(1, 2, 3, stride=1, padding=(1, 0, 0, 1), rng=g, dtype=F64),
        Activation("tanh"),
        MaxPool2d(2),
        Conv2d(2, 3, 2, dilation=1, rng=g, dtype=F64),
        Sigmoid(),
        AvgPool2d(2, 1),
        Flatten(),
        Linear(3, 4, rng=g, dtype=F64),
        BatchNorm1d(4, dtype=F64),
        ReLU(),
        Linear(4, 3, rng=g, dtype=F64),
    )
    x = g.standard_normal((4, 1, 8, 8))  # conv 7x7, pool 3x3, conv 2x2, pool 1x1
    check_loss_network(model, _ce(np.array([0, 2, 1, 2])), x)


def test_whole_network_with_mse_gradients() -> None:
    g = rng(12)
    model = Sequential(Conv2d(2, 2, 3, 2, "SAME", rng=g, dtype=F64), Activation("gelu"),
                       GlobalAvgPool2d(), Flatten(), Linear(2, 2, rng=g, dtype=F64))
    target = g.standard_normal((3, 2))

    def loss(out: np.ndarray):
        value, ctx = mse_forward(out, target)
        return value, ctx.backward(1.0)

    check_loss_network(model, loss, g.standard_normal((3, 2, 5, 5)))


def test_backward_accumulates_until_zero_grad() -> None:
    layer = Linear(3, 2, rng=rng(), dtype=F64)
    x = rng(1).standard_normal((4, 3))
    g = np.ones((4, 2))
    layer(x)
    layer.backward(g)
    once = layer.weight.grad.copy()
    np.testing.assert_allclose(once, g.T @ x)  # dL/dW = (dL/dy)^T x by hand
    layer(x)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once)
    layer.zero_grad()
    assert not layer.weight.grad.any()
    assert not layer.bias.grad.any()


def test_sequential_structure_names_and_modes() -> None:
    model = Sequential(Linear(2, 3, rng=rng()), BatchNorm1d(3), ReLU(), Dropout(0.2))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert [n for n, _ in model.named_buffers()] == ["1.running_mean", "1.running_var"]
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    assert len(model) == 4
    assert isinstance(model[2], ReLU)


def test_backward_parameters_gives_the_same_parameter_gradients() -> None:
    g = rng(13)
    model = Sequential(Conv2d(2, 3, 3, padding=1, rng=g, dtype=F64), ReLU(), Flatten(),
                       Linear(3 * 16, 2, rng=g, dtype=F64))
    x = g.standard_normal((3, 2, 4, 4))
    gy = g.standard_normal((3, 2))
    model(x)
    model.backward(gy)
    full = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    model(x)
    model.backward_parameters(gy)
    for a, b in zip(full, [p.grad for p in model.parameters()], strict=True):
        np.testing.assert_array_equal(a, b)
    lin = Linear(3, 2, rng=g, dtype=F64)
    lin(x[:, 0, 0, :3])
    lin.backward_parameters(gy)
    expected = gy.T @ x[:, 0, 0, :3]
    np.testing.assert_allclose(lin.weight.grad, expected)
