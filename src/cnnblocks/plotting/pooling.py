"""Pictures of pooling: the windows drawn over a small input, and images before and after."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnblocks.plotting._figure import new_figure

__all__ = ["image_row_figure", "windows_figure"]

_WINDOW_COLOURS = (
    "tab:red",
    "tab:blue",
    "tab:green",
    "tab:orange",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:olive",
    "tab:cyan",
)


def _number_grid(ax: Axes, values: np.ndarray, title: str, fmt: str) -> None:
    rows, cols = values.shape
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for i in range(rows):
        for j in range(cols):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="0.6", lw=0.8))
            ax.text(j, i, format(float(values[i, j]), fmt), ha="center", va="center", fontsize=14)
    ax.set_title(title, fontsize=12)


def windows_figure(
    x: np.ndarray,
    outputs: Sequence[tuple[str, np.ndarray]],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    *,
    input_title: str = "input",
) -> Figure:
    """A small 2-D input with each pooling window outlined, beside the pooled outputs.

    Window ``(i, j)`` and output cell ``(i, j)`` share a colour, so the reader can see which
    neighbourhood each output summarises. No padding is drawn: use it for padding-free examples.

    Parameters
    ----------
    x : ndarray, shape (H, W)
    outputs : sequence of (title, ndarray of shape (H_out, W_out))
    kernel, stride : (int, int)
    """
    fig = new_figure(3.2 * (1 + len(outputs)), 3.7)
    axes = fig.subplots(1, 1 + len(outputs), squeeze=False)[0]
    _number_grid(axes[0], x, input_title, "g")
    out_rows, out_cols = outputs[0][1].shape if outputs else (0, 0)
    for i in range(out_rows):
        for j in range(out_cols):
            colour = _WINDOW_COLOURS[(i * out_cols + j) % len(_WINDOW_COLOURS)]
            inset = 0.06 + 0.04 * ((i + j) % 2)  # overlapping windows stay distinguishable
            axes[0].add_patch(
                Rectangle(
                    (j * stride[1] - 0.5 + inset, i * stride[0] - 0.5 + inset),
                    kernel[1] - 2 * inset,
                    kernel[0] - 2 * inset,
                    fill=False,
                    edgecolor=colour,
                    lw=2.5,
                )
            )
    for ax, (title, values) in zip(axes[1:], outputs, strict=True):
        _number_grid(ax, values, title, ".4g")
        rows, cols = values.shape
        for i in range(rows):
            for j in range(cols):
                colour = _WINDOW_COLOURS[(i * cols + j) % len(_WINDOW_COLOURS)]
                ax.add_patch(
                    Rectangle(
                        (j - 0.44, i - 0.44), 0.88, 0.88, fill=False, edgecolor=colour, lw=2.5
                    )
                )
    return fig


def image_row_figure(images: Sequence[tuple[str, np.ndarray]], *, height: float = 2.8) -> Figure:
    """Images side by side, each titled and drawn at its own resolution (nearest neighbour).

    Arrays of shape (H, W) are drawn in grey, (H, W, 3) as RGB in [0, 1].
    """
    fig = new_figure(height * len(images), height + 0.4)
    axes = fig.subplots(1, len(images), squeeze=False)[0]
    for ax, (title, image) in zip(axes, images, strict=True):
        if image.ndim == 2:
            ax.imshow(image, cmap="gray_r", interpolation="nearest")
        else:
            ax.imshow(np.clip(image, 0.0, 1.0), interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
