"""Loss functions with their gradients: softmax cross-entropy (fused) and mean squared error.

Softmax cross-entropy over a batch of N rows of K logits ``z`` with integer labels ``t``:

.. math::

    L = \\frac{1}{N} \\sum_n \\Big(\\log \\sum_k e^{z_{nk}} - z_{n t_n}\\Big), \\qquad
    \\frac{\\partial L}{\\partial z_{nk}} = \\frac{\\mathrm{softmax}(z_n)_k - [k = t_n]}{N}

The log-sum-exp is computed as ``m + log Σ e^{z − m}`` with ``m = max_k z``, so no ``exp``
overflows (every exponent is <= 0). Fusing softmax and the log keeps the gradient this simple
and exact.

Mean squared error: ``L = mean((p − y)²)``, ``dL/dp = 2 (p − y) / size``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnblocks._checks import as_array, check_float_dtype, fail
from cnnblocks.autograd import Context
from cnnblocks.errors import ParameterError

__all__ = [
    "CrossEntropyLoss",
    "MSELoss",
    "cross_entropy_backward",
    "cross_entropy_forward",
    "mse_backward",
    "mse_forward",
]


def _check_labels(labels: Any, n: int, classes: int, func: str) -> np.ndarray:
    t = as_array(labels, func=func, name="labels")
    if not np.issubdtype(t.dtype, np.integer):
        raise fail(func, "labels", "an array of integer class indices", t)
    if t.shape != (n,):
        raise ParameterError(
            f"The 'labels' parameter of {func}() must have shape (N,) = ({n},), one label per "
            f"row of logits. Got shape {tuple(t.shape)} instead."
        )
    if n and (t.min() < 0 or t.max() >= classes):
        bad = t[(t < 0) | (t >= classes)]
        raise ParameterError(
            f"The 'labels' parameter of {func}() must hold class indices in [0, {classes}) "
            f"for logits with {classes} classes. Got labels in [{t.min()}, {t.max()}] "
            f"(e.g. {int(bad[0])}) instead."
        )
    return t


def cross_entropy_forward(logits: Any, labels: Any) -> tuple[float, Context]:
    """Mean softmax cross-entropy of ``logits`` (N, K) against integer ``labels`` (N,).

    Returns
    -------
    loss : float
    ctx : Context
        ``ctx.backward(1.0)`` (or :func:`cross_entropy_backward`) gives ``dL/dlogits``.

    Examples
    --------
    >>> loss, _ = cross_entropy_forward(np.zeros((1, 4)), [2])   # uniform over 4: log 4
    >>> round(loss, 6) == round(float(np.log(4)), 6)
    True
    """
    func = "cross_entropy"
    z = as_array(logits, func=func, name="logits")
    check_float_dtype(z, func=func, name="logits")
    if z.ndim != 2 or z.shape[0] == 0:
        raise fail(func, "logits", "a 2-D array (N, K) with N >= 1", z)
    n, k = z.shape
    t = _check_labels(labels, n, k, func)
    shifted = z - z.max(axis=1, keepdims=True)  # every exponent <= 0: no overflow
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    log_probs_true = shifted[np.arange(n), t] - np.log(sum_exp[:, 0])
    loss = float(-log_probs_true.mean())
    return loss, Context("cross_entropy", _ce_backward, {"probs": exp / sum_exp, "labels": t})


def _ce_backward(grad_loss: Any, ctx: Context) -> np.ndarray:
    probs: np.ndarray = ctx.saved["probs"]
    t: np.ndarray = ctx.saved["labels"]
    n = probs.shape[0]
    grad = probs.copy()
    grad[np.arange(n), t] -= 1
    grad *= probs.dtype.type(float(grad_loss) / n)
    return grad


def cross_entropy_backward(ctx: Context, grad_loss: float = 1.0) -> np.ndarray:
    """``dL/dlogits = (softmax(z) − onehot(t)) / N`` (times ``grad_loss``)."""
    return _ce_backward(grad_loss, ctx)


def mse_forward(pred: Any, target: Any) -> tuple[float, Context]:
    """Mean squared error ``mean((pred − target)²)``; shapes must match exactly.

    >>> mse_forward(np.array([1.0, 3.0]), np.array([0.0, 1.0]))[0]   # (1 + 4) / 2
    2.5
    """
    func = "mse"
    p = as_array(pred, func=func, name="pred")
    y = as_array(target, func=func, name="target")
    check_float_dtype(p, func=func, name="pred")
    if p.shape != y.shape or p.size == 0:
        raise ParameterError(
            f"The 'target' parameter of {func}() must have the shape of 'pred', "
            f"{tuple(p.shape)} (non-empty). Got shape {tuple(y.shape)} instead."
        )
    diff = p - y.astype(p.dtype, copy=False)
    loss = float(np.mean(diff * diff))
    return loss, Context("mse", _mse_backward, {"diff": diff})


def _mse_backward(grad_loss: Any, ctx: Context) -> np.ndarray:
    diff: np.ndarray = ctx.saved["diff"]
    grad: np.ndarray = diff * diff.dtype.type(2.0 * float(grad_loss) / diff.size)
    return grad


def mse_backward(ctx: Context, grad_loss: float = 1.0) -> np.ndarray:
    """``dL/dpred = 2 (pred − target) / size`` (times ``grad_loss``)."""
    return _mse_backward(grad_loss, ctx)


class _Loss:
    def __init__(self) -> None:
        self._ctx: Context | None = None

    def backward(self) -> np.ndarray:
        """Gradient of the last computed loss with respect to the predictions."""
        if self._ctx is None:
            raise ParameterError(
                f"{type(self).__name__}.backward() was called before the loss was computed."
            )
        return np.asarray(self._ctx.backward(np.ones(())))


class CrossEntropyLoss(_Loss):
    """Fused log-softmax + negative log-likelihood, averaged over the batch.

    ``loss = crit(logits, labels)``; ``crit.backward()`` returns ``dL/dlogits``.
    """

    def __call__(self, logits: Any, labels: Any) -> float:
        loss, self._ctx = cross_entropy_forward(logits, labels)
        return loss


class MSELoss(_Loss):
    """Mean squared error; ``crit.backward()`` returns ``dL/dpred``."""

    def __call__(self, pred: Any, target: Any) -> float:
        loss, self._ctx = mse_forward(pred, target)
        return loss
