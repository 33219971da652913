"""Build the lesson report: run every section, write ``index.html`` and its figures atomically."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cnnblocks._checks import check_choice, fail
from cnnblocks.errors import ParameterError
from cnnblocks.report.context import SIZES, ReportContext
from cnnblocks.report.document import Report, Section, render_html
from cnnblocks.report.strings import LANGUAGES

__all__ = ["SECTION_BUILDERS", "build_report"]

SectionBuilder = Callable[[ReportContext], Section]


def _builders() -> list[tuple[str, SectionBuilder]]:
    from cnnblocks.report.activation_claims import sigmoid_relu_section
    from cnnblocks.report.pooling_claims import output_size_section, summary_section

    builders: list[tuple[str, SectionBuilder]] = [
        ("1 pooling summarises", summary_section),
        ("2 output size", output_size_section),
    ]
    builders += _later_builders()
    builders.insert(4, ("5 sigmoid vs relu", sigmoid_relu_section))
    return builders


def _later_builders() -> list[tuple[str, SectionBuilder]]:
    """Sections 3, 4, 6 and 7 (they need the layers and training of :mod:`cnnblocks.nn`)."""
    from cnnblocks.report.network_claims import parameter_section, translation_section
    from cnnblocks.report.training_claims import gradient_section, lenet_section

    return [
        ("3 translation invariance", translation_section),
        ("4 parameters and compute", parameter_section),
        ("6 vanishing gradients", gradient_section),
        ("7 lenet on digits", lenet_section),
    ]


SECTION_BUILDERS = _builders


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _environment(
    ctx: ReportContext, seconds: float, sections: Sequence[Section]
) -> list[tuple[str, str]]:
    import cnnblocks

    rows = [
        ("cnnblocks", cnnblocks.__version__),
        ("Python", platform.python_version()),
    ]
    rows += [(name, _version(name)) for name in ("numpy", "numba", "matplotlib", "scikit-learn")]
    rows += [
        (ctx.t("env.platform"), f"{platform.platform()} ({platform.machine()})"),
        (ctx.t("env.cpus"), str(os.cpu_count())),
        (ctx.t("env.seed"), str(ctx.seed)),
        (ctx.t("env.mode"), ctx.size),
        (ctx.t("env.seconds"), f"{seconds:.1f} s"),
        (
            ctx.t("env.section_times"),
            ", ".join(f"{i}: {s.seconds:.1f}" for i, s in enumerate(sections, start=1)),
        ),
    ]
    return rows


def _check_target(out: Path) -> None:
    """Refuse to replace anything but an earlier report (a directory may hold the user's files)."""
    rule = "a new or empty directory, or an earlier cnnblocks report (which is replaced)"
    if not out.exists():
        return
    if not out.is_dir():
        raise ParameterError(
            f"The 'out' parameter of build_report() must be {rule}. Got {str(out)!r}, a file."
        )
    entries = {p.name for p in out.iterdir()}
    index = out / "index.html"
    ours = index.is_file() and 'content="cnnblocks report"' in index.read_text("utf-8", "replace")
    if entries and not (ours and entries <= {"index.html", "figures"}):
        others = ", ".join(sorted(entries - {"index.html", "figures"}) or sorted(entries))
        raise ParameterError(
            f"The 'out' parameter of build_report() must be {rule}. Got {str(out)!r}, which "
            f"holds other files ({others[:60]})."
        )


def build_report(
    out: str | os.PathLike[str],
    *,
    lang: str = "en",
    size: str = "full",
    seed: int = 0,
    console: Console | None = None,
    progress: bool = True,
) -> Path:
    """Run every section and write ``out/index.html`` with its figures; return the index path.

    The report is written into a temporary directory beside ``out`` and renamed into place at the
    end, so an interrupted or failed run leaves the previous report (or nothing) behind.

    Parameters
    ----------
    out : path
        Report directory; created, or replaced if it holds an earlier report.
    lang : {'en', 'zh'}
        Language of the text; figures use math notation in both.
    size : {'tiny', 'quick', 'full'}
        Experiment sizes: ``'full'`` (a few minutes on 2 cores), ``'quick'`` (under a minute),
        ``'tiny'`` (seconds, for tests).
    seed : int
        Seed of every random draw.
    """
    func = "build_report"
    check_choice(lang, LANGUAGES, func=func, name="lang")
    check_choice(size, SIZES, func=func, name="size")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise fail(func, "seed", "an int >= 0", seed)
    target = Path(out).resolve()
    _check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    console = console or Console(stderr=True)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    work.chmod(0o755)  # mkdtemp makes it private; a report is meant to be read
    try:
        current = {"label": ""}
        bar_ref: dict[str, Any] = {}

        def on_step(text: str) -> None:
            if "bar" in bar_ref:
                bar_ref["bar"].update(bar_ref["task"], description=f"{current['label']}: {text}")

        ctx = ReportContext(work, lang, size, seed, on_step)
        sections: list[Section] = []
        builders = _builders()
        with Progress(
            TextColumn("[bold]report[/bold] {task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            disable=not progress,
            transient=False,
        ) as bar:
            task = bar.add_task("", total=len(builders))
            bar_ref.update(bar=bar, task=task)
            for label, builder in builders:
                current["label"] = label
                bar.update(task, description=label)
                t0 = time.perf_counter()
                section = builder(ctx)
                section.seconds = time.perf_counter() - t0
                sections.append(section)
                bar.advance(task)
        seconds = time.perf_counter() - started
        when = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        report = Report(
            lang=lang,
            title=ctx.t("title"),
            subtitle=ctx.t(
                "subtitle", mode=ctx.t(f"mode.{size}"), seed=seed, when=when, seconds=seconds
            ),
            labels={k: ctx.t(f"label.{k}") for k in ("claim", "method", "verdict", "environment")},
            sections=sections,
            environment=_environment(ctx, seconds, sections),
        )
        (work / "index.html").write_text(render_html(report), encoding="utf-8")
        _move_into_place(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target / "index.html"


def _move_into_place(work: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / "report")
    try:
        os.replace(work, target)
    except BaseException:
        if old is not None:
            os.replace(old / "report", target)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
