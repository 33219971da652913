"""Memory layouts a caller may hand the engine, shared by the engine tests.

Each test builds its input channels first (``(N, C, *spatial)``) and passes it on as a user
would: as is, channels last (``data_format="NHWC"``), declared channels first but stored
channels last (PyTorch's ``channels_last``), or as a strided view that must be copied.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LAYOUTS", "from_nchw", "in_layout", "to_nchw"]

LAYOUTS = ("nchw", "nhwc", "nchw-in-nhwc-memory", "strided")


def in_layout(x: np.ndarray, layout: str) -> tuple[np.ndarray, str]:
    """The channels-first array ``x`` as a caller would pass it, and the data_format to declare."""
    last_axes = (0, *range(2, x.ndim), 1)
    if layout == "nchw":
        return x.copy(), "NCHW"
    if layout == "nhwc":
        return np.ascontiguousarray(x.transpose(last_axes)), "NHWC"
    if layout == "nchw-in-nhwc-memory":
        stored = np.ascontiguousarray(x.transpose(last_axes))
        return stored.transpose(0, x.ndim - 1, *range(1, x.ndim - 1)), "NCHW"
    wide = np.repeat(x, 2, axis=1)  # a strided view: every other channel
    return wide[:, ::2], "NCHW"


def to_nchw(a: np.ndarray, data_format: str) -> np.ndarray:
    """A result in ``data_format`` viewed channels first."""
    return np.moveaxis(a, -1, 1) if data_format == "NHWC" else a


def from_nchw(a: np.ndarray, data_format: str) -> np.ndarray:
    """A channels-first array (a gradient) as the caller passes it in ``data_format``."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)) if data_format == "NHWC" else a
