"""Figures: object API on Agg, the lesson's labels and data, atomic saving."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from cnnblocks.errors import ParameterError
from cnnblocks.plotting import (
    activation_figure,
    available_activations,
    lesson_x,
    save_figure,
    windows_figure,
)
from cnnblocks.plotting.charts import confusion_figure, curves_figure


def test_lesson_grid() -> None:
    x = lesson_x()
    assert x.shape == (200,)
    assert x[0] == -10.0
    assert x[-1] < 10.0


def test_activation_figure_is_the_lessons_with_a_derivative_row() -> None:
    fig = activation_figure()
    assert isinstance(fig.canvas, FigureCanvasAgg)
    axes = fig.axes
    assert len(axes) == 4
    top_left, top_right, bottom_left, _ = axes
    texts = [t.get_text() for t in top_left.texts]
    assert "$y=Sigmoid(x)$" in texts
    assert "$y=ReLU(x)$" in [t.get_text() for t in top_right.texts]
    assert top_left.get_xlabel() == "x"
    assert top_left.get_ylabel() == "y"
    # The plotted data are the lesson's: sigmoid and relu over np.arange(-10, 10, 0.1).
    x, y = top_left.lines[0].get_data()
    np.testing.assert_allclose(x, np.arange(-10, 10, 0.1))
    np.testing.assert_allclose(y, 1.0 / (1.0 + np.exp(-np.asarray(x))), rtol=1e-12)
    xr, yr = top_right.lines[0].get_data()
    np.testing.assert_array_equal(yr, np.clip(np.asarray(xr), 0.0, None))
    assert top_left.lines[0].get_color() == "r"
    assert top_right.lines[0].get_color() == "g"
    # The derivative panel of the sigmoid marks the 1/4 bound.
    assert any(line.get_ydata()[0] == 0.25 for line in bottom_left.lines[1:])
    _, dy = bottom_left.lines[0].get_data()
    assert max(dy) <= 0.25


def test_activation_figure_other_names_and_errors() -> None:
    assert {"sigmoid", "relu", "tanh", "gelu"} <= set(available_activations())
    assert "prelu" not in available_activations()  # needs a learned slope
    fig = activation_figure(("tanh",), derivatives=False)
    assert len(fig.axes) == 1
    with pytest.raises(ParameterError, match="'name' parameter of activation_figure"):
        activation_figure(("swishy",))
    with pytest.raises(ParameterError, match="'names' parameter of activation_figure"):
        activation_figure("sigmoid")


def test_save_figure_formats_and_atomicity(tmp_path: Path) -> None:
    fig = curves_figure([("t", {"a": [1.0, 0.1, 0.01]})], xlabel="x", ylabel="y", log=True)
    assert save_figure(fig, tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in save_figure(fig, tmp_path / "c.svg").read_bytes()[:500]
    with pytest.raises(ParameterError, match="'path' parameter of save_figure"):
        save_figure(fig, tmp_path / "c.gif")
    with pytest.raises(FileNotFoundError):
        save_figure(fig, tmp_path / "missing" / "c.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "c.svg"]


def test_windows_and_confusion_figures_draw_what_they_are_given() -> None:
    x = np.arange(16.0).reshape(4, 4)
    fig = windows_figure(x, [("max", np.array([[5.0, 7.0], [13.0, 15.0]]))], (2, 2), (2, 2))
    numbers = [t.get_text() for t in fig.axes[0].texts]
    assert numbers == [f"{v:g}" for v in range(16)]
    assert [t.get_text() for t in fig.axes[1].texts] == ["5", "7", "13", "15"]
    matrix = np.array([[3, 1], [0, 4]])
    conf = confusion_figure([("m", matrix)])
    assert sorted(t.get_text() for t in conf.axes[0].texts) == ["1", "3", "4"]  # zeros left blank


def test_no_pyplot_state_machine() -> None:
    # Drawing every kind of figure must not import pyplot (global state and a GUI backend).
    code = (
        "import sys, numpy as np\n"
        "from cnnblocks.plotting import activation_figure, image_row_figure\n"
        "activation_figure(); image_row_figure([('a', np.zeros((2, 2)))])\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
