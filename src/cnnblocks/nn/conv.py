"""2-D convolution (cross-correlation) as im2col + one BLAS matrix product.

.. math::

    y[n, o, i, j] = b[o] + \\sum_{c, u, v} w[o, c, u, v]\\;
                    x_{pad}[n, c, i S_h + u d_h, j S_w + v d_w]

with ``x_pad`` the input zero-padded by ``(p_h1, p_h2)`` rows and ``(p_w1, p_w2)`` columns.
Output size per axis: ``H_out = floor((H + p_h1 + p_h2 − d_h (k_h − 1) − 1) / S_h) + 1``.

Backward (the vector-Jacobian products):

- ``dL/dw[o, c, u, v] = Σ_{n,i,j} dL/dy[n, o, i, j] · x_pad[n, c, i S_h + u d_h, j S_w + v d_w]``
- ``dL/db[o] = Σ_{n,i,j} dL/dy[n, o, i, j]``
- ``dL/dx`` = the column gradient ``Wᵀ dL/dy`` scattered back (col2im), overlapping taps adding up,
  with the padded border cut off.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cnnblocks._checks import as_int_tuple, check_choice, fail
from cnnblocks.autograd import Context
from cnnblocks.errors import ParameterError
from cnnblocks.init import get_initializer
from cnnblocks.nn._blas import small_gemm
from cnnblocks.nn.module import Module, Parameter
from cnnblocks.shapes import normalize_padding, pool_output_size

__all__ = ["Conv2d", "ConvGeometry", "conv2d_backward", "conv2d_forward", "conv_geometry"]


def _windows(xp: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
             dilation: tuple[int, int], out: tuple[int, int]) -> np.ndarray:
    """A read-only view ``(C, k_h, k_w, N, H_out, W_out)`` of every tap of every window."""
    n, c, _, _ = xp.shape
    sn, sc, sh, sw = xp.strides
    return as_strided(
        xp,
        shape=(c, kernel[0], kernel[1], n, out[0], out[1]),
        strides=(sc, sh * dilation[0], sw * dilation[1], sn, sh * stride[0], sw * stride[1]),
        writeable=False,
    )


def conv2d_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
) -> tuple[np.ndarray, Context]:
    """Cross-correlate ``x`` (N, C_in, H, W) with ``weight`` (C_out, C_in, k_h, k_w).

    Parameters
    ----------
    x : ndarray, shape (N, C_in, H, W)
    weight : ndarray, shape (C_out, C_in, k_h, k_w)
    bias : ndarray, shape (C_out,), optional
    stride, dilation : int or (int, int)
    padding : int, tuple or str
        Every form :func:`cnnblocks.shapes.normalize_padding` accepts, including asymmetric
        ``(top, bottom, left, right)`` and ``'SAME'``.

    Returns
    -------
    y : ndarray, shape (N, C_out, H_out, W_out)
    ctx : Context
        ``ctx.backward(grad_y)`` returns ``(grad_x, grad_weight, grad_bias)`` (``grad_bias`` is
        None without a bias).

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> y, _ = conv2d_forward(x, np.ones((1, 1, 2, 2)))
    >>> y[0, 0].tolist()   # sums of the 2x2 windows: 0+1+3+4, ...
    [[8.0, 12.0], [20.0, 24.0]]
    """
    func = "conv2d"
    if x.ndim != 4:
        raise fail(func, "x", "a 4-D array (N, C_in, H, W)", x)
    if weight.ndim != 4 or weight.shape[1] != x.shape[1]:
        raise ParameterError(
            f"conv2d() needs x of shape (N, C_in, H, W) and weight of shape "
            f"(C_out, C_in, k_h, k_w) with the same C_in. Got x {tuple(x.shape)} and weight "
            f"{tuple(weight.shape)}."
        )
    geometry = conv_geometry(x.shape[2:], weight.shape[2:], stride, padding, dilation)
    return _conv2d_forward(x, weight, bias, geometry)


@dataclass(frozen=True)
class ConvGeometry:
    """A convolution's settings resolved to numbers for one input size (H, W)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[tuple[int, int], ...]
    out_hw: tuple[int, int]


def conv_geometry(
    spatial: Sequence[int], kernel: Sequence[int], stride: Any, padding: Any, dilation: Any,
    *, func: str = "conv2d",
) -> ConvGeometry:
    """Validate stride, padding and dilation and resolve them for an input of size ``spatial``."""
    strides = as_int_tuple(stride, 2, func=func, name="stride")
    dilations = as_int_tuple(dilation, 2, func=func, name="dilation")
    kh, kw = (int(k) for k in kernel)
    pads = normalize_padding(padding, tuple(spatial), (kh, kw), strides, dilations, func=func)
    out_hw = (
        pool_output_size(spatial[0], kh, strides[0], *pads[0], dilations[0], func=func, axis="H"),
        pool_output_size(spatial[1], kw, strides[1], *pads[1], dilations[1], func=func, axis="W"),
    )
    return ConvGeometry((kh, kw), (strides[0], strides[1]), (dilations[0], dilations[1]), pads,
                        out_hw)


