"""ONNX pooling nodes (MaxPool, AveragePool, LpPool, the Global pools, MaxUnpool).

What ONNX says differently from :mod:`cnnblocks.functional`, and is translated here:

- ``pads`` are ``[x1_begin, x2_begin, ..., x1_end, x2_end]`` (all begins, then all ends); ours are
  per-axis ``(before, after)`` pairs, so axis ``i`` gets ``(pads[i], pads[i + rank])``.
- ``strides`` default to 1, not to the kernel size.
- ``auto_pad``: ``SAME_UPPER``/``SAME_LOWER`` give ``L_out = ceil(L / S)`` with the odd padding
  cell after/before, ``VALID`` gives ``floor((L - d(k-1) - 1) / S) + 1``; in all three
  ``ceil_mode`` has no effect (the spec's VALID ceil formula ``ceil((L - d(k-1)) / S)`` equals the
  floor one).
- MaxPool's ``Indices`` are flat over the whole N×C×spatial tensor,
  ``(n*C + c)*prod(spatial) + offset``, where ``offset`` is row-major over the unpadded plane, or
  column-major with ``storage_order=1``.
- MaxUnpool reads such whole-tensor indices in the layout of the shape it infers from
  ``kernel_shape``/``strides``/``pads``; an ``output_shape`` input adds zeros after the end of each
  axis (ONNX's reference implementation and node test ``test_maxunpool_export_with_output_shape``;
  onnxruntime instead scatters straight into ``output_shape``, onnx/onnx#2398).
- NaN in a max window is propagated (PyTorch's rule, cnnblocks' choice); ``onnx.reference`` and
  onnxruntime skip it. The spec does not say.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from cnnblocks._checks import fail
from cnnblocks.errors import ParameterError
from cnnblocks.functional import pooling as _pooling
from cnnblocks.onnx._attributes import FUNC, AttributeSpec
from cnnblocks.shapes import same_padding

__all__ = [
    "AUTO_PAD_VALUES",
    "AVERAGE_POOL_ATTRIBUTES",
    "GLOBAL_LP_POOL_ATTRIBUTES",
    "GLOBAL_POOL_ATTRIBUTES",
    "LP_POOL_ATTRIBUTES",
    "MAX_POOL_ATTRIBUTES",
    "MAX_UNPOOL_ATTRIBUTES",
    "average_pool_node",
    "global_average_pool_node",
    "global_lp_pool_node",
    "global_max_pool_node",
    "lp_pool_node",
    "max_pool_node",
    "max_unpool_node",
]

AUTO_PAD_VALUES = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")

_WINDOW_ATTRIBUTES = {
    "kernel_shape": AttributeSpec("ints", required=True),
    "strides": AttributeSpec("ints"),
    "pads": AttributeSpec("ints"),
    "dilations": AttributeSpec("ints"),
    "auto_pad": AttributeSpec("string", "NOTSET"),
    "ceil_mode": AttributeSpec("int", 0),
}
MAX_POOL_ATTRIBUTES = {**_WINDOW_ATTRIBUTES, "storage_order": AttributeSpec("int", 0)}
AVERAGE_POOL_ATTRIBUTES = {**_WINDOW_ATTRIBUTES, "count_include_pad": AttributeSpec("int", 0)}
LP_POOL_ATTRIBUTES = {**_WINDOW_ATTRIBUTES, "p": AttributeSpec("int", 2)}
GLOBAL_POOL_ATTRIBUTES: dict[str, AttributeSpec] = {}
GLOBAL_LP_POOL_ATTRIBUTES = {"p": AttributeSpec("int", 2)}
MAX_UNPOOL_ATTRIBUTES = {
    "kernel_shape": AttributeSpec("ints", required=True),
    "strides": AttributeSpec("ints"),
    "pads": AttributeSpec("ints"),
}


def _only_input(inputs: Sequence[np.ndarray | None]) -> np.ndarray:
    # run_node has already rejected a missing required input.
    return cast("np.ndarray", inputs[0])


def _per_axis(
    op_type: str, name: str, value: tuple[int, ...] | None, rank: int, default: int, minimum: int
) -> tuple[int, ...]:
    if value is None:
        return (default,) * rank
    if len(value) != rank or any(v < minimum for v in value):
        raise fail(
            FUNC,
            f"{op_type}.{name}",
            f"a list of {rank} ints >= {minimum} (one per spatial axis, as kernel_shape)",
            list(value),
        )
    return value


def _kernel(op_type: str, attrs: dict[str, Any], x: np.ndarray, input_name: str) -> tuple[int, ...]:
    kernel: tuple[int, ...] = attrs["kernel_shape"]
    if not kernel or any(k < 1 for k in kernel):
        raise fail(FUNC, f"{op_type}.kernel_shape", "a non-empty list of ints >= 1", list(kernel))
    if x.ndim != len(kernel) + 2:
        raise fail(
            FUNC,
            f"{op_type}.{input_name}",
            f"an array of rank 2 + len(kernel_shape) = {len(kernel) + 2} (N, C, spatial...)",
            x,
        )
    return kernel


def _onnx_pads(
    op_type: str, pads: tuple[int, ...] | None, rank: int
) -> tuple[tuple[int, int], ...]:
    """``[x1_begin, ..., xn_begin, x1_end, ..., xn_end]`` -> ``((x1_begin, x1_end), ...)``."""
    if pads is None:
        return ((0, 0),) * rank
    if len(pads) != 2 * rank or any(p < 0 for p in pads):
        raise fail(
            FUNC,
            f"{op_type}.pads",
            f"a list of {2 * rank} ints >= 0 ([x1_begin, x2_begin, ..., x1_end, x2_end])",
            list(pads),
        )
    return tuple((pads[i], pads[i + rank]) for i in range(rank))


def _window(
    op_type: str, attrs: dict[str, Any], x: np.ndarray
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[tuple[int, int], ...], bool]:
    """Resolve kernel, strides, dilations, per-axis pads and ceil_mode from ONNX attributes."""
    kernel = _kernel(op_type, attrs, x, "X")
    rank = len(kernel)
    strides = _per_axis(op_type, "strides", attrs["strides"], rank, 1, 1)
    dilations = _per_axis(op_type, "dilations", attrs["dilations"], rank, 1, 1)
    pairs = _onnx_pads(op_type, attrs["pads"], rank)
    if attrs["ceil_mode"] not in (0, 1):
        raise fail(FUNC, f"{op_type}.ceil_mode", "0 or 1", attrs["ceil_mode"])
    ceil_mode = bool(attrs["ceil_mode"])
    auto_pad = attrs["auto_pad"]
    if auto_pad not in AUTO_PAD_VALUES:
        listed = ", ".join(repr(v) for v in AUTO_PAD_VALUES)
        raise fail(FUNC, f"{op_type}.auto_pad", f"one of {{{listed}}}", auto_pad)
    if auto_pad == "NOTSET":
        return kernel, strides, dilations, pairs, ceil_mode
    if any(p for pair in pairs for p in pair):
        raise ParameterError(
            f"run_node() got both auto_pad={auto_pad!r} and non-zero pads={list(attrs['pads'])} "
            f"for op_type {op_type!r}; ONNX allows only one of them."
        )
    if auto_pad == "VALID":
        return kernel, strides, dilations, pairs, False
    lower = auto_pad == "SAME_LOWER"
    spatial = x.shape[2:]
    pairs = tuple(
        same_padding(n, k, s, d, lower)
        for n, k, s, d in zip(spatial, kernel, strides, dilations, strict=True)
    )
    return kernel, strides, dilations, pairs, False


def _whole_tensor_indices(
    plane_indices: np.ndarray, input_shape: Sequence[int], storage_order: int
) -> np.ndarray:
    """Per-plane row-major offsets -> ONNX's ``(n*C + c)*prod(spatial) + offset``.

    With ``storage_order=1`` the in-plane offset is column-major (the first spatial axis varies
    fastest); the plane offset ``(n*C + c)*prod(spatial)`` is the same in both orders.
    """
    spatial = tuple(int(n) for n in input_shape[2:])
    offsets = plane_indices.astype(np.int64, copy=False)
    if storage_order == 1:
        coords = np.unravel_index(offsets, spatial)
        offsets = np.ravel_multi_index(coords, spatial, order="F").astype(np.int64, copy=False)
    n, c = int(input_shape[0]), int(input_shape[1])
    plane = math.prod(spatial)
    base = (np.arange(n * c, dtype=np.int64) * plane).reshape((n, c) + (1,) * len(spatial))
    return offsets + base


def max_pool_node(
    inputs: Sequence[np.ndarray | None], attrs: dict[str, Any], num_outputs: int
) -> list[np.ndarray]:
    """ONNX MaxPool: ``Y``, and with two outputs ``Indices`` in ONNX's whole-tensor layout."""
    x = _only_input(inputs)
    kernel, strides, dilations, pairs, ceil_mode = _window("MaxPool", attrs, x)
    storage_order = attrs["storage_order"]
    if storage_order not in (0, 1):
        rule = "0 (row-major) or 1 (column-major)"
        raise fail(FUNC, "MaxPool.storage_order", rule, storage_order)
    if num_outputs == 1:
        y = _pooling.max_pool(x, kernel, strides, pairs, dilations, ceil_mode)
        return [cast("np.ndarray", y)]
    y, plane_indices = _pooling.max_pool(
        x, kernel, strides, pairs, dilations, ceil_mode, return_indices=True
    )
    return [y, _whole_tensor_indices(plane_indices, x.shape, storage_order)]


