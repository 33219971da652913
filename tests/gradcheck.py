"""Central-difference gradient checks whose failures say what went wrong (minitorch's grad_check).

Generic: any function ``x -> y`` and its vector-Jacobian product ``grad_y -> grad_x``. Used by the
pooling and the activation tests alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["check_op_gradient", "check_vjp", "numeric_vjp"]


def numeric_vjp(
    forward: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    grad_y: np.ndarray,
    eps: float = 1e-6,
) -> np.ndarray:
    """``d/dx_i sum(grad_y * forward(x))`` by central differences, one coordinate at a time."""
    x = np.array(x, dtype=np.float64, order="C")  # C order: reshape(-1) must be a view
    numeric = np.zeros_like(x)
    flat = x.reshape(-1)
    out = numeric.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = float(np.sum(grad_y * np.asarray(forward(x), dtype=np.float64)))
        flat[i] = saved - eps
        minus = float(np.sum(grad_y * np.asarray(forward(x), dtype=np.float64)))
        flat[i] = saved
        out[i] = (plus - minus) / (2 * eps)
    return numeric


def check_vjp(
    forward: Callable[[np.ndarray], np.ndarray],
    backward: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    *,
    grad_y: np.ndarray | None = None,
    op: str = "op",
    arg: str = "x",
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    seed: int = 0,
) -> None:
    """Compare ``backward(grad_y)`` at ``x`` with central differences of ``forward``.

    ``backward`` must be the VJP at this very ``x`` (build it from the forward's context).
    ``grad_y`` defaults to standard normal values (seeded), so every output counts.
    Raises AssertionError naming the op, the argument, the index and both values.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(forward(x))
    if grad_y is None:
        grad_y = np.random.default_rng(seed).standard_normal(y.shape)
    analytic = np.asarray(backward(grad_y))
    if analytic.shape != x.shape:
        raise AssertionError(
            f"{op}: backward returned shape {analytic.shape} for argument {arg!r} of shape "
            f"{x.shape}"
        )
    numeric = numeric_vjp(forward, x, grad_y, eps)
    bad = ~np.isclose(analytic, numeric, rtol=rtol, atol=atol)
    if bad.any():
        error = np.where(bad, np.abs(analytic - numeric), -1.0)
        worst = np.unravel_index(int(np.argmax(error)), x.shape)
        raise AssertionError(
            f"Received derivative {float(analytic[worst])!r} for argument {arg!r} of {op} at index "
            f"{tuple(int(i) for i in worst)}, but expected {float(numeric[worst])!r} from central "
            f"difference (eps={eps}); {int(bad.sum())} of {bad.size} entries differ."
        )


def check_op_gradient(
    op_forward: Callable[..., tuple[np.ndarray, Any]],
    op_backward: Callable[[np.ndarray, Any], np.ndarray],
    x: np.ndarray,
    *args: Any,
    op: str | None = None,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    **kwargs: Any,
) -> None:
    """:func:`check_vjp` for a cnnblocks ``op_forward(x, ...) -> (y, ctx)``/``op_backward`` pair."""
    _, ctx = op_forward(x, *args, **kwargs)
    check_vjp(
        lambda v: op_forward(v, *args, **kwargs)[0],
        lambda g: op_backward(g, ctx),
        x,
        op=op or getattr(op_forward, "__name__", "op"),
        eps=eps,
        rtol=rtol,
        atol=atol,
    )