def _conv2d_forward(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, g: ConvGeometry
) -> tuple[np.ndarray, Context]:
    c_out, c_in, kh, kw = weight.shape
    pads, out_hw, kernel = g.pads, g.out_hw, g.kernel
    dtype = np.result_type(x.dtype, weight.dtype)
    if any(p for pair in pads for p in pair):
        n, _, h, w = x.shape
        xp = np.zeros((n, c_in, h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]), dtype)
        xp[:, :, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + w] = x
    else:
        xp = np.ascontiguousarray(x, dtype=dtype)
    n = x.shape[0]
    # im2col: (C_in k_h k_w, N H_out W_out), one copy; then one GEMM does every output.
    cols = _windows(xp, kernel, g.stride, g.dilation, out_hw).reshape(c_in * kh * kw, -1)
    w2 = weight.reshape(c_out, -1).astype(dtype, copy=False)
    with small_gemm(c_out * cols.shape[0] * cols.shape[1]):
        y2 = w2 @ cols  # (C_out, N H_out W_out)
    if bias is not None:
        y2 += bias.astype(dtype, copy=False)[:, None]
    y = np.ascontiguousarray(y2.reshape(c_out, n, *out_hw).transpose(1, 0, 2, 3))
    ctx = Context(
        "conv2d",
        _conv2d_backward_ctx,
        {
            "cols": cols,
            "weight": weight,
            "has_bias": bias is not None,
            "x_shape": x.shape,
            "x_dtype": x.dtype,
            "padded_shape": xp.shape,
            "pads": pads,
            "stride": g.stride,
            "dilation": g.dilation,
            "out_hw": out_hw,
        },
    )
    return y, ctx


