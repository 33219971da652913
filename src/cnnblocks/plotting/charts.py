"""Charts of measured results: grouped bars, per-layer curves (log scale), confusion matrices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cnnblocks.plotting._figure import new_figure

# Curves and bars take lists or 1-D arrays of numbers.
Values = Sequence[float] | np.ndarray

__all__ = ["confusion_figure", "curves_figure", "grouped_bars_figure", "saturation_figure"]


def _bars(
    ax: Axes, groups: Sequence[str], series: Mapping[str, Values], ylabel: str
) -> None:
    width = 0.8 / max(len(series), 1)
    centres = np.arange(len(groups))
    for i, (name, values) in enumerate(series.items()):
        offset = (i - (len(series) - 1) / 2) * width
        bars = ax.bar(centres + offset, values, width, label=name)
        ax.bar_label(bars, fmt="%.3g", fontsize=8, padding=2)
    ax.set_xticks(centres, list(groups))
    ax.set_ylabel(ylabel)
    ax.margins(y=0.15)


def grouped_bars_figure(
    groups: Sequence[str],
    series: Mapping[str, Values],
    ylabel: str,
    *,
    second: Mapping[str, Values] | None = None,
    second_ylabel: str = "",
) -> Figure:
    """Bars grouped by ``groups``, one colour per series; an optional second panel beside it."""
    panels = 2 if second is not None else 1
    fig = new_figure(5.2 * panels, 3.8)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    _bars(axes[0], groups, series, ylabel)
    axes[0].legend(fontsize=8, loc="upper right")
    if second is not None:
        _bars(axes[1], groups, second, second_ylabel)
    return fig


def curves_figure(
    panels: Sequence[tuple[str, Mapping[str, Values]]],
    *,
    xlabel: str,
    ylabel: str,
    log: bool | Sequence[bool] = False,
    hlines: Mapping[str, float] | None = None,
    x_values: Values | None = None,
    sharey: bool = False,
) -> Figure:
    """One panel per ``(title, {label: values})``; lines over 0..n-1 (or ``x_values``).

    ``log`` puts every panel's y axis on a log scale, or one flag per panel.
    """
    fig = new_figure(4.6 * len(panels), 3.8)
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=sharey)[0]
    logs = [log] * len(panels) if isinstance(log, bool) else list(log)
    for ax, (title, lines), log_y in zip(axes, panels, logs, strict=True):
        for label, values in lines.items():
            ys = np.asarray(values, dtype=np.float64)
            xs = np.asarray(x_values) if x_values is not None else np.arange(len(ys))
            if log_y:
                ys = np.where(ys > 0, ys, np.nan)  # log axes cannot show 0; leave a gap
            ax.plot(xs, ys, marker="o", markersize=3, label=label)
        for label, y in (hlines or {}).items():
            ax.axhline(y, color="0.4", linestyle="--", linewidth=1, label=label)
        if log_y:
            ax.set_yscale("log")
        if x_values is not None and all(float(v).is_integer() for v in x_values):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs and layers are counts
        ax.set_title(title, fontsize=11)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def confusion_figure(matrices: Sequence[tuple[str, np.ndarray]]) -> Figure:
    """Confusion matrices side by side (rows: true class, columns: predicted), counts written in."""
    fig = new_figure(3.6 * len(matrices), 3.9)
    axes = fig.subplots(1, len(matrices), squeeze=False)[0]
    for ax, (title, matrix) in zip(axes, matrices, strict=True):
        ax.imshow(matrix, cmap="Blues", interpolation="nearest")
        n = matrix.shape[0]
        top = matrix.max() if matrix.size else 0
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    colour = "white" if matrix[i, j] > top / 2 else "black"
                    ax.text(
                        j,
                        i,
                        str(int(matrix[i, j])),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color=colour,
                    )
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.tick_params(labelsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title, fontsize=10)
    return fig


def saturation_figure(
    scales: Values,
    saturated_percent: Values,
    first_grad_norm: Values,
    last_grad_norm: Values,
) -> Figure:
    """Saturated sigmoid units and first/last-layer gradient norms against the weight scale."""
    fig = new_figure(10.0, 3.8)
    left, right = fig.subplots(1, 2)
    xs = np.asarray(scales, dtype=np.float64)
    left.plot(xs, saturated_percent, marker="o", color="r", label="sigmoid layers, mean")
    left.set_xscale("log")
    left.set_xlabel("weight scale (std = scale / sqrt(fan_in))")
    left.set_ylabel("saturated units, sigma'(x) < 0.01 (%)")
    left.grid(True, alpha=0.3)
    left.legend(fontsize=8)
    right.plot(xs, first_grad_norm, marker="o", label="first layer")
    right.plot(xs, last_grad_norm, marker="s", label="last layer")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("weight scale (std = scale / sqrt(fan_in))")
    right.set_ylabel("||dL/dW||")
    right.grid(True, alpha=0.3)
    right.legend(fontsize=8)
    return fig
