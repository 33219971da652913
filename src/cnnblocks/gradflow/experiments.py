"""The lesson's three gradient-flow experiments, returning plain data for plotting.

1. :func:`init_gradients` — per-layer gradient norms of deep MLPs at initialisation, for several
   activations and initialisers, and the measured per-layer attenuation of the sigmoid network
   beside the σ′ <= 1/4 bound.
2. :func:`weight_scale_saturation` — how the scale of the initial weights pushes pre-activations
   into the flat tails of σ (saturation) and shrinks the gradient reaching the first layer.
3. :func:`training_curves` — the same deep network trained with sigmoid, ReLU and sigmoid +
   BatchNorm on the 8×8 digits: loss, accuracy and first/last-layer gradient norms per epoch.

Every experiment takes ``size="quick"`` (seconds, for tests and previews) or ``"full"`` (the
lesson's sizes); explicit arguments override the preset. Inputs are real digits from
:func:`cnnblocks.data.load_digits`, flattened to 64 features.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnblocks._checks import as_int_tuple, check_choice, check_real, fail
from cnnblocks.data import load_digits, standardize
from cnnblocks.gradflow.record import LayerRecord, record_gradients
from cnnblocks.init import INITIALIZERS
from cnnblocks.models import mlp
from cnnblocks.nn import ACTIVATIONS
from cnnblocks.optim import SGD
from cnnblocks.training import History, fit

__all__ = [
    "SIGMOID_DERIVATIVE_BOUND",
    "Attenuation",
    "InitGradientsResult",
    "InitRun",
    "SaturationResult",
    "TrainingCurvesResult",
    "init_gradients",
    "training_curves",
    "weight_scale_saturation",
]

SIGMOID_DERIVATIVE_BOUND = 0.25  # max σ′(x) = σ′(0) = 1/4
SIZES = ("quick", "full")


@dataclass(frozen=True)
class InitRun:
    """Gradient flow of one (activation, initialiser) MLP at initialisation.

    Arrays run from the first layer (index 0) to the last. ``depth`` hidden layers give
    ``depth + 1`` Linear layers.

    Attributes
    ----------
    activation, init : str
    weight_grad_norms : ndarray (depth + 1,)
        ``||∂L/∂W||`` of each Linear layer.
    output_grad_norms : ndarray (depth + 1,)
        ``||∂L/∂z||`` at the output ``z`` of each Linear layer.
    mean_derivative, saturated_fraction : ndarray (depth,)
        Per activation layer.
    records : list of LayerRecord
        Every layer's full record.
    """

    activation: str
    init: str
    weight_grad_norms: np.ndarray
    output_grad_norms: np.ndarray
    mean_derivative: np.ndarray
    saturated_fraction: np.ndarray
    records: list[LayerRecord]


@dataclass(frozen=True)
class Attenuation:
    """Measured per-layer gradient attenuation of the sigmoid MLP beside the 1/4 bound.

    Attributes
    ----------
    init : str
        Initialiser of the measured sigmoid run.
    activation_ratio : ndarray (depth,)
        ``||∂L/∂x|| / ||∂L/∂y||`` across each sigmoid layer; the chain rule bounds it by
        ``max σ′ = 1/4``.
    layer_ratio : ndarray (depth,)
        ``||∂L/∂W_l|| / ||∂L/∂W_{l+1}||`` between consecutive Linear layers: the factor each
        layer going back multiplies the weight gradient by.
    mean_derivative : ndarray (depth,)
        Mean σ′ at each sigmoid layer.
    bound : float
        1/4.
    """

    init: str
    activation_ratio: np.ndarray
    layer_ratio: np.ndarray
    mean_derivative: np.ndarray
    bound: float = SIGMOID_DERIVATIVE_BOUND

    @property
    def geometric_mean_layer_ratio(self) -> float:
        """The typical per-layer factor: ``(Π layer_ratio)^(1/depth)``."""
        return float(np.exp(np.mean(np.log(self.layer_ratio))))


@dataclass(frozen=True)
class InitGradientsResult:
    """Result of :func:`init_gradients`."""

    depth: int
    width: int
    batch_size: int
    runs: list[InitRun]
    sigmoid_attenuation: Attenuation | None

    def run(self, activation: str, init: str) -> InitRun:
        """The run of one (activation, initialiser) pair."""
        for r in self.runs:
            if r.activation == activation and r.init == init:
                return r
        pairs = ", ".join(f"({r.activation!r}, {r.init!r})" for r in self.runs)
        raise fail("InitGradientsResult.run", "activation, init", f"one of {pairs}",
                   (activation, init))


@dataclass(frozen=True)
class SaturationResult:
    """Result of :func:`weight_scale_saturation`; row ``s`` belongs to ``scales[s]``.

    Attributes
    ----------
    activation : str
    scales : ndarray (S,)
        Weights ~ N(0, (scale / √fan_in)²): scale 1 keeps Var(z) ≈ Var(input) per layer.
    saturated_fraction, mean_derivative : ndarray (S, depth)
        Per hidden activation layer.
    first_grad_norm, last_grad_norm : ndarray (S,)
        ``||∂L/∂W||`` of the first and last Linear layers.
    preactivations : list of ndarray
        A sample (up to 4096 values) of the first hidden layer's pre-activations per scale,
        to histogram against σ.
    """

    activation: str
    depth: int
    width: int
    scales: np.ndarray
    saturated_fraction: np.ndarray
    mean_derivative: np.ndarray
    first_grad_norm: np.ndarray
    last_grad_norm: np.ndarray
    preactivations: list[np.ndarray] = field(default_factory=list)


@dataclass(frozen=True)
class TrainingCurvesResult:
    """Result of :func:`training_curves`: one History per variant (grad norms filled)."""

    depth: int
    width: int
    epochs: int
    variants: list[str]
    histories: dict[str, History]


def _pick(value: Any, preset: dict[str, Any], size: str, key: str) -> Any:
    return preset[size][key] if value is None else value


def _digits_batch(batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    train = load_digits(seed=seed, dtype=np.float64).train
    n = min(batch_size, len(train))
    return train.x[:n], train.y[:n]


_INIT_PRESET = {
    "quick": {"depth": 10, "width": 32, "batch_size": 64},
    "full": {"depth": 20, "width": 64, "batch_size": 256},
}


def init_gradients(
    depth: int | None = None,
    width: int | None = None,
    activations: Sequence[str] = ("sigmoid", "tanh", "relu"),
    inits: Sequence[str] = ("xavier", "he", "large_normal"),
    batch_size: int | None = None,
    seed: int = 0,
    size: str = "full",
) -> InitGradientsResult:
    """Per-layer gradient norms of deep MLPs at initialisation (experiment 1).

    One backward pass of the cross-entropy of a batch of digits through
    :func:`cnnblocks.models.mlp` for every (activation, initialiser) pair, float64.

    Parameters
    ----------
    depth, width, batch_size : int, optional
        Presets: quick 10/32/64, full 20/64/256.
    activations : names from :data:`cnnblocks.nn.ACTIVATIONS`
    inits : names from :data:`cnnblocks.init.INITIALIZERS`
    seed : int
        Seeds the weights (the same for every pair) and the data split.
    size : {'quick', 'full'}

    Returns
    -------
    InitGradientsResult
        ``sigmoid_attenuation`` measures the sigmoid run (Xavier if present), None without a
        sigmoid run.
    """
    func = "init_gradients"
    check_choice(size, SIZES, func=func, name="size")
    depth = as_int_tuple(_pick(depth, _INIT_PRESET, size, "depth"), 1, func=func, name="depth")[0]
    width = as_int_tuple(_pick(width, _INIT_PRESET, size, "width"), 1, func=func, name="width")[0]
    batch_size = as_int_tuple(_pick(batch_size, _INIT_PRESET, size, "batch_size"), 1,
                              func=func, name="batch_size")[0]
    for a in activations:
        check_choice(a, ACTIVATIONS, func=func, name="activations")
    for i in inits:
        check_choice(i, INITIALIZERS, func=func, name="inits")
    x, y = _digits_batch(batch_size, seed)
    runs = []
    for activation in activations:
        for init in inits:
            model = mlp(depth, width, activation, init, rng=np.random.default_rng(seed),
                        dtype=np.float64)
            records = record_gradients(model, x, y)
            runs.append(_summarise(activation, init, records))
    sigmoid_runs = [r for r in runs if r.activation == "sigmoid"]
    attenuation = None
    if sigmoid_runs:
        chosen = next((r for r in sigmoid_runs if r.init in ("xavier", "xavier_normal")),
                      sigmoid_runs[0])
        attenuation = _attenuation(chosen)
    return InitGradientsResult(depth, width, len(y), runs, attenuation)


def _summarise(activation: str, init: str, records: list[LayerRecord]) -> InitRun:
    linear = [r for r in records if r.kind == "linear"]
    acts = [r for r in records if r.kind == "activation"]
    return InitRun(
        activation=activation,
        init=init,
        weight_grad_norms=np.array([r.weight_grad_norm or 0.0 for r in linear]),
        output_grad_norms=np.array([r.output_grad_norm for r in linear]),
        mean_derivative=np.array([r.mean_derivative or 0.0 for r in acts]),
        saturated_fraction=np.array([r.saturated_fraction or 0.0 for r in acts]),
        records=records,
    )


def _attenuation(run: InitRun) -> Attenuation:
    acts = [r for r in run.records if r.kind == "activation"]
    w = run.weight_grad_norms
    return Attenuation(
        init=run.init,
        activation_ratio=np.array([r.input_grad_norm / r.output_grad_norm for r in acts]),
        layer_ratio=w[:-1] / w[1:],
        mean_derivative=run.mean_derivative,
    )


_SAT_PRESET = {
    "quick": {"depth": 6, "width": 32, "batch_size": 64},
    "full": {"depth": 10, "width": 64, "batch_size": 256},
}


def weight_scale_saturation(
    scales: Sequence[float] = (0.1, 0.3, 1.0, 3.0, 10.0),
    depth: int | None = None,
    width: int | None = None,
    activation: str = "sigmoid",
    batch_size: int | None = None,
    seed: int = 0,
    size: str = "full",
) -> SaturationResult:
    """Saturation and gradient size against the scale of the initial weights (experiment 2).

    Weights are drawn from N(0, (scale/√fan_in)²), so the pre-activation of a unit has standard
    deviation ≈ scale × (rms of its inputs); a large scale pushes it into σ's flat tails where
    σ′ ≈ 0 and the gradient dies.

    Parameters
    ----------
    scales : sequence of float > 0
    depth, width, batch_size : int, optional
        Presets: quick 6/32/64, full 10/64/256.
    activation : str
    seed : int
    size : {'quick', 'full'}
    """
    func = "weight_scale_saturation"
    check_choice(size, SIZES, func=func, name="size")
    check_choice(activation, ACTIVATIONS, func=func, name="activation")
    depth = as_int_tuple(_pick(depth, _SAT_PRESET, size, "depth"), 1, func=func, name="depth")[0]
    width = as_int_tuple(_pick(width, _SAT_PRESET, size, "width"), 1, func=func, name="width")[0]
    batch_size = as_int_tuple(_pick(batch_size, _SAT_PRESET, size, "batch_size"), 1,
                              func=func, name="batch_size")[0]
    values = [check_real(s, func=func, name="scales", low=0.0, low_inclusive=False)
              for s in scales]
    if not values:
        raise fail(func, "scales", "a non-empty sequence of reals > 0", scales)
    x, y = _digits_batch(batch_size, seed)
    saturated, derivative, first, last, pre = [], [], [], [], []
    for scale in values:
        def init(shape: tuple[int, ...], rng: np.random.Generator, s: float = scale
                 ) -> np.ndarray:
            return rng.normal(0.0, s / math.sqrt(shape[1]), size=shape)

        model = mlp(depth, width, activation, init, rng=np.random.default_rng(seed),
                    dtype=np.float64)
        run = _summarise(activation, f"normal(scale={scale})", record_gradients(model, x, y))
        saturated.append(run.saturated_fraction)
        derivative.append(run.mean_derivative)
        first.append(run.weight_grad_norms[0])
        last.append(run.weight_grad_norms[-1])
        first_act = next(layer for layer in model if getattr(layer, "last_input", None)
                         is not None)
        sample = np.ravel(getattr(first_act, "last_input"))  # noqa: B009 (typed as Module)
        pre.append(sample[:4096].copy())
    return SaturationResult(
        activation=activation,
        depth=depth,
        width=width,
        scales=np.array(values),
        saturated_fraction=np.array(saturated),
        mean_derivative=np.array(derivative),
        first_grad_norm=np.array(first),
        last_grad_norm=np.array(last),
        preactivations=pre,
    )


_CURVE_PRESET = {
    "quick": {"depth": 10, "width": 32, "epochs": 3},
    "full": {"depth": 10, "width": 64, "epochs": 30},
}
_VARIANT_INIT = {"sigmoid": "xavier", "tanh": "xavier"}


def _parse_variant(name: str, func: str) -> tuple[str, bool]:
    base, bn = (name[:-3], True) if name.endswith("_bn") else (name, False)
    if base not in ACTIVATIONS:
        choices = ", ".join(repr(a) for a in ("sigmoid", "relu", "tanh", "sigmoid_bn",
                                              "relu_bn", "tanh_bn"))
        raise fail(func, "variants", f"activation names, optionally with '_bn' (e.g. {choices})",
                   name)
    return base, bn


def training_curves(
    depth: int | None = None,
    width: int | None = None,
    epochs: int | None = None,
    variants: Sequence[str] = ("sigmoid", "relu", "sigmoid_bn"),
    lr: float = 0.01,
    lr_decay: float = 0.95,
    batch_size: int = 32,
    seed: int = 0,
    size: str = "full",
    progress: bool = False,
) -> TrainingCurvesResult:
    """Train the same deep MLP with different activations on the digits (experiment 3).

    Every variant uses the same depth, width, data (standardised digits), seed and optimiser
    (plain SGD with momentum 0.9, learning rate ``lr`` multiplied by ``lr_decay`` after each
    epoch: an adaptive optimiser such as Adam would rescale the small early-layer gradients and
    hide the effect). Sigmoid and tanh layers
    start from Xavier weights, the others from He; ``"<act>_bn"`` adds BatchNorm1d before each
    activation. With the defaults the sigmoid network stays at chance while ReLU and
    sigmoid + BatchNorm learn.

    Parameters
    ----------
    depth, width, epochs : int, optional
        Presets: quick 10/32/3, full 10/64/30.
    variants : sequence of str
        E.g. ``("sigmoid", "relu", "sigmoid_bn")``.
    lr : float
    lr_decay : float in (0, 1]
        Without decay the sigmoid + BatchNorm network swings between 60% and 94% late in training.
    batch_size, seed : int
    size : {'quick', 'full'}
    progress : bool
        Show fit's progress bar.
    """
    func = "training_curves"
    check_choice(size, SIZES, func=func, name="size")
    depth = as_int_tuple(_pick(depth, _CURVE_PRESET, size, "depth"), 1, func=func,
                         name="depth")[0]
    width = as_int_tuple(_pick(width, _CURVE_PRESET, size, "width"), 1, func=func,
                         name="width")[0]
    epochs = as_int_tuple(_pick(epochs, _CURVE_PRESET, size, "epochs"), 1, func=func,
                          name="epochs")[0]
    lr = check_real(lr, func=func, name="lr", low=0.0, low_inclusive=False)
    parsed = [_parse_variant(v, func) for v in variants]
    split = standardize(load_digits(seed=seed))
    histories: dict[str, History] = {}
    for name, (activation, bn) in zip(variants, parsed, strict=True):
        model = mlp(depth, width, activation, _VARIANT_INIT.get(activation, "he"),
                    rng=np.random.default_rng(seed), batch_norm=bn)
        optimizer = SGD(model.parameters(), lr=lr, momentum=0.9)
        histories[name] = fit(model, split.train, epochs, optimizer, batch_size, seed,
                              test=split.test, lr_decay=lr_decay, record_grad_norms=True,
                              progress=progress)
    return TrainingCurvesResult(depth, width, epochs, list(variants), histories)
