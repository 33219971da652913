"""Sections 3 and 4: translation invariance on the digits, and what pooling saves downstream."""

from __future__ import annotations

import numpy as np

from cnnblocks.functional.pooling import max_pool
from cnnblocks.plotting import image_row_figure
from cnnblocks.plotting.charts import grouped_bars_figure
from cnnblocks.report.context import ReportContext
from cnnblocks.report.data import digit_images
from cnnblocks.report.document import Figure, Note, Section, Table
from cnnblocks.report.experiments import (
    conv_relu,
    fc_cost,
    shift_on_canvas,
    time_fc_forward,
    translation_invariance,
)

__all__ = ["parameter_section", "translation_section"]

_STAGES = ("conv", "conv + max pool 2x2", "conv + avg pool 2x2")


def translation_section(ctx: ReportContext) -> Section:
    """Section 3: shift digits by 1 and 2 pixels; how much of the feature map changes."""
    section = Section("translation", ctx.t("s3.title"), ctx.t("s3.claim"), "")
    images, _ = digit_images()
    count = ctx.pick(64, 400, len(images))
    rng = np.random.default_rng(ctx.seed)
    chosen = images[rng.permutation(len(images))[:count]]
    filters = rng.standard_normal((8, 3, 3))
    section.method = ctx.t("s3.method", count=count, filters=filters.shape[0])
    results = translation_invariance(chosen, filters, (1, 2))
    by = {(r.shift, r.stage): r for r in results}
    section.blocks.append(
        Table(
            [
                ctx.t("s3.tab.shift"),
                ctx.t("s3.tab.stage"),
                ctx.t("s3.tab.unchanged"),
                ctx.t("s3.tab.change"),
            ],
            [
                [f"{r.shift} px", r.stage, f"{100 * r.unchanged:.1f}%", f"{r.relative_change:.3f}"]
                for r in results
            ],
            ctx.t("s3.tab.caption"),
        )
    )
    section.blocks.append(
        ctx.figure(
            "s3-translation",
            grouped_bars_figure(
                groups=[f"shift {s} px" for s in (1, 2)],
                series={
                    stage: [100 * by[(s, stage)].unchanged for s in (1, 2)] for stage in _STAGES
                },
                ylabel="outputs unchanged (%)",
                second={
                    stage: [by[(s, stage)].relative_change for s in (1, 2)] for stage in _STAGES
                },
                second_ylabel="mean relative change",
            ),
            ctx.t("s3.fig.alt"),
            ctx.t("s3.fig.caption"),
            width=85,
        )
    )
    section.blocks.append(_example_figure(ctx, chosen[0], filters[:1]))
    conv1, max1 = by[(1, "conv")], by[(1, "conv + max pool 2x2")]
    conv2, max2 = by[(2, "conv")], by[(2, "conv + max pool 2x2")]
    section.blocks.append(Note(ctx.t("s3.note")))
    helps = max1.unchanged > conv1.unchanged and max1.relative_change < conv1.relative_change
    most = max1.unchanged > 0.5
    section.holds = helps and most
    section.partly = helps and not most
    key = "s3.verdict" if section.holds else ("s3.verdict.partly" if helps else "s3.verdict.fails")
    section.verdict = ctx.t(
        key,
        conv1=100 * conv1.unchanged,
        max1=100 * max1.unchanged,
        rconv1=conv1.relative_change,
        rmax1=max1.relative_change,
        conv2=100 * conv2.unchanged,
        max2=100 * max2.unchanged,
        rconv2=conv2.relative_change,
        rmax2=max2.relative_change,
    )
    return section


def _example_figure(ctx: ReportContext, image: np.ndarray, one_filter: np.ndarray) -> Figure:
    """One digit and the same digit moved 1 pixel right: conv map and max-pooled map of each."""
    before = shift_on_canvas(image[None], 2, 0, 0)
    after = shift_on_canvas(image[None], 2, 0, 1)
    conv_before, conv_after = conv_relu(before, one_filter), conv_relu(after, one_filter)
    pool_before = np.asarray(max_pool(conv_before, 2))
    pool_after = np.asarray(max_pool(conv_after, 2))
    return ctx.figure(
        "s3-example",
        image_row_figure(
            [
                ("input", before[0]),
                ("shifted 1 px", after[0]),
                ("conv", conv_before[0, 0]),
                ("conv (shifted)", conv_after[0, 0]),
                ("max pool", pool_before[0, 0]),
                ("max pool (shifted)", pool_after[0, 0]),
            ],
            height=2.2,
        ),
        ctx.t("s3.fig0.alt"),
        ctx.t("s3.fig0.caption"),
    )


def parameter_section(ctx: ReportContext) -> Section:
    """Section 4: the first fully connected layer of LeNet with and without pooling."""
    batch = 1024
    repeats = ctx.pick(20, 50, 100)
    section = Section(
        "parameters",
        ctx.t("s4.title"),
        ctx.t("s4.claim"),
        ctx.t("s4.method", batch=batch, repeats=repeats),
    )
    rows = []
    ratios = []
    for size, label in ((8, "digits 8x8"), (28, "MNIST 28x28")):
        costs = {pooled: fc_cost(size, pooled) for pooled in (True, False)}
        times = {
            pooled: time_fc_forward(cost, batch, repeats, ctx.seed)
            for pooled, cost in costs.items()
        }
        for pooled in (True, False):
            cost = costs[pooled]
            rows.append(
                [
                    label,
                    ctx.t("yes") if pooled else ctx.t("no"),
                    f"{cost.in_features:,}",
                    f"{cost.parameters:,}",
                    f"{cost.multiplies:,}",
                    f"{cost.bytes_float32 / 1024:,.1f} KiB",
                    f"{1e3 * times[pooled]:.3f}",
                ]
            )
        ratios.append(
            (
                label,
                costs[False].parameters / costs[True].parameters,
                times[False] / times[True],
            )
        )
    section.blocks.append(
        Table(
            [
                ctx.t("s4.tab.input"),
                ctx.t("s4.tab.pooled"),
                ctx.t("s4.tab.features"),
                ctx.t("s4.tab.params"),
                ctx.t("s4.tab.mults"),
                "float32",
                ctx.t("s4.tab.time", batch=batch),
            ],
            rows,
            ctx.t("s4.tab.caption"),
        )
    )
    (_, p8, t8), (_, p28, t28) = ratios
    section.holds = p8 > 1 and p28 > 1 and t8 > 1 and t28 > 1
    section.verdict = ctx.t("s4.verdict", p8=p8, t8=t8, p28=p28, t28=t28)
    return section
