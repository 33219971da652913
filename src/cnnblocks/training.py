"""The training loop: :func:`fit` with a rich progress bar, and :func:`evaluate`.

Each step: forward a mini-batch, compute the loss, **zero the gradients**, backward (layers
accumulate into ``Parameter.grad``), optimiser step. Shuffling uses
``numpy.random.default_rng(seed)``, so a given model initialisation, data set and seed give the
same run every time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnblocks._checks import as_int_tuple, check_real, fail
from cnnblocks.data import Dataset
from cnnblocks.losses import CrossEntropyLoss, MSELoss
from cnnblocks.nn import Conv2d, Linear, Module
from cnnblocks.optim import Optimizer

__all__ = ["Evaluation", "History", "NonFiniteLossError", "evaluate", "fit", "weighted_layers"]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message names the epoch and step."""


@dataclass
class History:
    """Per-epoch record of a :func:`fit` run (lists have one entry per completed epoch).

    Attributes
    ----------
    loss, accuracy : list of float
        Mean training loss and accuracy over the epoch's mini-batches.
    test_loss, test_accuracy : list of float or None
        On the ``test`` set after each epoch (None when no test set was given).
    first_grad_norm, last_grad_norm : list of float or None
        Mean over the epoch's steps of ``||dL/dW||`` of the first and last weighted layer
        (Conv2d or Linear), when ``record_grad_norms`` was set.
    seconds : float
        Wall time of the whole run.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] | None = None
    test_accuracy: list[float] | None = None
    first_grad_norm: list[float] | None = None
    last_grad_norm: list[float] | None = None
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.loss)


@dataclass(frozen=True)
class Evaluation:
    """Loss and accuracy of a model on a data set."""

    loss: float
    accuracy: float


def weighted_layers(model: Module) -> list[Conv2d | Linear]:
    """The Conv2d and Linear layers of ``model``, first to last."""
    return [m for m in model.modules() if isinstance(m, Conv2d | Linear)]


def _check_dataset(data: Any, func: str, name: str) -> Dataset:
    if not isinstance(data, Dataset):
        raise fail(func, name, "a cnnblocks.data.Dataset", data)
    if len(data) == 0:
        raise fail(func, name, "a non-empty Dataset", data)
    return data


def _batch_correct(output: np.ndarray, y: np.ndarray) -> int:
    if output.ndim == 2 and y.ndim == 1:
        return int(np.count_nonzero(output.argmax(axis=1) == y))
    return 0


def evaluate(
    model: Module, data: Dataset, batch_size: int = 256, loss: Any = None
) -> Evaluation:
    """Mean loss and accuracy of ``model`` on ``data`` in eval mode (the mode is restored)."""
    func = "evaluate"
    data = _check_dataset(data, func, "data")
    batch_size = as_int_tuple(batch_size, 1, func=func, name="batch_size")[0]
    criterion = CrossEntropyLoss() if loss is None else loss
    was_training = model.training
    model.eval()
    total_loss = 0.0
    correct = 0
    try:
        for start in range(0, len(data), batch_size):
            xb, yb = data.x[start:start + batch_size], data.y[start:start + batch_size]
            out = model(xb)
            total_loss += criterion(out, yb) * len(yb)
            correct += _batch_correct(out, yb)
    finally:
        model.train(was_training)
    return Evaluation(total_loss / len(data), correct / len(data))


def fit(
    model: Module,
    train: Dataset,
    epochs: int,
    optimizer: Optimizer,
    batch_size: int = 32,
    seed: int = 0,
    *,
    loss: CrossEntropyLoss | MSELoss | None = None,
    test: Dataset | None = None,
    lr_decay: float = 1.0,
    record_grad_norms: bool = False,
    progress: bool = True,
    console: Any = None,
) -> History:
    """Train ``model`` on ``train`` for ``epochs`` passes of shuffled mini-batches.

    Parameters
    ----------
    model : Module
    train : Dataset
    epochs : int >= 1
    optimizer : Optimizer
        Built on ``model.parameters()``.
    batch_size : int >= 1
    seed : int
        Seeds the shuffling; the run is deterministic given the model's initial weights.
    loss : CrossEntropyLoss or MSELoss, optional
        Default softmax cross-entropy.
    test : Dataset, optional
        Evaluated after every epoch.
    lr_decay : float in (0, 1]
        Exponential schedule: ``optimizer.lr`` is multiplied by it after every epoch (PyTorch's
        ``ExponentialLR``); 1 keeps it constant. The optimiser keeps the decayed rate.
    record_grad_norms : bool
        Fill ``History.first_grad_norm`` / ``last_grad_norm``.
    progress : bool
        Show a rich progress bar with the running loss and accuracy.
    console : rich.console.Console, optional

    Returns
    -------
    History

    Raises
    ------
    NonFiniteLossError
        When a mini-batch loss is NaN or infinite (the message names the epoch and step).
    """
    func = "fit"
    train = _check_dataset(train, func, "train")
    if test is not None:
        test = _check_dataset(test, func, "test")
    epochs = as_int_tuple(epochs, 1, func=func, name="epochs")[0]
    batch_size = as_int_tuple(batch_size, 1, func=func, name="batch_size")[0]
    if not isinstance(optimizer, Optimizer):
        raise fail(func, "optimizer", "a cnnblocks.optim optimiser (SGD, Adam)", optimizer)
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        raise fail(func, "seed", "an int", seed)
    lr_decay = check_real(lr_decay, func=func, name="lr_decay", low=0.0, low_inclusive=False,
                          high=1.0)
    criterion = CrossEntropyLoss() if loss is None else loss
    rng = np.random.default_rng(int(seed))
    history = History()
    # The History lists are these objects, so an interrupted run still reports finished epochs.
    test_losses: list[float] = []
    test_accuracies: list[float] = []
    first_by_epoch: list[float] = []
    last_by_epoch: list[float] = []
    if test is not None:
        history.test_loss, history.test_accuracy = test_losses, test_accuracies
    layers = weighted_layers(model)
    track = record_grad_norms and len(layers) > 0
    if track:
        history.first_grad_norm, history.last_grad_norm = first_by_epoch, last_by_epoch
    steps = math.ceil(len(train) / batch_size)
    started = time.perf_counter()

    bar: Any = None
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        bar = Progress(
            TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.3f}"),
            TextColumn("{task.fields[extra]}"),
            console=console,
            transient=False,
        )
        bar.start()
        task = bar.add_task("train", total=epochs * steps, epoch=1, epochs=epochs, loss=0.0,
                            acc=0.0, extra="")
    try:
        model.train()
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(train))
            total_loss, correct, seen = 0.0, 0, 0
            first_norms: list[float] = []
            last_norms: list[float] = []
            for step in range(1, steps + 1):
                idx = order[(step - 1) * batch_size:step * batch_size]
                xb, yb = train.x[idx], train.y[idx]
                # A diverging run overflows somewhere before its loss turns inf/NaN; the check
                # below reports it with the epoch and step, clearer than a RuntimeWarning.
                with np.errstate(over="ignore", invalid="ignore"):
                    out = model(xb)
                    value = criterion(out, yb)
                if not math.isfinite(value):
                    raise NonFiniteLossError(
                        f"fit(): the training loss became {value} at epoch {epoch}, step {step} "
                        f"of {steps}. Lower the learning rate (lr={optimizer.lr}) or check the "
                        f"inputs for NaN/inf."
                    )
                optimizer.zero_grad()
                model.zero_grad()
                with np.errstate(over="ignore", invalid="ignore"):
                    model.backward_parameters(criterion.backward())
                    if track:
                        first_norms.append(float(np.linalg.norm(layers[0].weight.grad)))
                        last_norms.append(float(np.linalg.norm(layers[-1].weight.grad)))
                    optimizer.step()
                total_loss += value * len(idx)
                correct += _batch_correct(out, yb)
                seen += len(idx)
                if bar is not None:
                    bar.update(task, advance=1, epoch=epoch, loss=total_loss / seen,
                               acc=correct / seen)
            optimizer.lr *= lr_decay
            history.loss.append(total_loss / seen)
            history.accuracy.append(correct / seen)
            if track:
                first_by_epoch.append(float(np.mean(first_norms)))
                last_by_epoch.append(float(np.mean(last_norms)))
            if test is not None:
                result = evaluate(model, test, loss=criterion)
                test_losses.append(result.loss)
                test_accuracies.append(result.accuracy)
                if bar is not None:
                    bar.update(task, extra=f"test acc {result.accuracy:.3f}")
    finally:
        if bar is not None:
            bar.stop()
        history.seconds = time.perf_counter() - started
    return history
