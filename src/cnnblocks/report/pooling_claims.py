"""Sections 1 and 2: pooling summarises a neighbourhood; stride, padding and the output size."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from cnnblocks.functional.pooling import avg_pool, max_pool
from cnnblocks.plotting import image_row_figure, windows_figure
from cnnblocks.report.context import ReportContext
from cnnblocks.report.data import digit_images
from cnnblocks.report.document import Note, Preformatted, Section, Table
from cnnblocks.shapes import explain_output_shape, normalize_padding

__all__ = ["WORKED_INPUT", "WORKED_MAX", "WORKED_MEAN", "output_size_section", "summary_section"]

# The worked example and its pooled values, computed by hand window by window:
# top-left {1, 3, 4, 6}, top-right {2, 1, 5, 0}, bottom-left {7, 2, 1, 0},
# bottom-right {9, 8, 3, 4}.
WORKED_INPUT = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [7, 2, 9, 8], [1, 0, 3, 4]], dtype=np.float64)
WORKED_MAX = np.array([[6, 5], [7, 9]], dtype=np.float64)
WORKED_MEAN = np.array([[14 / 4, 8 / 4], [10 / 4, 24 / 4]], dtype=np.float64)


def _pool2d(fn: Any, image: np.ndarray, k: int) -> np.ndarray:
    pooled: np.ndarray = np.asarray(fn(image[None, None], k))[0, 0]
    return pooled


def summary_section(ctx: ReportContext) -> Section:
    """Section 1: a 2x2 region becomes one value, its maximum or its mean."""
    section = Section(
        "pooling-summarises",
        ctx.t("s1.title"),
        ctx.t("s1.claim"),
        ctx.t("s1.method"),
    )
    got_max = _pool2d(max_pool, WORKED_INPUT, 2)
    got_mean = _pool2d(avg_pool, WORKED_INPUT, 2)
    section.blocks.append(
        ctx.figure(
            "s1-worked-example",
            windows_figure(
                WORKED_INPUT,
                [("max_pool 2x2, S=2", got_max), ("avg_pool 2x2, S=2", got_mean)],
                (2, 2),
                (2, 2),
                input_title="input 4x4",
            ),
            ctx.t("s1.fig1.alt"),
            ctx.t("s1.fig1.caption"),
            width=80,
        )
    )
    section.blocks.append(
        Table(
            [
                ctx.t("s1.tab.window"),
                ctx.t("s1.tab.values"),
                "max (hand)",
                "max_pool",
                "mean (hand)",
                "avg_pool",
            ],
            [
                [
                    f"({i}, {j})",
                    ", ".join(
                        f"{v:g}" for v in WORKED_INPUT[2 * i : 2 * i + 2, 2 * j : 2 * j + 2].ravel()
                    ),
                    f"{WORKED_MAX[i, j]:g}",
                    f"{got_max[i, j]:g}",
                    f"{WORKED_MEAN[i, j]:g}",
                    f"{got_mean[i, j]:g}",
                ]
                for i in range(2)
                for j in range(2)
            ],
            ctx.t("s1.tab.caption"),
        )
    )
    images, labels = digit_images()
    index = int(np.flatnonzero(labels == 3)[0])
    digit = images[index]
    max2, avg2 = _pool2d(max_pool, digit, 2), _pool2d(avg_pool, digit, 2)
    max4, avg4 = _pool2d(max_pool, digit, 4), _pool2d(avg_pool, digit, 4)
    section.blocks.append(
        ctx.figure(
            "s1-digit",
            image_row_figure(
                [
                    ("digit 8x8", digit),
                    ("max 2x2 -> 4x4", max2),
                    ("avg 2x2 -> 4x4", avg2),
                    ("max 4x4 -> 2x2", max4),
                    ("avg 4x4 -> 2x2", avg4),
                ]
            ),
            ctx.t("s1.fig2.alt"),
            ctx.t("s1.fig2.caption", index=index),
        )
    )
    # A 4x4 sheet of digits (32x32) shows what pooling keeps at a readable size.
    sheet = np.block([[images[r * 4 + c] for c in range(4)] for r in range(4)])
    section.blocks.append(
        ctx.figure(
            "s1-digit-sheet",
            image_row_figure(
                [
                    ("32x32", sheet),
                    ("max 2x2 -> 16x16", _pool2d(max_pool, sheet, 2)),
                    ("avg 2x2 -> 16x16", _pool2d(avg_pool, sheet, 2)),
                ],
                height=3.4,
            ),
            ctx.t("s1.fig3.alt"),
            ctx.t("s1.fig3.caption"),
            width=75,
        )
    )
    # Each pooled value must equal the statistic of its own window: check every window directly.
    windows = digit.reshape(4, 2, 4, 2).transpose(0, 2, 1, 3).reshape(4, 4, 4)
    window_ok = bool(
        np.array_equal(max2, windows.max(axis=2)) and np.allclose(avg2, windows.mean(axis=2))
    )
    worked_ok = bool(np.array_equal(got_max, WORKED_MAX) and np.allclose(got_mean, WORKED_MEAN))
    section.holds = worked_ok and window_ok
    section.verdict = ctx.t(
        "s1.verdict",
        worked=ctx.t("yes") if worked_ok else ctx.t("no"),
        windows=ctx.t("yes") if window_ok else ctx.t("no"),
        before=digit.size,
        after=max2.size,
        mean_bright=float(max2.mean()),
        mean_avg=float(avg2.mean()),
    )
    return section


# (H, W, kernel, stride, padding as the lesson's (p_h1, p_h2, p_w1, p_w2), ceil_mode)
_SETTINGS: list[tuple[int, int, tuple[int, int], tuple[int, int], Any, bool]] = [
    (28, 28, (2, 2), (2, 2), (0, 0, 0, 0), False),
    (8, 8, (2, 2), (2, 2), (0, 0, 0, 0), False),
    (32, 24, (2, 2), (2, 2), (0, 0, 0, 0), False),
    (7, 7, (2, 2), (2, 2), (0, 0, 0, 0), False),
    (7, 7, (2, 2), (2, 2), (0, 1, 0, 1), False),
    (7, 7, (2, 2), (2, 2), (0, 0, 0, 0), True),
    (8, 8, (3, 3), (2, 1), (1, 0, 0, 2), False),
    (10, 12, (3, 2), (3, 2), (2, 1, 0, 1), False),
    (6, 9, (3, 3), (1, 2), (1, 1, 1, 1), False),
    (5, 5, (2, 2), (2, 2), (1, 1, 1, 1), True),
]


def _lesson_formula(n: int, p1: int, p2: int, k: int, s: int) -> str:
    value = Fraction(n + p1 + p2 - k, s) + 1
    text = f"({n}+{p1}+{p2}-{k})/{s}+1 = {value}"
    return text if value.denominator == 1 else f"{text} = {float(value):.4g}"


def output_size_section(ctx: ReportContext) -> Section:
    """Section 2: the output-size formula against measured shapes, asymmetric padding included."""
    section = Section("output-size", ctx.t("s2.title"), ctx.t("s2.claim"), ctx.t("s2.method"))
    rng = np.random.default_rng(ctx.seed)
    rows: list[list[str]] = []
    agree = 0
    halves_ok = True
    channels = 3
    for h, w, k, s, pad, ceil in _SETTINGS:
        x = rng.standard_normal((2, channels, h, w))
        pads = normalize_padding(pad, (h, w), k, s, (1, 1))
        expected = []
        for n, kk, ss, (p1, p2) in zip((h, w), k, s, pads, strict=True):
            num = n + p1 + p2 - kk
            expected.append((-(-num // ss) if ceil else num // ss) + 1)
        # PyTorch/ONNX drop a last ceil-mode window that would start in the bottom/right padding.
        if ceil:
            expected = [
                e - 1 if (e - 1) * ss >= n + p1 else e
                for e, n, ss, (p1, _) in zip(expected, (h, w), s, pads, strict=True)
            ]
        y_max = np.asarray(max_pool(x, k, s, pad, ceil_mode=ceil))
        y_avg = np.asarray(avg_pool(x, k, s, pad, ceil_mode=ceil))
        measured = y_max.shape
        ok = measured == (2, channels, *expected) and y_avg.shape == measured
        agree += ok
        if k == (2, 2) and s == (2, 2) and pad == (0, 0, 0, 0) and not ceil and h % 2 == 0:
            halves_ok = halves_ok and measured[2:] == (h // 2, w // 2) and measured[1] == channels
        rows.append(
            [
                f"(2, {channels}, {h}, {w})",
                f"{k[0]}x{k[1]}",
                f"{s[0]}, {s[1]}",
                ", ".join(map(str, (pads[0][0], pads[0][1], pads[1][0], pads[1][1]))),
                "ceil" if ceil else "floor",
                _lesson_formula(h, pads[0][0], pads[0][1], k[0], s[0]),
                _lesson_formula(w, pads[1][0], pads[1][1], k[1], s[1]),
                f"{expected[0]} x {expected[1]}",
                str(measured),
                "✓" if ok else "✗",
            ]
        )
    section.blocks.append(
        Table(
            [
                ctx.t("s2.tab.input"),
                "k",
                "S_h, S_w",
                "p_h1, p_h2, p_w1, p_w2",
                ctx.t("s2.tab.mode"),
                "H_out (lesson)",
                "W_out (lesson)",
                ctx.t("s2.tab.expected"),
                ctx.t("s2.tab.measured"),
                "",
            ],
            rows,
            ctx.t("s2.tab.caption"),
        )
    )
    section.blocks.append(
        Preformatted(explain_output_shape((2, 3, 8, 8), (3, 3), (2, 1), (1, 0, 0, 2)))
    )
    section.blocks.append(Note(ctx.t("s2.note.typo")))
    section.holds = agree == len(_SETTINGS) and halves_ok
    section.verdict = ctx.t(
        "s2.verdict",
        agree=agree,
        total=len(_SETTINGS),
        halves=ctx.t("yes") if halves_ok else ctx.t("no"),
    )
    return section