def _conv2d_backward_ctx(
    grad_y: np.ndarray, ctx: Context
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    grad_w, grad_b, g2 = _conv2d_parameter_grads(grad_y, ctx)
    return _conv2d_input_grad(g2, ctx), grad_w, grad_b


def _conv2d_parameter_grads(
    grad_y: np.ndarray, ctx: Context
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    s = ctx.saved
    cols: np.ndarray = s["cols"]
    weight: np.ndarray = s["weight"]
    c_out = weight.shape[0]
    g2 = grad_y.transpose(1, 0, 2, 3).reshape(c_out, -1)  # (C_out, N H_out W_out)
    with small_gemm(c_out * cols.shape[0] * cols.shape[1]):
        grad_w = (g2 @ cols.T).reshape(weight.shape).astype(weight.dtype, copy=False)
    grad_b = g2.sum(axis=1).astype(weight.dtype, copy=False) if s["has_bias"] else None
    return grad_w, grad_b, g2


def _conv2d_input_grad(g2: np.ndarray, ctx: Context) -> np.ndarray:
    s = ctx.saved
    cols: np.ndarray = s["cols"]
    weight: np.ndarray = s["weight"]
    c_out, c_in, kh, kw = weight.shape
    n = s["x_shape"][0]
    ho, wo = s["out_hw"]
    with small_gemm(c_out * cols.shape[0] * cols.shape[1]):
        gcols = (weight.reshape(c_out, -1).astype(g2.dtype, copy=False).T @ g2).reshape(
            c_in, kh, kw, n, ho, wo
        )
    # col2im: every tap (u, v) adds its slab back at its strided offset; taps overlap when S < k.
    _, _, hp, wp = s["padded_shape"]
    sh, sw = s["stride"]
    dh, dw = s["dilation"]
    if wo < _SHORT_ROWS:
        # Short output rows make each slab add a loop of tiny rows; one unbuffered scatter-add
        # over precomputed indices is several times faster there (0.10 vs 0.63 ms for LeNet's
        # second convolution on 8x8 digits), and slower for long rows.
        index = _col2im_index(c_in, n, hp, wp, kh, kw, ho, wo, sh, sw, dh, dw)
        flat = np.zeros(c_in * n * hp * wp, dtype=gcols.dtype)
        np.add.at(flat, index, gcols.reshape(-1))
        gxp = flat.reshape(c_in, n, hp, wp)
    else:
        gxp = np.zeros((c_in, n, hp, wp), dtype=gcols.dtype)
        for u in range(kh):
            rows = slice(u * dh, u * dh + sh * (ho - 1) + 1, sh)
            for v in range(kw):
                cols_v = slice(v * dw, v * dw + sw * (wo - 1) + 1, sw)
                gxp[:, :, rows, cols_v] += gcols[:, u, v]
    (t, _), (left, _) = s["pads"]
    h, w = s["x_shape"][2:]
    grad_x = gxp[:, :, t:t + h, left:left + w].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(grad_x, dtype=s["x_dtype"])


_SHORT_ROWS = 8


@functools.lru_cache(maxsize=32)
def _col2im_index(
    c: int, n: int, hp: int, wp: int, kh: int, kw: int, ho: int, wo: int,
    sh: int, sw: int, dh: int, dw: int,
) -> np.ndarray:
    """Flat position in the padded (C, N, H_p, W_p) gradient of every column entry."""
    ci, ui, vi, ni, ii, ji = np.indices((c, kh, kw, n, ho, wo), sparse=True)
    rows = ii * sh + ui * dh
    cols = ji * sw + vi * dw
    index = ((ci * n + ni) * hp + rows) * wp + cols
    return np.ascontiguousarray(index.reshape(-1), dtype=np.intp)


def conv2d_backward(
    grad_y: np.ndarray, ctx: Context
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients ``(dL/dx, dL/dweight, dL/dbias)`` from ``dL/dy`` (see the module docstring)."""
    return _conv2d_backward_ctx(grad_y, ctx)


class Conv2d(Module):
    """2-D convolution layer (cross-correlation, as in PyTorch and every framework).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, dilation : int or (int, int)
    padding : int, tuple or str
        ``p``, ``(p_h, p_w)``, ``(top, bottom, left, right)``, ``((top, bottom), (left, right))``,
        ``'SAME'``, ``'SAME_LOWER'`` or ``'VALID'``; zeros are padded.
    bias : bool
    rng : numpy.random.Generator, optional
        Source of the initial weights; ``None`` means ``np.random.default_rng(0)``.
    init : str or callable
        Weight initialiser (:func:`cnnblocks.init.get_initializer`); the default ``"pytorch"`` is
        PyTorch's U(±1/√fan_in). The bias starts as U(±1/√fan_in) like PyTorch's.
    dtype : numpy dtype

    Shape
    -----
    ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)`` with
    ``H_out = floor((H + p_h1 + p_h2 − d_h (k_h − 1) − 1) / S_h) + 1`` (likewise W).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
        init: Any = "pytorch",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        func = "Conv2d"
        self.in_channels = as_int_tuple(in_channels, 1, func=func, name="in_channels")[0]
        self.out_channels = as_int_tuple(out_channels, 1, func=func, name="out_channels")[0]
        self.kernel_size = as_int_tuple(kernel_size, 2, func=func, name="kernel_size")
        self.stride = as_int_tuple(stride, 2, func=func, name="stride")
        self.dilation = as_int_tuple(dilation, 2, func=func, name="dilation")
        if isinstance(padding, str):
            check_choice(padding.upper(), ("SAME", "SAME_UPPER", "SAME_LOWER", "VALID"),
                         func=func, name="padding")
        else:  # validate now so a bad padding fails at construction, not at the first batch
            normalize_padding(padding, (1, 1), self.kernel_size, self.stride, self.dilation,
                              func=func)
        self.padding = padding
        if not isinstance(bias, bool):
            raise fail(func, "bias", "a bool", bias)
        rng = np.random.default_rng(0) if rng is None else rng
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter(get_initializer(init)(shape, rng).astype(dtype), "weight")
        self.bias: Parameter | None = None
        if bias:
            bound = 1.0 / np.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
            self.bias = Parameter(rng.uniform(-bound, bound, self.out_channels).astype(dtype),
                                  "bias")
        self._ctx: Context | None = None
        self._geometry: dict[tuple[int, ...], ConvGeometry] = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Convolve a batch ``(N, C_in, H, W)``."""
        self._check_input(
            x, f"(N, {self.in_channels}, H, W)", x.ndim == 4 and x.shape[1] == self.in_channels
        )
        spatial = tuple(x.shape[2:])
        geometry = self._geometry.get(spatial)
        if geometry is None:  # resolved once per input size: validation is per-call overhead
            geometry = conv_geometry(spatial, self.kernel_size, self.stride, self.padding,
                                     self.dilation, func="Conv2d")
            self._geometry[spatial] = geometry
        y, self._ctx = _conv2d_forward(
            x, self.weight.value, None if self.bias is None else self.bias.value, geometry
        )
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return dL/dx; add dL/dweight and dL/dbias into the parameters' ``grad``."""
        grad_x, grad_w, grad_b = conv2d_backward(grad_out, self._saved(self._ctx))
        self.weight.grad += grad_w
        if self.bias is not None and grad_b is not None:
            self.bias.grad += grad_b
        return grad_x

    def backward_parameters(self, grad_out: np.ndarray) -> None:
        """Accumulate dL/dweight and dL/dbias only: no input gradient, no col2im."""
        grad_w, grad_b, _ = _conv2d_parameter_grads(grad_out, self._saved(self._ctx))
        self.weight.grad += grad_w
        if self.bias is not None and grad_b is not None:
            self.bias.grad += grad_b

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding!r}, dilation={self.dilation}, "
            f"bias={self.bias is not None}"
        )
