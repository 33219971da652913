"""The report as data (sections of blocks) and its HTML form: one self-contained page.

The page opens from disk with no server: images are referenced by relative paths under
``figures/``, the style sheet is inline, and there is no script.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

__all__ = [
    "Block",
    "Figure",
    "Note",
    "Paragraph",
    "Preformatted",
    "Report",
    "Section",
    "Table",
    "render_html",
]


@dataclass(frozen=True, slots=True)
class Paragraph:
    """Plain text (escaped)."""

    text: str


@dataclass(frozen=True, slots=True)
class Note:
    """A short aside set off from the text (escaped)."""

    text: str


@dataclass(frozen=True, slots=True)
class Preformatted:
    """Monospaced text, e.g. a formula with the numbers filled in."""

    text: str


@dataclass(frozen=True, slots=True)
class Figure:
    """An image written under the report directory; ``src`` is relative to ``index.html``."""

    src: str
    alt: str
    caption: str
    width_percent: int = 100


@dataclass(frozen=True, slots=True)
class Table:
    """A table of already formatted cells."""

    header: list[str]
    rows: list[list[str]]
    caption: str = ""


Block = Paragraph | Note | Preformatted | Figure | Table


@dataclass(slots=True)
class Section:
    """One claim of the lesson: what it says, how we measured it, what we saw, and the verdict."""

    key: str
    title: str
    claim: str
    method: str
    blocks: list[Block] = field(default_factory=list)
    verdict: str = ""
    holds: bool | None = None  # None: not a yes/no claim, or not measured in this run
    partly: bool = False  # the claim holds only in part: shown apart from both holds and fails
    seconds: float = 0.0


@dataclass(slots=True)
class Report:
    """Everything ``index.html`` shows."""

    lang: str
    title: str
    subtitle: str
    labels: dict[str, str]
    sections: list[Section]
    environment: list[tuple[str, str]]


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "PingFang SC",
       "Microsoft YaHei", sans-serif; max-width: 1060px; margin: 2em auto; padding: 0 1em;
       line-height: 1.55; color: #1d1d1f; }
h1 { font-size: 1.9em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2.2em; }
.subtitle { color: #555; margin-top: 0; }
.claim { font-size: 1.08em; background: #f5f7fb; border-left: 4px solid #4a6fa5;
         padding: 0.5em 0.8em; }
.method { color: #333; }
.verdict { border-left: 4px solid #888; background: #fafafa; padding: 0.5em 0.8em; }
.verdict.holds { border-color: #2e8b57; background: #f1faf4; }
.verdict.fails { border-color: #c0392b; background: #fdf2f1; }
.verdict.partly { border-color: #d68910; background: #fdf6ec; }
.note { color: #555; font-size: 0.95em; border-left: 3px solid #ccc; padding-left: 0.7em; }
figure { margin: 1em 0; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.92em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f0f0; }
td:first-child, th:first-child { text-align: left; }
caption { caption-side: top; color: #555; padding-bottom: 0.3em; text-align: left; }
pre { background: #f6f8fa; padding: 0.7em; overflow-x: auto; font-size: 0.9em; }
nav ol { columns: 2; }
.env td { text-align: left; }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _block_html(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{_e(block.text)}</p>"
    if isinstance(block, Note):
        return f'<p class="note">{_e(block.text)}</p>'
    if isinstance(block, Preformatted):
        return f"<pre>{_e(block.text)}</pre>"
    if isinstance(block, Figure):
        return (
            f'<figure><img src="{_e(block.src)}" alt="{_e(block.alt)}" '
            f'style="width:{block.width_percent}%"><figcaption>{_e(block.caption)}</figcaption>'
            "</figure>"
        )
    head = "".join(f"<th>{_e(h)}</th>" for h in block.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in block.rows
    )
    caption = f"<caption>{_e(block.caption)}</caption>" if block.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report) -> str:
    """The whole page as a string (UTF-8, ``lang`` set, no external resources)."""
    lab = report.labels
    toc = "".join(f'<li><a href="#{_e(s.key)}">{_e(s.title)}</a></li>' for s in report.sections)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{_e(report.lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="cnnblocks report">',
        f"<title>{_e(report.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(report.title)}</h1>",
        f'<p class="subtitle">{_e(report.subtitle)}</p>',
        f"<nav><ol>{toc}</ol></nav>",
    ]
    for number, section in enumerate(report.sections, start=1):
        status = (
            "partly" if section.partly else {True: "holds", False: "fails", None: ""}[section.holds]
        )
        parts.append(f'<section id="{_e(section.key)}">')
        parts.append(f"<h2>{number}. {_e(section.title)}</h2>")
        parts.append(
            f'<p class="claim"><strong>{_e(lab["claim"])}</strong> {_e(section.claim)}</p>'
        )
        parts.append(
            f'<p class="method"><strong>{_e(lab["method"])}</strong> {_e(section.method)}</p>'
        )
        parts.extend(_block_html(b) for b in section.blocks)
        parts.append(
            f'<p class="verdict {status}"><strong>{_e(lab["verdict"])}</strong> '
            f"{_e(section.verdict)}</p>"
        )
        parts.append("</section>")
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in report.environment)
    parts.append(f'<h2 id="environment">{_e(lab["environment"])}</h2>')
    parts.append(f'<table class="env"><tbody>{rows}</tbody></table>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
