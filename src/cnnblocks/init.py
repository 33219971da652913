"""Weight initialisers, each a function of an explicit :class:`numpy.random.Generator`.

Fans follow PyTorch: for a Linear weight of shape ``(out, in)``, ``fan_in = in`` and
``fan_out = out``; for a Conv2d weight ``(C_out, C_in, k_h, k_w)``, ``fan_in = C_in k_h k_w`` and
``fan_out = C_out k_h k_w``.

==================  ==========================================================================
name                distribution
==================  ==========================================================================
normal              N(mean, std²), std = 0.01 by default
uniform             U(low, high), (−0.05, 0.05) by default
xavier_uniform      U(±a), a = gain √(6 / (fan_in + fan_out))             (Glorot & Bengio 2010)
xavier_normal       N(0, σ²), σ = gain √(2 / (fan_in + fan_out))
kaiming_uniform     U(±b), b = gain √(3 / fan_in), gain = √2 for ReLU     (He et al. 2015)
kaiming_normal      N(0, σ²), σ = gain / √fan_in
pytorch             U(±1/√fan_in): PyTorch's default for Linear and Conv2d weights
==================  ==========================================================================

Aliases: ``"xavier"``/``"glorot"`` = ``xavier_normal``, ``"he"``/``"kaiming"`` =
``kaiming_normal``, ``"large_normal"`` = ``normal`` with std 1 (the lesson's "large random
weights").
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np

from cnnblocks._checks import check_real, fail

__all__ = [
    "INITIALIZERS",
    "Initializer",
    "compute_fans",
    "get_initializer",
    "kaiming_normal",
    "kaiming_uniform",
    "normal",
    "pytorch_default",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
]

Initializer: TypeAlias = Callable[[tuple[int, ...], np.random.Generator], np.ndarray]


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape`` (see the module docstring).

    >>> compute_fans((6, 1, 5, 5))
    (25, 150)
    """
    dims = tuple(int(n) for n in shape)
    if len(dims) < 2:
        raise fail("compute_fans", "shape", "a weight shape with at least 2 axes", shape)
    receptive = math.prod(dims[2:])
    return dims[1] * receptive, dims[0] * receptive


def _check_rng(rng: Any, func: str) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise fail(func, "rng", "a numpy.random.Generator (np.random.default_rng(seed))", rng)
    return rng


def normal(
    shape: tuple[int, ...], rng: np.random.Generator, std: float = 0.01, mean: float = 0.0
) -> np.ndarray:
    """Draw from N(mean, std²).

    >>> normal((2, 3), np.random.default_rng(0), std=0.0, mean=1.0).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    std = check_real(std, func="normal", name="std", low=0.0)
    mean = check_real(mean, func="normal", name="mean")
    return _check_rng(rng, "normal").normal(mean, std, size=shape)


def uniform(
    shape: tuple[int, ...], rng: np.random.Generator, low: float = -0.05, high: float = 0.05
) -> np.ndarray:
    """Draw from U(low, high)."""
    low = check_real(low, func="uniform", name="low")
    high = check_real(high, func="uniform", name="high", low=low)
    return _check_rng(rng, "uniform").uniform(low, high, size=shape)


def xavier_uniform(
    shape: tuple[int, ...], rng: np.random.Generator, gain: float = 1.0
) -> np.ndarray:
    """Glorot uniform: U(±gain √(6 / (fan_in + fan_out))); keeps Var(y) ≈ Var(x) (tanh-like)."""
    gain = check_real(gain, func="xavier_uniform", name="gain", low=0.0)
    fan_in, fan_out = compute_fans(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _check_rng(rng, "xavier_uniform").uniform(-bound, bound, size=shape)


def xavier_normal(
    shape: tuple[int, ...], rng: np.random.Generator, gain: float = 1.0
) -> np.ndarray:
    """Glorot normal: N(0, gain² · 2 / (fan_in + fan_out))."""
    gain = check_real(gain, func="xavier_normal", name="gain", low=0.0)
    fan_in, fan_out = compute_fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _check_rng(rng, "xavier_normal").normal(0.0, std, size=shape)


def kaiming_uniform(
    shape: tuple[int, ...], rng: np.random.Generator, gain: float = math.sqrt(2.0)
) -> np.ndarray:
    """He uniform: U(±gain √(3 / fan_in)); gain √2 keeps the variance through ReLU layers."""
    gain = check_real(gain, func="kaiming_uniform", name="gain", low=0.0)
    fan_in, _ = compute_fans(shape)
    bound = gain * math.sqrt(3.0 / fan_in)
    return _check_rng(rng, "kaiming_uniform").uniform(-bound, bound, size=shape)


def kaiming_normal(
    shape: tuple[int, ...], rng: np.random.Generator, gain: float = math.sqrt(2.0)
) -> np.ndarray:
    """He normal: N(0, gain² / fan_in)."""
    gain = check_real(gain, func="kaiming_normal", name="gain", low=0.0)
    fan_in, _ = compute_fans(shape)
    return _check_rng(rng, "kaiming_normal").normal(0.0, gain / math.sqrt(fan_in), size=shape)


def pytorch_default(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """PyTorch's default Linear/Conv2d weight: kaiming_uniform with a = √5, i.e. U(±1/√fan_in)."""
    fan_in, _ = compute_fans(shape)
    bound = 1.0 / math.sqrt(fan_in)
    return _check_rng(rng, "pytorch_default").uniform(-bound, bound, size=shape)


_BASE: dict[str, Callable[..., np.ndarray]] = {
    "normal": normal,
    "uniform": uniform,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "kaiming_uniform": kaiming_uniform,
    "kaiming_normal": kaiming_normal,
    "pytorch": pytorch_default,
}
_ALIASES: dict[str, tuple[str, dict[str, float]]] = {
    "xavier": ("xavier_normal", {}),
    "glorot": ("xavier_normal", {}),
    "he": ("kaiming_normal", {}),
    "kaiming": ("kaiming_normal", {}),
    "large_normal": ("normal", {"std": 1.0}),
}
INITIALIZERS: tuple[str, ...] = (*_BASE, *_ALIASES)


def get_initializer(name: str | Initializer, **kwargs: float) -> Initializer:
    """Look up an initialiser by name and bind its keyword arguments.

    Parameters
    ----------
    name : str or callable
        One of :data:`INITIALIZERS`, or already a callable ``(shape, rng) -> array`` (returned
        as is).
    **kwargs
        E.g. ``std=2.0`` for ``"normal"``, ``gain=1.0`` for ``"kaiming_normal"``.

    Examples
    --------
    >>> init = get_initializer("normal", std=0.0)
    >>> init((1, 2), np.random.default_rng(0)).tolist()
    [[0.0, 0.0]]
    """
    if callable(name):
        if kwargs:
            raise fail("get_initializer", "kwargs", "empty when 'name' is a callable", kwargs)
        return name
    if not isinstance(name, str) or name not in INITIALIZERS:
        listed = ", ".join(repr(n) for n in INITIALIZERS)
        raise fail("get_initializer", "name", f"one of {{{listed}}}", name)
    if name in _ALIASES:
        base, defaults = _ALIASES[name]
        return functools.partial(_BASE[base], **{**defaults, **kwargs})
    return functools.partial(_BASE[name], **kwargs)
