"""Pooling a real image file, channel by channel: a downsampler you can look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnblocks._checks import check_choice, check_real, fail

__all__ = ["POOL_MODES", "pool_image_array", "pool_image_file"]

POOL_MODES = ("max", "avg", "lp")


def pool_image_array(
    pixels: np.ndarray,
    mode: str = "max",
    kernel_size: Any = 2,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    p: float = 2.0,
) -> np.ndarray:
    """Pool an (H, W) or (H, W, C) image, each channel on its own; returns float64.

    ``'lp'`` returns the power mean ``(mean |x|^p)^(1/p)`` (the Lp pool divided by
    ``(k_h k_w)^(1/p)``) so that the result stays in the pixel range.
    """
    func = "pool_image"
    check_choice(mode, POOL_MODES, func=func, name="mode")
    if pixels.ndim not in (2, 3):
        raise fail(func, "pixels", "an (H, W) or (H, W, C) image", pixels)
    from cnnblocks.functional.pooling import avg_pool, lp_pool, max_pool

    x = pixels.astype(np.float64)
    x = x[None, :, :, None] if x.ndim == 2 else x[None]  # (1, H, W, C): channels pooled separately
    if mode == "max":
        y = max_pool(x, kernel_size, stride, padding, ceil_mode=ceil_mode, data_format="NHWC")
    elif mode == "avg":
        y = avg_pool(x, kernel_size, stride, padding, ceil_mode=ceil_mode, data_format="NHWC")
    else:
        power = check_real(p, func=func, name="p", low=1.0)
        y = lp_pool(x, power, kernel_size, stride, padding, ceil_mode=ceil_mode, data_format="NHWC")
        taps = np.prod(_pair(kernel_size))
        y = y / taps ** (1.0 / power)
    out: np.ndarray = np.asarray(y)[0]
    return out[:, :, 0] if pixels.ndim == 2 else out


def _pair(kernel_size: Any) -> tuple[int, int]:
    if isinstance(kernel_size, int):
        return kernel_size, kernel_size
    k = tuple(kernel_size)
    return (int(k[0]), int(k[0])) if len(k) == 1 else (int(k[0]), int(k[1]))


def pool_image_file(
    source: Path,
    target: Path,
    mode: str = "max",
    kernel_size: Any = 2,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    p: float = 2.0,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Read ``source`` with Pillow, pool it, write ``target`` atomically; return both shapes.

    Grey images stay grey, RGB(A) is pooled per channel (alpha too); palette and other modes are
    converted to RGB first. The output format follows ``target``'s extension.
    """
    from PIL import Image

    from cnnblocks.cli._common import atomic_path

    extensions = Image.registered_extensions()
    fmt = extensions.get(target.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise fail(
            "pool_image",
            "OUT",
            "a file name whose extension Pillow can write (.png, .jpg, ...)",
            str(target),
        )
    with Image.open(source) as opened:
        image = opened.convert(opened.mode if opened.mode in ("L", "LA", "RGB", "RGBA") else "RGB")
    pixels = np.asarray(image)
    pooled = pool_image_array(pixels, mode, kernel_size, stride, padding, ceil_mode, p)
    out = np.clip(np.rint(pooled), 0, 255).astype(np.uint8)
    result = Image.fromarray(out)
    if fmt == "JPEG" and result.mode in ("LA", "RGBA"):
        result = result.convert(result.mode[:-1])  # JPEG has no alpha channel
    with atomic_path(target) as tmp:
        result.save(tmp, format=fmt)
    return pixels.shape, np.asarray(result).shape
