"""The gradient-flow instrument: records checked by hand, and the lesson's claims measured."""

from __future__ import annotations

import numpy as np
import pytest

from cnnblocks.errors import ParameterError
from cnnblocks.gradflow import (
    init_gradients,
    record_gradients,
    training_curves,
    weight_scale_saturation,
)
from cnnblocks.losses import MSELoss
from cnnblocks.models import mlp
from cnnblocks.nn import Linear, ReLU, Sequential, Sigmoid


def test_records_of_a_tiny_network_by_hand() -> None:
    # y = relu(w x) with w = [[1], [-1]], x = 2, target 0, MSE over 2 outputs.
    lin = Linear(1, 2, bias=False, init=lambda s, g: np.array([[1.0], [-1.0]]),
                 dtype=np.float64)
    model = Sequential(lin, ReLU())
    records = record_gradients(model, np.array([[2.0]]), np.zeros((1, 2)), loss=MSELoss())
    # z = (2, -2); y = (2, 0); dL/dy = 2 (y - 0) / 2 = (2, 0); relu′ = (1, 0); dL/dz = (2, 0)
    # dL/dW = dL/dz^T x = [[4], [0]]; dL/dx = W^T dL/dz = 2
    lin_rec, relu_rec = records
    assert relu_rec.name == "1:ReLU"
    assert relu_rec.kind == "activation"
    assert relu_rec.output_grad_norm == 2.0
    assert relu_rec.input_grad_norm == 2.0
    assert relu_rec.mean_derivative == 0.5
    assert relu_rec.saturated_fraction == 0.5
    assert relu_rec.weight_grad_norm is None
    assert lin_rec.kind == "linear"
    assert lin_rec.weight_grad_norm == 4.0
    assert lin_rec.input_grad_norm == 2.0
    assert lin_rec.mean_derivative is None


def test_sigmoid_saturation_uses_the_001_threshold() -> None:
    model = Sequential(Sigmoid())
    x = np.array([[0.0, 3.0, 5.0, 10.0]])  # σ′ = 0.25, 0.045, 0.0066, 0.000045
    (rec,) = record_gradients(model, x, np.zeros((1, 4)), loss=MSELoss())
    assert rec.saturated_fraction == 0.5
    s = 1 / (1 + np.exp(-x))
    assert np.isclose(rec.mean_derivative, np.mean(s * (1 - s)))


@pytest.fixture(scope="module")
def at_init():
    return init_gradients(depth=10, width=32, batch_size=64, seed=0)


def test_ten_layer_sigmoid_gradients_vanish_as_the_quarter_bound_predicts(at_init) -> None:
    run = at_init.run("sigmoid", "xavier")
    w = run.weight_grad_norms
    assert w.shape == (11,)
    depth = 10
    # Going back through each sigmoid multiplies the gradient by σ′ <= 1/4 ...
    att = at_init.sigmoid_attenuation
    assert att.init == "xavier"
    assert np.all(att.activation_ratio <= att.bound)
    assert np.all(att.mean_derivative <= 0.25)
    # ... so the first layer's weight gradient is smaller than the last's, and by a factor
    # of the order the bound predicts: well below 1, not above (1/4)^depth × a few.
    ratio = w[0] / w[-1]
    assert ratio < 1e-3
    measured_per_layer = ratio ** (1 / depth)
    assert 0.1 < measured_per_layer <= 0.3  # ≈ 1/4 measured: the trend of the bound
    assert att.geometric_mean_layer_ratio < 0.3
    # The decrease is layer by layer, monotone from the last layer to the first.
    assert np.all(np.diff(w) > 0)


def test_relu_with_he_init_stays_within_an_order_of_magnitude(at_init) -> None:
    w = at_init.run("relu", "he").weight_grad_norms
    assert w.max() / w.min() < 10
    tanh = at_init.run("tanh", "xavier").weight_grad_norms
    sig = at_init.run("sigmoid", "xavier").weight_grad_norms
    assert tanh[0] / tanh[-1] > 100 * sig[0] / sig[-1]


def test_large_weights_saturate_sigmoid_units() -> None:
    result = weight_scale_saturation(scales=(0.3, 1.0, 10.0), size="quick")
    assert result.saturated_fraction.shape == (3, 6)
    # Mean σ′ falls and the saturated fraction rises with the weight scale.
    assert np.all(np.diff(result.mean_derivative.mean(axis=1)) < 0)
    assert result.saturated_fraction[-1].mean() > 0.2
    assert result.saturated_fraction[0].max() == 0.0
    assert np.all(result.mean_derivative <= 0.25)
    # Pre-activations spread with the scale: their sd grows roughly with it.
    sds = [p.std() for p in result.preactivations]
    assert sds[2] > 5 * sds[1] > 5 * sds[0]


def test_training_curves_quick_shapes_and_gradient_gap() -> None:
    result = training_curves(size="quick", epochs=2, width=16)
    assert result.variants == ["sigmoid", "relu", "sigmoid_bn"]
    for name in result.variants:
        h = result.histories[name]
        assert h.epochs == 2
        assert h.first_grad_norm is not None
        assert h.test_accuracy is not None
    sig = result.histories["sigmoid"]
    relu = result.histories["relu"]
    assert sig.first_grad_norm is not None
    assert sig.last_grad_norm is not None
    assert relu.first_grad_norm is not None
    assert relu.last_grad_norm is not None
    # The deep sigmoid network's first layer gets a far smaller gradient than its last.
    assert sig.first_grad_norm[0] < 1e-2 * sig.last_grad_norm[0]
    assert relu.first_grad_norm[0] > 0.1 * relu.last_grad_norm[0]


def test_record_gradients_restores_nothing_but_fills_grads() -> None:
    model = mlp(2, 4, "tanh", rng=np.random.default_rng(0), dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((3, 64))
    records = record_gradients(model, x, np.array([0, 1, 2]))
    assert [r.kind for r in records] == ["other", "linear", "activation", "linear",
                                         "activation", "linear"]
    assert records[1].weight_grad_norm == pytest.approx(
        float(np.linalg.norm(model[1].weight.grad)))


def test_bad_experiment_arguments() -> None:
    with pytest.raises(ParameterError, match="'size' parameter of init_gradients"):
        init_gradients(size="huge")
    with pytest.raises(ParameterError, match="'inits' parameter of init_gradients"):
        init_gradients(inits=("zeros",), size="quick")
    with pytest.raises(ParameterError, match="'variants' parameter of training_curves"):
        training_curves(variants=("sigmoid_ln",), size="quick")
    with pytest.raises(ParameterError, match="'scales' parameter of weight_scale_saturation"):
        weight_scale_saturation(scales=(0.0,), size="quick")
    with pytest.raises(ParameterError, match="'model' parameter of record_gradients"):
        record_gradients(Linear(2, 2), np.zeros((1, 2)), np.zeros(1, dtype=np.int64))
