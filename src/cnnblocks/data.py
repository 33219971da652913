"""Data sets: scikit-learn's 8×8 digits (shipped in its wheel) and MNIST-format IDX files.

Images come as ``(N, 1, H, W)`` float arrays scaled to [0, 1], labels as int64 ``(N,)``.

The IDX format (LeCun's MNIST files): 2 zero bytes, a type byte (0x08 uint8, 0x09 int8,
0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), a byte with the number of dimensions, one
big-endian uint32 per dimension, then the values in C order, big-endian. Files may be
gzip-compressed (detected from the content, not the name).
"""

from __future__ import annotations

import gzip
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnblocks._checks import check_real, fail
from cnnblocks.errors import ParameterError

__all__ = [
    "DataFormatError",
    "DataSplit",
    "Dataset",
    "load_digits",
    "load_idx",
    "read_idx",
    "standardize",
]


class DataFormatError(ParameterError):
    """A data file is not what its format promises (bad magic, truncated, counts differ)."""


@dataclass(frozen=True)
class Dataset:
    """Inputs and integer class labels of the same length.

    Attributes
    ----------
    x : ndarray, shape (N, ...)
    y : ndarray of int64, shape (N,)
    """

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        if self.x.shape[:1] != self.y.shape or self.y.ndim != 1:
            raise ParameterError(
                f"Dataset() needs x of shape (N, ...) and y of shape (N,) with the same N. "
                f"Got x {tuple(self.x.shape)} and y {tuple(self.y.shape)}."
            )

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def num_classes(self) -> int:
        """``max(y) + 1``."""
        return int(self.y.max()) + 1 if len(self) else 0


@dataclass(frozen=True)
class DataSplit:
    """A training set and a held-out test set."""

    train: Dataset
    test: Dataset


def load_digits(
    test_fraction: float = 0.25, seed: int = 0, dtype: Any = np.float32
) -> DataSplit:
    """The 1,797 8×8 handwritten digits of scikit-learn, split into train and test.

    The split is stratified (each digit in the same proportion in both parts) and fixed by
    ``seed``. Pixel values 0..16 are divided by 16.

    Parameters
    ----------
    test_fraction : float in (0, 1)
    seed : int
    dtype : float dtype

    Returns
    -------
    DataSplit
        ``train.x`` of shape ``(N_train, 1, 8, 8)`` in [0, 1], ``train.y`` int64 in 0..9.

    Examples
    --------
    >>> split = load_digits()
    >>> split.train.x.shape, split.test.x.shape
    ((1347, 1, 8, 8), (450, 1, 8, 8))
    """
    from sklearn.datasets import load_digits as _sk_load_digits
    from sklearn.model_selection import train_test_split

    frac = check_real(test_fraction, func="load_digits", name="test_fraction", low=0.0,
                      low_inclusive=False, high=1.0)
    if frac >= 1.0:
        raise fail("load_digits", "test_fraction", "a real number in (0, 1)", test_fraction)
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        raise fail("load_digits", "seed", "an int", seed)
    bunch = _sk_load_digits()
    images = (np.asarray(bunch.images, dtype=np.float64) / 16.0).astype(dtype)[:, None]
    labels = np.asarray(bunch.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, labels, test_size=frac, random_state=int(seed), stratify=labels
    )
    return DataSplit(Dataset(x_tr, y_tr), Dataset(x_te, y_te))


def standardize(split: DataSplit) -> DataSplit:
    """Shift and scale both parts by the training set's mean and standard deviation.

    ``x′ = (x − μ) / s`` with the scalar μ and s of ``split.train.x``, so the test set sees only
    statistics of the training set. Zero-mean inputs help SGD (LeCun et al., "Efficient
    BackProp").

    >>> s = standardize(load_digits())
    >>> round(float(s.train.x.mean()), 6), round(float(s.train.x.std()), 4)
    (0.0, 1.0)
    """
    if not isinstance(split, DataSplit):
        raise fail("standardize", "split", "a cnnblocks.data.DataSplit", split)
    x = split.train.x
    mean = x.mean(dtype=np.float64)
    std = x.std(dtype=np.float64)
    if not std > 0:
        raise fail("standardize", "split", "a training set whose inputs are not all equal", split)

    def apply(d: Dataset) -> Dataset:
        return Dataset(((d.x - mean) / std).astype(d.x.dtype), d.y)

    return DataSplit(apply(split.train), apply(split.test))


_IDX_TYPES: dict[int, str] = {
    0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8",
}


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ParameterError(f"read_idx() could not read {os.fspath(path)!r}: {exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataFormatError(
                f"read_idx(): {os.fspath(path)!r} starts like a gzip file but does not "
                f"decompress: {exc}"
            ) from None
    return raw


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (plain or gzip) into an array of its declared type and shape.

    Raises
    ------
    DataFormatError
        Bad magic (first two bytes not zero, unknown type byte, no dimensions), a header
        shorter than declared, or fewer/more data bytes than the dimensions require.

    Examples
    --------
    A file with header ``00 00 08 01 | 00 00 00 03`` and bytes ``07 08 09`` is ``[7, 8, 9]``.
    """
    name = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise DataFormatError(
            f"read_idx(): {name!r} is not an IDX file: the magic number must be 00 00 <type> "
            f"<ndim> with type in {{08, 09, 0B, 0C, 0D, 0E}} and ndim >= 1. "
            f"Got {raw[:4].hex(' ') or 'an empty file'} instead."
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFormatError(
            f"read_idx(): {name!r} is truncated: its header declares {ndim} dimensions "
            f"({header} header bytes) but the file has only {len(raw)} bytes."
        )
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = math.prod(dims) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        problem = "truncated" if actual < expected else "longer than its header says"
        raise DataFormatError(
            f"read_idx(): {name!r} is {problem}: dimensions {dims} of {dtype.itemsize}-byte "
            f"values need {expected} data bytes but the file has {actual}."
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="))


def load_idx(
    images_path: str | os.PathLike[str],
    labels_path: str | os.PathLike[str],
    dtype: Any = np.float32,
) -> Dataset:
    """Load an MNIST-style pair of IDX files (e.g. ``train-images-idx3-ubyte.gz``).

    Images (N, rows, cols) of uint8 become ``(N, 1, rows, cols)`` floats in [0, 1] (divided by
    255); labels (N,) become int64.

    Raises
    ------
    DataFormatError
        If either file is malformed, the images are not 3-D, the labels not 1-D, or their
        counts differ.
    """
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3:
        raise DataFormatError(
            f"load_idx(): the images file {os.fspath(images_path)!r} must hold a 3-D array "
            f"(N, rows, cols). Got shape {images.shape} instead."
        )
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataFormatError(
            f"load_idx(): the labels file {os.fspath(labels_path)!r} must hold a 1-D integer "
            f"array (N,). Got shape {labels.shape} of {labels.dtype} instead."
        )
    if images.shape[0] != labels.shape[0]:
        raise DataFormatError(
            f"load_idx(): {images.shape[0]} images in {os.fspath(images_path)!r} but "
            f"{labels.shape[0]} labels in {os.fspath(labels_path)!r}; the counts must match."
        )
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    x = (images.astype(np.float64) / scale).astype(dtype)[:, None]
    return Dataset(x, labels.astype(np.int64))