def average_pool_node(
    inputs: Sequence[np.ndarray | None], attrs: dict[str, Any], num_outputs: int
) -> list[np.ndarray]:
    """ONNX AveragePool; ``count_include_pad`` defaults to 0 (PyTorch's default is the opposite)."""
    x = _only_input(inputs)
    kernel, strides, dilations, pairs, ceil_mode = _window("AveragePool", attrs, x)
    include = attrs["count_include_pad"]
    if include not in (0, 1):
        raise fail(FUNC, "AveragePool.count_include_pad", "0 or 1", include)
    y = _pooling.avg_pool(
        x, kernel, strides, pairs, dilations, ceil_mode, count_include_pad=bool(include)
    )
    return [y]


def lp_pool_node(
    inputs: Sequence[np.ndarray | None], attrs: dict[str, Any], num_outputs: int
) -> list[np.ndarray]:
    """ONNX LpPool: ``(sum |x|^p)^(1/p)`` over each window, padding contributing 0."""
    x = _only_input(inputs)
    kernel, strides, dilations, pairs, ceil_mode = _window("LpPool", attrs, x)
    p = attrs["p"]
    if p < 1:
        raise fail(FUNC, "LpPool.p", "an int >= 1", p)
    return [_pooling.lp_pool(x, p, kernel, strides, pairs, dilations, ceil_mode)]


