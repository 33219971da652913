"""The lesson's activation figure: each function on top, its derivative below.

The lesson plots Sigmoid (red) and ReLU (green) side by side over ``x = np.arange(-10, 10, 0.1)``
with the labels ``$y=Sigmoid(x)$`` at (-9, 0.9) and ``$y=ReLU(x)$`` at (-3, 9), axis labels
``x`` and ``y``. We keep that row exactly and add a row with the derivatives: σ′ with its bound
1/4 (reached at x = 0) and relu′, which is 1 for x > 0 (and 0 at 0, our choice, as PyTorch's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from cnnblocks._checks import fail
from cnnblocks.plotting._figure import new_figure

__all__ = [
    "DISPLAY_NAMES",
    "activation_figure",
    "activation_functions",
    "available_activations",
    "lesson_x",
]

DISPLAY_NAMES = {
    "sigmoid": "Sigmoid",
    "relu": "ReLU",
    "relu6": "ReLU6",
    "leaky_relu": "LeakyReLU",
    "elu": "ELU",
    "selu": "SELU",
    "celu": "CELU",
    "gelu": "GELU",
    "silu": "SiLU",
    "swish": "Swish",
    "mish": "Mish",
    "softplus": "Softplus",
    "softsign": "Softsign",
    "tanh": "Tanh",
    "hardsigmoid": "Hardsigmoid",
    "hardswish": "Hardswish",
    "thresholded_relu": "ThresholdedReLU",
}
_COLOURS = {"sigmoid": "r", "relu": "g"}
_OTHER_COLOURS = ("tab:blue", "tab:purple", "tab:orange", "tab:brown", "tab:cyan", "tab:olive")
# Where the lesson puts its labels (data coordinates).
_LESSON_LABEL_AT = {"sigmoid": (-9.0, 0.9), "relu": (-3.0, 9.0)}

# Activations with a learned parameter have no curve of their own.
_NEEDS_PARAMETERS = frozenset({"prelu"})

Activation = Callable[[np.ndarray], np.ndarray]


def lesson_x() -> np.ndarray:
    """The lesson's grid: ``np.arange(-10, 10, 0.1)``, 200 points, 10 excluded."""
    return np.arange(-10, 10, 0.1)


def available_activations() -> list[str]:
    """Names ``f`` with both ``f`` and ``f_grad`` in :mod:`cnnblocks.functional.activations`."""
    from cnnblocks.functional import activations as module

    names = getattr(module, "__all__", dir(module))
    return sorted(
        n
        for n in names
        if not n.endswith("_grad")
        and n not in _NEEDS_PARAMETERS
        and callable(getattr(module, n, None))
        and callable(getattr(module, f"{n}_grad", None))
    )


def activation_functions(
    name: str, *, func: str = "activation_figure"
) -> tuple[Activation, Activation]:
    """``(f, f_grad)`` for an activation name, e.g. ``'sigmoid'``; unknown names are rejected."""
    from cnnblocks.functional import activations as module

    choices = available_activations()
    if not isinstance(name, str) or name not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise fail(func, "name", f"one of {{{listed}}}", name)
    f: Any = getattr(module, name)
    grad: Any = getattr(module, f"{name}_grad")
    return f, grad


def _display(name: str) -> str:
    return DISPLAY_NAMES.get(name, name.replace("_", r"\_"))


def activation_figure(
    names: Sequence[str] = ("sigmoid", "relu"), *, derivatives: bool = True
) -> Figure:
    """Plot each activation over the lesson's grid, one column each, derivatives in a second row.

    Parameters
    ----------
    names : sequence of str
        Activation names; the default is the lesson's figure.
    derivatives : bool
        Add the row of derivatives f′(x); the sigmoid panel marks the bound 1/4 and its maximum
        at 0.

    Returns
    -------
    matplotlib.figure.Figure
        On an Agg canvas; save it with :func:`cnnblocks.plotting.save_figure`.
    """
    if isinstance(names, str) or len(names) == 0:
        raise fail("activation_figure", "names", "a non-empty sequence of activation names", names)
    pairs = [activation_functions(n) for n in names]
    x = lesson_x()
    rows = 2 if derivatives else 1
    cols = len(names)
    fig = new_figure(5.0 * cols, 4.2 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for j, (name, (f, grad)) in enumerate(zip(names, pairs, strict=True)):
        colour = _COLOURS.get(name, _OTHER_COLOURS[j % len(_OTHER_COLOURS)])
        label = _display(name)
        ax = axes[0][j]
        y = np.asarray(f(x))
        ax.plot(x, y, color=colour)
        if name in _LESSON_LABEL_AT:
            ax.text(*_LESSON_LABEL_AT[name], rf"$y={label}(x)$", fontsize=13)
        else:
            ax.text(0.04, 0.9, rf"$y={label}(x)$", fontsize=13, transform=ax.transAxes)
        ax.xaxis.set_label_text("x", fontsize=15)
        ax.yaxis.set_label_text("y", fontsize=15)
        if not derivatives:
            continue
        ax = axes[1][j]
        dy = np.asarray(grad(x))
        ax.plot(x, dy, color=colour)
        ax.text(0.04, 0.9, rf"$y'={label}'(x)$", fontsize=13, transform=ax.transAxes)
        if name == "sigmoid":
            ax.axhline(0.25, color="0.4", linestyle="--", linewidth=1)
            ax.text(4.0, 0.235, r"$1/4$", fontsize=12, color="0.3", va="top")
            ax.plot([0.0], [0.25], "o", color="k", markersize=4)
            ax.annotate(
                r"max at $x=0$",
                xy=(0.0, 0.25),
                xytext=(1.2, 0.16),
                fontsize=11,
                arrowprops={"arrowstyle": "->", "color": "0.3"},
            )
            ax.set_ylim(-0.01, 0.3)
        ax.xaxis.set_label_text("x", fontsize=15)
        ax.yaxis.set_label_text("dy/dx", fontsize=15)
    return fig
