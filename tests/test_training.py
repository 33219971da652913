"""The fit/evaluate loop: determinism, gradient zeroing, errors, progress bar, and LeNet on the
8x8 digits (the accuracy claims of issue 4)."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from cnnblocks.data import Dataset, load_digits, standardize
from cnnblocks.errors import ParameterError
from cnnblocks.losses import CrossEntropyLoss
from cnnblocks.models import lenet, mlp
from cnnblocks.nn import Flatten, Sequential
from cnnblocks.optim import SGD, Adam
from cnnblocks.training import NonFiniteLossError, evaluate, fit


@pytest.fixture(scope="module")
def digits():
    return standardize(load_digits(seed=0))


def _small_data(n: int = 40, seed: int = 0) -> Dataset:
    g = np.random.default_rng(seed)
    return Dataset(g.standard_normal((n, 1, 8, 8)), g.integers(0, 10, n))


def test_lenet_relu_max_reaches_97_percent(digits) -> None:
    model = lenet("relu", "max", rng=np.random.default_rng(0))
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    # Measured: 97.6% after 15 epochs (seeds 0-4 of this recipe give 96.9-98.2%).
    history = fit(model, digits.train, 15, opt, batch_size=32, seed=0, test=digits.test,
                  lr_decay=0.8, progress=False)
    assert history.test_accuracy is not None
    final = evaluate(model, digits.test).accuracy
    assert final == history.test_accuracy[-1]
    assert final >= 0.97, history.test_accuracy


def test_lenet_sigmoid_trains_too(digits) -> None:
    # Five stacked sigmoids: plain SGD barely moves the early layers (the lesson's vanishing
    # gradient); Adam's per-parameter scaling gets it to train.
    model = lenet("sigmoid", "max", init="xavier_uniform", rng=np.random.default_rng(0))
    opt = Adam(model.parameters(), lr=0.01)
    history = fit(model, digits.train, 12, opt, batch_size=32, seed=0, test=digits.test,
                  progress=False)
    assert history.test_accuracy is not None
    assert history.test_accuracy[-1] >= 0.5, history.test_accuracy  # chance is 0.1
    assert history.loss[-1] < history.loss[0]


def test_fit_is_deterministic_for_a_seed() -> None:
    data = _small_data()

    def run(seed: int):
        model = mlp(2, 16, "tanh", rng=np.random.default_rng(1), dtype=np.float64)
        h = fit(model, data, 2, SGD(model.parameters(), lr=0.1, momentum=0.9), 8, seed,
                progress=False, record_grad_norms=True)
        return h, model.parameters()[0].value.copy()

    (h1, w1), (h2, w2), (h3, _) = run(5), run(5), run(6)
    assert h1.loss == h2.loss
    assert h1.first_grad_norm == h2.first_grad_norm
    np.testing.assert_array_equal(w1, w2)
    assert h1.loss != h3.loss


class RecordingSGD(SGD):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[np.ndarray] = []

    def step(self) -> None:
        self.seen.append(self.params[0].grad.copy())
        super().step()


def test_fit_zeroes_gradients_before_every_step() -> None:
    data = _small_data(16)
    model = mlp(1, 8, "tanh", rng=np.random.default_rng(0), dtype=np.float64)
    opt = RecordingSGD(model.parameters(), lr=0.5)
    fit(model, data, 2, opt, batch_size=16, seed=0, progress=False)  # one full-batch step/epoch
    # Recompute the second step's gradient from scratch at the weights after step 1.
    fresh = mlp(1, 8, "tanh", rng=np.random.default_rng(0), dtype=np.float64)
    crit = CrossEntropyLoss()
    crit(fresh(data.x), data.y)
    fresh.backward(crit.backward())
    np.testing.assert_allclose(opt.seen[0], fresh.parameters()[0].grad, rtol=1e-12)
    for p, q in zip(fresh.parameters(), model.parameters(), strict=True):
        p.value[...] -= 0.5 * p.grad
        p.zero_grad()
        assert p.shape == q.shape
    crit(fresh(data.x), data.y)
    fresh.backward(crit.backward())
    np.testing.assert_allclose(opt.seen[1], fresh.parameters()[0].grad, rtol=1e-10)


def test_history_fields_and_lr_decay() -> None:
    data = _small_data()
    model = mlp(3, 8, "relu", rng=np.random.default_rng(0))
    opt = SGD(model.parameters(), lr=0.08)
    h = fit(model, data, 3, opt, 10, 0, test=_small_data(12, 1), record_grad_norms=True,
            lr_decay=0.5, progress=False)
    assert h.epochs == 3
    assert len(h.accuracy) == len(h.test_accuracy or []) == len(h.first_grad_norm or []) == 3
    assert all(0 <= a <= 1 for a in h.accuracy)
    assert h.last_grad_norm is not None
    assert all(v > 0 for v in h.last_grad_norm)
    assert np.isclose(opt.lr, 0.01)  # 0.08 * 0.5**3
    h = fit(model, data, 1, opt, progress=False)
    assert h.test_accuracy is None
    assert h.first_grad_norm is None


def test_evaluate_against_argmax_by_hand() -> None:
    g = np.random.default_rng(0)
    logits = g.standard_normal((30, 4))
    labels = g.integers(0, 4, 30)
    result = evaluate(Sequential(Flatten()), Dataset(logits, labels), batch_size=7)
    assert result.accuracy == np.mean(logits.argmax(1) == labels)
    shifted = logits - logits.max(1, keepdims=True)
    ce = np.log(np.exp(shifted).sum(1)) - shifted[np.arange(30), labels]
    assert np.isclose(result.loss, ce.mean())


def test_non_finite_loss_names_epoch_and_step() -> None:
    data = _small_data(12)
    x = data.x.copy()
    x[5] = np.nan
    model = mlp(1, 4, rng=np.random.default_rng(0), dtype=np.float64)
    with pytest.raises(NonFiniteLossError, match=re.escape(
            "the training loss became nan at epoch 1, step 1 of 1")):
        fit(model, Dataset(x, data.y), 3, SGD(model.parameters()), batch_size=12,
            progress=False)
    model = mlp(4, 32, "relu", init="large_normal", rng=np.random.default_rng(0))
    with pytest.raises(NonFiniteLossError, match=r"at epoch \d+, step \d+ of 4\. Lower the "
                                                 r"learning rate \(lr=1000000.0\)"):
        fit(model, _small_data(), 50, SGD(model.parameters(), lr=1e6), batch_size=10,
            progress=False)


def test_progress_bar_shows_loss_and_accuracy() -> None:
    from rich.console import Console

    out = io.StringIO()
    model = mlp(1, 4, rng=np.random.default_rng(0))
    fit(model, _small_data(), 2, SGD(model.parameters()), 20, progress=True,
        console=Console(file=out, width=120, force_terminal=False), test=_small_data(8))
    text = out.getvalue()
    assert "epoch 2/2" in text
    assert "loss" in text
    assert "acc" in text
    assert "test acc" in text


def test_bad_fit_arguments() -> None:
    model = mlp(1, 4)
    data = _small_data()
    with pytest.raises(ParameterError, match="'epochs' parameter of fit"):
        fit(model, data, 0, SGD(model.parameters()))
    with pytest.raises(ParameterError, match="'optimizer' parameter of fit"):
        fit(model, data, 1, "sgd")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'train' parameter of fit"):
        fit(model, (data.x, data.y), 1, SGD(model.parameters()))  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'lr_decay' parameter of fit"):
        fit(model, data, 1, SGD(model.parameters()), lr_decay=1.5)
