"""Section 5: Sigmoid against ReLU, the derivative σ′ = σ(1−σ) = 1/(2+e^x+e^−x) <= 1/4."""

from __future__ import annotations

import numpy as np

from cnnblocks.plotting import activation_figure
from cnnblocks.report.context import ReportContext
from cnnblocks.report.document import Section, Table

__all__ = ["sigmoid_relu_section"]


def _reference_sigmoid_grad(x: np.ndarray) -> np.ndarray:
    """The lesson's closed form 1/(2 + e^x + e^-x), written out independently of cnnblocks.

    Evaluated as e^-|x| / (1 + e^-|x|)^2, the same value multiplied through by e^-|x| (the
    expression is even in x), so that exp never overflows.
    """
    z = np.exp(-np.abs(x))
    value: np.ndarray = z / (1.0 + z) ** 2
    return value


def sigmoid_relu_section(ctx: ReportContext) -> Section:
    """Section 5: the lesson's plot, the derivative curves and the numerical checks."""
    from cnnblocks.functional.activations import (
        relu,
        relu_grad,
        sigmoid,
        sigmoid_backward,
        sigmoid_forward,
        sigmoid_grad,
    )

    section = Section("sigmoid-relu", ctx.t("s5.title"), ctx.t("s5.claim"), ctx.t("s5.method"))
    section.blocks.append(
        ctx.figure(
            "s5-sigmoid-relu",
            activation_figure(("sigmoid", "relu")),
            ctx.t("s5.fig.alt"),
            ctx.t("s5.fig.caption"),
            width=90,
        )
    )
    x = np.arange(-10_000, 10_001, dtype=np.float64) / 1000.0  # step 0.001, x = 0 exactly
    s = np.asarray(sigmoid(x))
    grad = np.asarray(sigmoid_grad(x))
    product = s * (1.0 - s)
    closed = _reference_sigmoid_grad(x)
    h = 1e-5
    central = (np.asarray(sigmoid(x + h)) - np.asarray(sigmoid(x - h))) / (2 * h)
    peak = int(np.argmax(grad))
    err_product = float(np.max(np.abs(grad - product)))
    err_closed = float(np.max(np.abs(grad - closed)))
    err_fd = float(np.max(np.abs(grad - central)))
    bound_ok = bool(np.all(grad <= 0.25))
    peak_ok = x[peak] == 0.0 and grad[peak] == 0.25
    # Chain rule: dL/dx = dL/dy * σ′(x), so |dL/dx| <= |dL/dy| / 4 for any upstream gradient.
    rng = np.random.default_rng(ctx.seed)
    grad_y = rng.standard_normal(x.shape)
    _, context = sigmoid_forward(x)
    grad_x = np.asarray(sigmoid_backward(grad_y, context))
    chain_ratio = float(np.max(np.abs(grad_x) / np.maximum(np.abs(grad_y), 1e-300)))
    r = np.asarray(relu(x))
    r_grad = np.asarray(relu_grad(x))
    relu_ok = bool(
        np.array_equal(r_grad[x > 0], np.ones(int((x > 0).sum())))
        and np.array_equal(r_grad[x <= 0], np.zeros(int((x <= 0).sum())))
        and np.array_equal(r, np.maximum(x, 0.0))
    )
    section.blocks.append(
        Table(
            [ctx.t("s5.tab.check"), ctx.t("s5.tab.value")],
            [
                [ctx.t("s5.row.max"), f"{grad[peak]:.17g} (x = {x[peak]:g})"],
                [ctx.t("s5.row.bound"), ctx.t("yes") if bound_ok else ctx.t("no")],
                ["max |sigmoid_grad(x) − σ(x)(1 − σ(x))|", f"{err_product:.2e}"],
                ["max |sigmoid_grad(x) − 1/(2 + e^x + e^−x)|", f"{err_closed:.2e}"],
                [ctx.t("s5.row.fd"), f"{err_fd:.2e}"],
                [ctx.t("s5.row.chain"), f"{chain_ratio:.6f}"],
                [ctx.t("s5.row.relu"), ctx.t("yes") if relu_ok else ctx.t("no")],
            ],
            ctx.t("s5.tab.caption"),
        )
    )
    points = [-10.0, -5.0, -2.0, 0.0, 2.0, 5.0, 10.0]
    px = np.array(points)
    section.blocks.append(
        Table(
            ["x", "σ(x)", "σ′(x)", "1/(2+e^x+e^−x)", "ReLU(x)", "ReLU′(x)"],
            [
                [f"{v:g}", f"{a:.6g}", f"{b:.6g}", f"{c:.6g}", f"{d:g}", f"{e:g}"]
                for v, a, b, c, d, e in zip(
                    points,
                    np.asarray(sigmoid(px)),
                    np.asarray(sigmoid_grad(px)),
                    _reference_sigmoid_grad(px),
                    np.asarray(relu(px)),
                    np.asarray(relu_grad(px)),
                    strict=True,
                )
            ],
            ctx.t("s5.tab2.caption"),
        )
    )
    tails = float(grad[np.abs(x) >= 5].max())
    section.holds = bool(
        bound_ok
        and peak_ok
        and err_product < 1e-12
        and err_closed < 1e-12
        and err_fd < 1e-8
        and chain_ratio <= 0.25
        and relu_ok
    )
    section.verdict = ctx.t(
        "s5.verdict",
        peak=float(grad[peak]),
        at=float(x[peak]),
        err=max(err_product, err_closed),
        fd=err_fd,
        tails=tails,
        chain=chain_ratio,
    )
    return section