def _check_global_input(op_type: str, x: np.ndarray) -> None:
    if x.ndim < 3 or min(x.shape[2:]) < 1:
        raise fail(
            FUNC, f"{op_type}.X",
            "an array of rank >= 3 (N, C, spatial...) with every spatial size >= 1", x,
        )


def _over_flat_plane(pool: Any, x: np.ndarray, *args: Any) -> np.ndarray:
    """Run a global pool on ``x`` viewed as ``(N, C, P)``: ONNX allows any number of spatial axes,
    cnnblocks.functional 1 to 3, and a global pool only sees each plane as a whole."""
    n, c = x.shape[:2]
    y: np.ndarray = pool(x.reshape(n, c, math.prod(x.shape[2:])), *args)
    return y.reshape(n, c, *(1,) * (x.ndim - 2))


def global_max_pool_node(
    inputs: Sequence[np.ndarray | None], attrs: dict[str, Any], num_outputs: int
) -> list[np.ndarray]:
    """ONNX GlobalMaxPool: the maximum over all spatial axes, kept as size 1."""
    x = _only_input(inputs)
    _check_global_input("GlobalMaxPool", x)
    return [_over_flat_plane(_pooling.global_max_pool, x)]


def global_average_pool_node(
    inputs: Sequence[np.ndarray | None], attrs: dict[str, Any], num_outputs: int
) -> list[np.ndarray]:
    """ONNX GlobalAveragePool: the mean over all spatial axes, kept as size 1."""
    x = _only_input(inputs)
    _check_global_input("GlobalAveragePool", x)
    return [_over_flat_plane(_pooling.global_avg_pool, x)]


