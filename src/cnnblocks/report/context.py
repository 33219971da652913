"""What every section builder gets: where to write figures, the language, the run size, the seed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure as MplFigure

from cnnblocks.plotting import save_figure
from cnnblocks.report.document import Figure
from cnnblocks.report.strings import translate

__all__ = ["SIZES", "ReportContext"]

# quick: under a minute on 2 cores; full: the lesson's sizes, a few minutes; tiny: for the tests.
SIZES = ("tiny", "quick", "full")


@dataclass(frozen=True, slots=True)
class ReportContext:
    """Settings and the output directory shared by the section builders."""

    directory: Path
    lang: str
    size: str
    seed: int
    on_step: Callable[[str], None] = field(default=lambda text: None, repr=False)

    def step(self, text: str) -> None:
        """Tell the progress display which part of a long section is running."""
        self.on_step(text)

    def t(self, key: str, **values: object) -> str:
        """The text for ``key`` in the report's language, with ``values`` filled in."""
        return translate(self.lang, key, **values)

    @property
    def quick(self) -> bool:
        """True for the quick and tiny runs."""
        return self.size != "full"

    def pick(self, tiny: int, quick: int, full: int) -> int:
        """A size for this run: the first for tiny, the second for quick, the third for full."""
        return {"tiny": tiny, "quick": quick, "full": full}[self.size]

    def figure(self, name: str, fig: MplFigure, alt: str, caption: str, width: int = 100) -> Figure:
        """Save ``fig`` as ``figures/<name>.png`` and return the block that shows it."""
        relative = f"figures/{name}.png"
        target = self.directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        save_figure(fig, target, dpi=110)
        return Figure(relative, alt, caption, width)
