"""Sections 6 and 7: vanishing gradients, and LeNet on the digits (uses :mod:`cnnblocks.nn`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnblocks.plotting.charts import confusion_figure, curves_figure, saturation_figure
from cnnblocks.report.context import ReportContext
from cnnblocks.report.document import Note, Section, Table

__all__ = ["LenetRun", "gradient_section", "lenet_section", "train_lenets"]

_ACTIVATIONS = ("sigmoid", "tanh", "relu")
_INITS = ("xavier", "he", "large_normal")
CURVES_LR = 0.01


def _fmt(value: float) -> str:
    return f"{value:.2e}"


def gradient_section(ctx: ReportContext) -> Section:
    """Section 6: per-layer gradient norms, the 1/4 bound, large weights, and training curves."""
    from cnnblocks.gradflow.experiments import (
        init_gradients,
        training_curves,
        weight_scale_saturation,
    )

    size = "full" if ctx.size == "full" else "quick"
    tiny = ctx.size == "tiny"
    small: dict[str, Any] = {"depth": 6, "width": 16, "batch_size": 32} if tiny else {}
    ctx.step("gradients at initialisation")
    grads = init_gradients(
        activations=_ACTIVATIONS, inits=_INITS, seed=ctx.seed, size=size, **small
    )
    ctx.step("weight scale")
    sat = weight_scale_saturation(seed=ctx.seed, size=size, **small)
    curve_args: dict[str, Any] = {"depth": 6, "width": 16, "epochs": 1} if tiny else {}
    # SGD with lr 0.01: the preset's 0.05 makes the deep ReLU network collapse to chance.
    ctx.step("training sigmoid / relu / sigmoid + BatchNorm")
    curves = training_curves(seed=ctx.seed, size=size, lr=CURVES_LR, **curve_args)
    depth = grads.depth
    section = Section(
        "vanishing-gradients",
        ctx.t("s6.title"),
        ctx.t("s6.claim"),
        ctx.t(
            "s6.method",
            lr=CURVES_LR,
            depth=depth,
            width=grads.width,
            batch=grads.batch_size,
            cdepth=curves.depth,
            cwidth=curves.width,
            epochs=curves.epochs,
        ),
    )
    layers = list(range(1, depth + 2))
    section.blocks.append(
        ctx.figure(
            "s6-layer-norms",
            curves_figure(
                [
                    (
                        f"init: {init}",
                        {a: grads.run(a, init).weight_grad_norms for a in _ACTIVATIONS},
                    )
                    for init in _INITS
                ],
                xlabel="layer (1 = first, nearest the input)",
                ylabel="||dL/dW||",
                log=True,
                x_values=layers,
            ),
            ctx.t("s6.fig1.alt"),
            ctx.t("s6.fig1.caption", depth=depth),
        )
    )
    rows = []
    for a in _ACTIVATIONS:
        for init in _INITS:
            run = grads.run(a, init)
            w = run.weight_grad_norms
            rows.append(
                [
                    a,
                    init,
                    _fmt(float(w[0])),
                    _fmt(float(w[-1])),
                    _fmt(float(w[0] / w[-1])),
                    f"{float(np.mean(run.mean_derivative)):.3f}",
                    f"{100 * float(np.mean(run.saturated_fraction)):.1f}%",
                ]
            )
    section.blocks.append(
        Table(
            [
                ctx.t("s6.tab.act"),
                ctx.t("s6.tab.init"),
                "||dL/dW_1||",
                "||dL/dW_last||",
                ctx.t("s6.tab.ratio"),
                ctx.t("s6.tab.meand"),
                ctx.t("s6.tab.sat"),
            ],
            rows,
            ctx.t("s6.tab.caption"),
        )
    )
    att = grads.sigmoid_attenuation
    if att is not None:
        section.blocks.append(
            ctx.figure(
                "s6-attenuation",
                curves_figure(
                    [
                        (
                            "across each sigmoid: ||dL/dx|| / ||dL/dy||",
                            {
                                "measured": att.activation_ratio,
                                "mean sigma'(x)": att.mean_derivative,
                            },
                        ),
                        (
                            "layer to layer: ||dL/dW_l|| / ||dL/dW_l+1||",
                            {"measured": att.layer_ratio},
                        ),
                    ],
                    xlabel="sigmoid layer",
                    ylabel="ratio",
                    hlines={"bound 1/4": att.bound},
                    x_values=list(range(1, len(att.activation_ratio) + 1)),
                ),
                ctx.t("s6.fig2.alt"),
                ctx.t("s6.fig2.caption", init=att.init),
            )
        )
    section.blocks.append(
        ctx.figure(
            "s6-weight-scale",
            saturation_figure(
                sat.scales,
                100 * sat.saturated_fraction.mean(axis=1),
                sat.first_grad_norm,
                sat.last_grad_norm,
            ),
            ctx.t("s6.fig3.alt"),
            ctx.t("s6.fig3.caption", depth=sat.depth),
        )
    )
    names = curves.variants
    section.blocks.append(
        ctx.figure(
            "s6-training",
            curves_figure(
                [
                    ("test accuracy", {v: curves.histories[v].test_accuracy or [] for v in names}),
                    ("training loss", {v: curves.histories[v].loss for v in names}),
                    (
                        "||dL/dW|| of the first layer",
                        {v: curves.histories[v].first_grad_norm or [] for v in names},
                    ),
                ],
                xlabel="epoch",
                ylabel="",
                log=(False, False, True),
                x_values=list(range(1, curves.epochs + 1)),
            ),
            ctx.t("s6.fig4.alt"),
            ctx.t("s6.fig4.caption", depth=curves.depth),
        )
    )
    finals = {v: (curves.histories[v].test_accuracy or [float("nan")])[-1] for v in names}
    section.blocks.append(
        Table(
            [ctx.t("s6.tab2.variant"), ctx.t("s6.tab2.acc"), ctx.t("s6.tab2.first")],
            [
                [
                    v,
                    f"{100 * finals[v]:.1f}%",
                    _fmt(float(np.mean(curves.histories[v].first_grad_norm or [np.nan]))),
                ]
                for v in names
            ],
            ctx.t("s6.tab2.caption", epochs=curves.epochs),
        )
    )
    sig = grads.run("sigmoid", "xavier").weight_grad_norms
    rel = grads.run("relu", "he").weight_grad_norms
    big = grads.run("sigmoid", "large_normal").weight_grad_norms
    sig_drop = float(sig[0] / sig[-1])
    relu_drop = float(rel[0] / rel[-1])
    big_drop = float(big[0] / big[-1])
    max_ratio = float(att.activation_ratio.max()) if att is not None else float("nan")
    per_layer = att.geometric_mean_layer_ratio if att is not None else float("nan")
    sat_small = float(100 * sat.saturated_fraction[0].mean())
    sat_large = float(100 * sat.saturated_fraction[-1].mean())
    vanishes = sig_drop < relu_drop and sig_drop < 1e-2
    bound_ok = max_ratio <= 0.25 + 1e-12
    g_small, g_large = float(sat.first_grad_norm[0]), float(sat.first_grad_norm[-1])
    large_worse = g_large < g_small
    trained = finals.get("relu", 0.0) > finals.get("sigmoid", 1.0) and finals.get(
        "sigmoid_bn", 0.0
    ) > finals.get("sigmoid", 1.0)
    section.blocks.append(Note(ctx.t("s6.note")))
    section.holds = vanishes and bound_ok and trained
    values: dict[str, Any] = {
        "depth": depth,
        "sig": sig_drop,
        "relu": relu_drop,
        "big": big_drop,
        "maxr": max_ratio,
        "per_layer": per_layer,
        "sat_small": sat_small,
        "sat_large": sat_large,
        "s_small": float(sat.scales[0]),
        "s_large": float(sat.scales[-1]),
        "g_small": g_small,
        "g_large": g_large,
        "acc_sig": 100 * finals.get("sigmoid", float("nan")),
        "acc_relu": 100 * finals.get("relu", float("nan")),
        "acc_bn": 100 * finals.get("sigmoid_bn", float("nan")),
        "epochs": curves.epochs,
    }
    prefix = "holds" if section.holds and large_worse else ("partly" if section.holds else "fails")
    section.partly = prefix == "partly"
    parts = [
        ctx.t(f"s6.v.{prefix}"),
        ctx.t("s6.v.vanish" if vanishes else "s6.v.vanish.no", **values),
        ctx.t("s6.v.bound" if bound_ok else "s6.v.bound.no", **values),
        ctx.t("s6.v.large" if large_worse else "s6.v.large.no", **values),
        ctx.t("s6.v.training", **values),
    ]
    section.verdict = " ".join(parts)
    return section


def _epochs_to(accuracy: list[float], level: float) -> int | None:
    """First epoch (1-based) whose test accuracy reached ``level``; None if none did."""
    return next((i for i, a in enumerate(accuracy, start=1) if a >= level), None)


@dataclass(frozen=True, slots=True)
class LenetRun:
    """One trained LeNet: its settings, test accuracy per epoch and confusion matrix."""

    activation: str
    pool: str
    test_accuracy: list[float]
    confusion: np.ndarray
    seconds: float


def train_lenets(
    epochs: int,
    seed: int,
    *,
    train_limit: int | None = None,
    lr: float = 3e-3,
    on_step: Callable[[str], None] | None = None,
) -> list[LenetRun]:
    """Train LeNet on the digits for max/avg pooling x sigmoid/relu (Adam, batch 32)."""
    from cnnblocks.data import Dataset, load_digits
    from cnnblocks.models import lenet
    from cnnblocks.optim import Adam
    from cnnblocks.training import fit

    split = load_digits(seed=seed)
    train = split.train
    if train_limit is not None:
        train = Dataset(train.x[:train_limit], train.y[:train_limit])
    runs: list[LenetRun] = []
    for activation in ("relu", "sigmoid"):
        for pool in ("max", "avg"):
            if on_step is not None:
                on_step(f"training {activation} + {pool} pool ({len(runs) + 1}/4)")
            model = lenet(activation, pool, rng=np.random.default_rng(seed))
            optimizer = Adam(model.parameters(), lr=lr)
            history = fit(
                model, train, epochs, optimizer, 32, seed, test=split.test, progress=False
            )
            model.eval()
            predicted = np.argmax(model(split.test.x), axis=1)
            confusion = np.zeros((10, 10), dtype=np.int64)
            np.add.at(confusion, (split.test.y, predicted), 1)
            runs.append(
                LenetRun(
                    activation, pool, list(history.test_accuracy or []), confusion, history.seconds
                )
            )
    return runs


def lenet_section(ctx: ReportContext) -> Section:
    """Section 7: LeNet on the digits, max vs average pooling and sigmoid vs ReLU."""
    epochs = ctx.pick(1, 4, 20)
    runs = train_lenets(
        epochs, ctx.seed, train_limit=256 if ctx.size == "tiny" else None, on_step=ctx.step
    )
    section = Section(
        "lenet", ctx.t("s7.title"), ctx.t("s7.claim"), ctx.t("s7.method", epochs=epochs)
    )
    label = {(r.activation, r.pool): f"{r.activation} + {r.pool} pool" for r in runs}
    section.blocks.append(
        Table(
            [
                ctx.t("s7.tab.act"),
                ctx.t("s7.tab.pool"),
                ctx.t("s7.tab.acc"),
                ctx.t("s7.tab.best"),
                ctx.t("s7.tab.time"),
            ],
            [
                [
                    r.activation,
                    r.pool,
                    f"{100 * r.test_accuracy[-1]:.1f}%",
                    f"{100 * max(r.test_accuracy):.1f}%",
                    f"{r.seconds:.1f}",
                ]
                for r in runs
            ],
            ctx.t("s7.tab.caption", n=int(runs[0].confusion.sum())),
        )
    )
    section.blocks.append(
        ctx.figure(
            "s7-accuracy",
            curves_figure(
                [("test accuracy", {label[(r.activation, r.pool)]: r.test_accuracy for r in runs})],
                xlabel="epoch",
                ylabel="accuracy",
                x_values=list(range(1, epochs + 1)),
            ),
            ctx.t("s7.fig1.alt"),
            ctx.t("s7.fig1.caption"),
            width=55,
        )
    )
    section.blocks.append(
        ctx.figure(
            "s7-confusion",
            confusion_figure([(label[(r.activation, r.pool)], r.confusion) for r in runs]),
            ctx.t("s7.fig2.alt"),
            ctx.t("s7.fig2.caption"),
        )
    )
    acc = {(r.activation, r.pool): r.test_accuracy[-1] for r in runs}
    mean = {(r.activation, r.pool): float(np.mean(r.test_accuracy)) for r in runs}
    reach = {(r.activation, r.pool): _epochs_to(r.test_accuracy, 0.9) for r in runs}
    relu_faster = all(mean[("relu", p)] > mean[("sigmoid", p)] for p in ("max", "avg"))
    section.holds = relu_faster
    never = ctx.t("s7.never")
    section.verdict = ctx.t(
        "s7.verdict" if relu_faster else "s7.verdict.fails",
        epochs=epochs,
        rm=100 * acc[("relu", "max")],
        ra=100 * acc[("relu", "avg")],
        sm=100 * acc[("sigmoid", "max")],
        sa=100 * acc[("sigmoid", "avg")],
        mrm=100 * mean[("relu", "max")],
        mra=100 * mean[("relu", "avg")],
        msm=100 * mean[("sigmoid", "max")],
        msa=100 * mean[("sigmoid", "avg")],
        erm=reach[("relu", "max")] or never,
        era=reach[("relu", "avg")] or never,
        esm=reach[("sigmoid", "max")] or never,
        esa=reach[("sigmoid", "avg")] or never,
    )
    return section
