"""Figures through matplotlib's object API on the Agg canvas: no pyplot, display or global state."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cnnblocks._checks import fail

__all__ = ["FIGURE_FORMATS", "check_figure_path", "new_figure", "save_figure"]

FIGURE_FORMATS = ("png", "svg", "pdf")


def new_figure(width: float, height: float, *, dpi: int = 100) -> Figure:
    """A ``width`` x ``height`` inch figure with its own Agg canvas (thread-safe, headless)."""
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def check_figure_path(path: str | os.PathLike[str], *, func: str = "save_figure") -> Path:
    """Return ``path`` as a Path after checking its extension names a format we write."""
    target = Path(path)
    suffix = target.suffix.lower().lstrip(".")
    if suffix not in FIGURE_FORMATS:
        listed = ", ".join(f"'.{f}'" for f in FIGURE_FORMATS)
        raise fail(func, "path", f"a file name ending in one of {{{listed}}}", str(path))
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 100) -> Path:
    """Write ``fig`` to ``path`` (format from the extension) all at once.

    The figure is rendered into a temporary file in the target directory and renamed over the
    target, so a failed run never leaves half an image behind.
    """
    target = check_figure_path(path)
    fmt = target.suffix.lower().lstrip(".")
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            # No dates or version stamps: the same figure gives the same bytes on every run.
            metadata = {"Date": None} if fmt in ("svg", "pdf") else {"Software": None}
            fig.savefig(handle, format=fmt, dpi=dpi, metadata=metadata)
        os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp makes files private; figures are shared
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target
