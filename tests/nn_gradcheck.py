"""Central-difference checks of layers: input gradients and parameter gradients.

Builds on :mod:`tests.gradcheck` (the operators' helper): a layer is checked as the function
``x -> layer(x)`` with its backward as the vector-Jacobian product, and each parameter as the
function ``θ -> layer(x; θ)`` with the gradient the layer accumulated into ``θ.grad``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cnnblocks.nn import Module
from gradcheck import check_vjp, numeric_vjp

__all__ = ["check_layer", "check_loss_network"]


def check_layer(
    layer: Module,
    x: np.ndarray,
    *,
    before_forward: Callable[[], None] | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    seed: int = 0,
) -> None:
    """Check ``dL/dx`` and every ``dL/dθ`` of ``layer`` at ``x`` for a random ``dL/dy``.

    ``before_forward`` runs before every forward (e.g. to reseed a Dropout mask).
    """
    x = np.asarray(x, dtype=np.float64)

    def forward(v: np.ndarray) -> np.ndarray:
        if before_forward is not None:
            before_forward()
        return layer(v)

    y = forward(x)
    grad_y = np.random.default_rng(seed).standard_normal(y.shape)
    layer.zero_grad()
    forward(x)
    grad_x = layer.backward(grad_y)
    analytic = {name: p.grad.copy() for name, p in layer.named_parameters()}
    label = type(layer).__name__
    check_vjp(forward, lambda g: grad_x, x, grad_y=grad_y, op=label, arg="x", rtol=rtol,
              atol=atol)
    for name, p in layer.named_parameters():
        original = p.value.copy()

        def of_param(v: np.ndarray, p=p) -> np.ndarray:
            p.value[...] = v
            return forward(x)

        try:
            numeric = numeric_vjp(of_param, original.copy(), grad_y)
        finally:
            p.value[...] = original
        bad = ~np.isclose(analytic[name], numeric, rtol=rtol, atol=atol)
        if bad.any():
            i = np.unravel_index(int(np.argmax(np.where(bad, np.abs(analytic[name] - numeric),
                                                        -1))), numeric.shape)
            raise AssertionError(
                f"Received derivative {analytic[name][i]!r} for parameter {name!r} of {label} "
                f"at index {tuple(int(k) for k in i)}, but expected {numeric[i]!r} from central "
                f"difference; {int(bad.sum())} of {bad.size} entries differ."
            )


def check_loss_network(
    model: Module, loss_fn: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray,
    *, rtol: float = 1e-5, atol: float = 1e-7,
) -> None:
    """Check a whole network plus loss: ``loss_fn(output) -> (L, dL/doutput)``."""
    x = np.asarray(x, dtype=np.float64)
    model.zero_grad()
    _, g = loss_fn(model(x))
    grad_x = model.backward(g)
    one = np.ones(())
    check_vjp(lambda v: np.asarray(loss_fn(model(v))[0]), lambda _: grad_x, x, grad_y=one,
              op="network", arg="x", rtol=rtol, atol=atol)
    for name, p in model.named_parameters():
        original = p.value.copy()

        def of_param(v: np.ndarray, p=p) -> np.ndarray:
            p.value[...] = v
            return np.asarray(loss_fn(model(x))[0])

        try:
            numeric = numeric_vjp(of_param, original.copy(), one)
        finally:
            p.value[...] = original
        np.testing.assert_allclose(p.grad, numeric, rtol=rtol, atol=atol,
                                   err_msg=f"network parameter {name}")
