"""The digits loader and the IDX reader (tests build their own IDX files, good and corrupt)."""

from __future__ import annotations

import gzip
import re
import struct

import numpy as np
import pytest

from cnnblocks.data import (
    DataFormatError,
    Dataset,
    load_digits,
    load_idx,
    read_idx,
    standardize,
)
from cnnblocks.errors import ParameterError


def test_digits_shapes_range_and_split() -> None:
    split = load_digits()
    assert split.train.x.shape == (1347, 1, 8, 8)
    assert split.test.x.shape == (450, 1, 8, 8)
    assert split.train.x.dtype == np.float32
    assert split.train.y.dtype == np.int64
    both = np.concatenate([split.train.x, split.test.x])
    assert both.min() == 0.0
    assert both.max() == 1.0
    assert len(split.train) + len(split.test) == 1797
    # stratified: every digit in both parts, in nearly the same proportion
    counts = np.bincount(split.test.y, minlength=10)
    assert counts.min() >= 43
    assert counts.max() <= 47
    assert split.train.num_classes == 10


def test_digits_values_are_sklearn_pixels_over_16() -> None:
    from sklearn.datasets import load_digits as sk

    images = sk().images
    split = load_digits(dtype=np.float64)
    # every training image is one of sklearn's images divided by 16
    first = split.train.x[0, 0] * 16
    assert np.any(np.all(images == first, axis=(1, 2)))


def test_digits_split_is_deterministic_and_seeded() -> None:
    a, b, c = load_digits(seed=3), load_digits(seed=3), load_digits(seed=4)
    np.testing.assert_array_equal(a.train.y, b.train.y)
    np.testing.assert_array_equal(a.test.x, b.test.x)
    assert not np.array_equal(a.train.y, c.train.y)


def test_standardize_uses_training_statistics() -> None:
    split = load_digits(dtype=np.float64)
    s = standardize(split)
    assert abs(s.train.x.mean()) < 1e-12
    assert abs(s.train.x.std() - 1) < 1e-12
    mean, std = split.train.x.mean(), split.train.x.std()
    np.testing.assert_allclose(s.test.x, (split.test.x - mean) / std)


def _idx(type_code: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload


@pytest.fixture
def mnist_like(tmp_path):
    g = np.random.default_rng(0)
    images = g.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    labels = np.array([3, 0, 9, 1, 1], dtype=np.uint8)
    img_path = tmp_path / "images-idx3-ubyte"
    lab_path = tmp_path / "labels-idx1-ubyte.gz"
    img_path.write_bytes(_idx(0x08, images.shape, images.tobytes()))
    lab_path.write_bytes(gzip.compress(_idx(0x08, labels.shape, labels.tobytes())))
    return images, labels, img_path, lab_path


def test_read_idx_plain_and_gzip(mnist_like) -> None:
    images, labels, img_path, lab_path = mnist_like
    np.testing.assert_array_equal(read_idx(img_path), images)
    np.testing.assert_array_equal(read_idx(lab_path), labels)


def test_read_idx_big_endian_types(tmp_path) -> None:
    path = tmp_path / "f.idx"
    path.write_bytes(_idx(0x0D, (2,), struct.pack(">2f", 1.5, -2.0)))
    assert read_idx(path).tolist() == [1.5, -2.0]
    path.write_bytes(_idx(0x0B, (3,), struct.pack(">3h", -1, 258, 7)))
    assert read_idx(path).tolist() == [-1, 258, 7]
    path.write_bytes(_idx(0x08, (3,), bytes([7, 8, 9])))  # the docstring's example
    assert read_idx(path).tolist() == [7, 8, 9]


def test_load_idx_scales_and_adds_channel_axis(mnist_like) -> None:
    images, _, img_path, lab_path = mnist_like
    data = load_idx(img_path, lab_path)
    assert data.x.shape == (5, 1, 4, 3)
    assert data.x.dtype == np.float32
    np.testing.assert_allclose(data.x[:, 0], images / 255.0, rtol=1e-6)
    assert data.y.tolist() == [3, 0, 9, 1, 1]


def test_bad_magic(tmp_path) -> None:
    path = tmp_path / "bad"
    path.write_bytes(b"\x50\x4b\x03\x04" + bytes(10))
    with pytest.raises(DataFormatError, match=re.escape("is not an IDX file") + ".*50 4b 03 04"):
        read_idx(path)
    path.write_bytes(_idx(0x07, (1,), b"\x00"))  # unknown type byte
    with pytest.raises(DataFormatError, match="00 00 07 01"):
        read_idx(path)
    assert issubclass(DataFormatError, ParameterError)


def test_truncated_header_and_data(tmp_path) -> None:
    path = tmp_path / "t"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">I", 5))
    with pytest.raises(DataFormatError, match="truncated: its header declares 3 dimensions"):
        read_idx(path)
    path.write_bytes(_idx(0x08, (2, 3), bytes(5)))
    with pytest.raises(DataFormatError, match=re.escape(
            "is truncated: dimensions (2, 3) of 1-byte values need 6 data bytes but the file "
            "has 5")):
        read_idx(path)
    gz = tmp_path / "t.gz"
    gz.write_bytes(gzip.compress(_idx(0x08, (4,), bytes(4)))[:-6])
    with pytest.raises(DataFormatError, match="does not decompress"):
        read_idx(gz)


def test_mismatched_counts(mnist_like, tmp_path) -> None:
    _, _, img_path, _ = mnist_like
    lab = tmp_path / "labels"
    lab.write_bytes(_idx(0x08, (4,), bytes(4)))
    with pytest.raises(DataFormatError, match=re.escape("5 images in") + ".*but 4 labels"):
        load_idx(img_path, lab)
    with pytest.raises(DataFormatError, match="must hold a 3-D array"):
        load_idx(lab, lab)


def test_missing_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ParameterError, match="could not read"):
        read_idx(tmp_path / "nope")


def test_dataset_length_mismatch() -> None:
    with pytest.raises(ParameterError, match=re.escape("Got x (3, 2) and y (2,)")):
        Dataset(np.zeros((3, 2)), np.zeros(2, dtype=np.int64))
