"""Figures for the command line and the report: matplotlib's object API on the Agg canvas.

Nothing here touches ``matplotlib.pyplot``: each function returns a
:class:`matplotlib.figure.Figure` with its own Agg canvas, and :func:`save_figure` writes it
atomically, format from the extension (PNG, SVG or PDF).
"""

from __future__ import annotations

from cnnblocks.plotting._figure import FIGURE_FORMATS, check_figure_path, new_figure, save_figure
from cnnblocks.plotting.activations import (
    activation_figure,
    activation_functions,
    available_activations,
    lesson_x,
)
from cnnblocks.plotting.pooling import image_row_figure, windows_figure

__all__ = [
    "FIGURE_FORMATS",
    "activation_figure",
    "activation_functions",
    "available_activations",
    "check_figure_path",
    "image_row_figure",
    "lesson_x",
    "new_figure",
    "save_figure",
    "windows_figure",
]