def global_lp_pool_node(
    inputs: Sequence[np.ndarray | None], attrs: dict[str, Any], num_outputs: int
) -> list[np.ndarray]:
    """ONNX GlobalLpPool: ``(sum |x|^p)^(1/p)`` over all spatial axes, kept as size 1."""
    x = _only_input(inputs)
    _check_global_input("GlobalLpPool", x)
    p = attrs["p"]
    if p < 1:
        raise fail(FUNC, "GlobalLpPool.p", "an int >= 1", p)
    return [_over_flat_plane(_pooling.global_lp_pool, x, p)]


def _output_shape(value: np.ndarray, x: np.ndarray, inferred: tuple[int, ...]) -> tuple[int, ...]:
    shape = np.asarray(value)
    rule = (
        f"a 1-D int array of {x.ndim} sizes with N={x.shape[0]}, C={x.shape[1]} and each spatial "
        f"size >= the inferred {inferred}"
    )
    if shape.ndim != 1 or shape.size != x.ndim or not np.issubdtype(shape.dtype, np.integer):
        raise fail(FUNC, "MaxUnpool.output_shape", rule, value)
    dims = tuple(int(v) for v in shape)
    if dims[:2] != x.shape[:2] or any(o < i for o, i in zip(dims[2:], inferred, strict=True)):
        raise fail(FUNC, "MaxUnpool.output_shape", rule, dims)
    return dims


def max_unpool_node(
    inputs: Sequence[np.ndarray | None], attrs: dict[str, Any], num_outputs: int
) -> list[np.ndarray]:
    """ONNX MaxUnpool: scatter ``X`` to the whole-tensor indices ``I``; zeros elsewhere.

    The inferred spatial size is ``(L_in - 1) S - (p_begin + p_end) + k`` per axis; ``I`` indexes
    the N×C×inferred tensor. ``output_shape``, when given, pads that result with zeros at the end
    of each axis, as ONNX's reference implementation and node test do.
    """
    # run_node has already rejected a missing X or I.
    x, indices, output_shape = cast(
        "tuple[np.ndarray, np.ndarray, np.ndarray | None]", tuple(inputs)
    )
    kernel = _kernel("MaxUnpool", attrs, x, "X")
    rank = len(kernel)
    strides = _per_axis("MaxUnpool", "strides", attrs["strides"], rank, 1, 1)
    pairs = _onnx_pads("MaxUnpool", attrs["pads"], rank)
    if indices.shape != x.shape or not np.issubdtype(indices.dtype, np.integer):
        raise fail(FUNC, "MaxUnpool.I", f"an int array of the same shape as X {x.shape}", indices)
    inferred = tuple(
        (n - 1) * s - (p[0] + p[1]) + k
        for n, s, p, k in zip(x.shape[2:], strides, pairs, kernel, strict=True)
    )
    if any(n < 1 for n in inferred):
        raise ParameterError(
            f"run_node() MaxUnpool would give spatial size {inferred} from X {x.shape}: "
            f"(L_in - 1)*S - (p_begin + p_end) + k must be >= 1 on every axis."
        )
    plane = math.prod(inferred)
    n_planes = x.shape[0] * x.shape[1]
    base = (np.arange(n_planes, dtype=np.int64) * plane).reshape(x.shape[:2] + (1,) * rank)
    local = indices.astype(np.int64, copy=False) - base
    if local.size and (local.min() < 0 or local.max() >= plane):
        raise fail(
            FUNC,
            "MaxUnpool.I",
            f"whole-tensor indices with I[n, c, ...] in [(n*C + c)*{plane}, (n*C + c + 1)*{plane}) "
            f"for the inferred spatial size {inferred}",
            indices,
        )
    y = _pooling.max_unpool(x, local, kernel, strides, pairs, output_size=inferred)
    if output_shape is None:
        return [y]
    dims = _output_shape(output_shape, x, inferred)
    if dims[2:] == inferred:
        return [y]
    out = np.zeros(dims, dtype=y.dtype)
    out[(slice(None), slice(None), *(slice(0, n) for n in inferred))] = y
    return [out]
