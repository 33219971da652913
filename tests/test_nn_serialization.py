"""Saving and loading parameters: round trip, refusal of mismatched files, atomic writes."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from cnnblocks.errors import ParameterError
from cnnblocks.models import lenet, mlp
from cnnblocks.serialization import load_parameters, save_parameters


def test_round_trip_restores_outputs(tmp_path) -> None:
    a = mlp(2, 8, "relu", batch_norm=True, rng=np.random.default_rng(0))
    a(np.random.default_rng(1).random((4, 64), dtype=np.float32))  # move BN running stats
    path = tmp_path / "model.npz"
    save_parameters(a, path)
    b = mlp(2, 8, "relu", batch_norm=True, rng=np.random.default_rng(99))
    load_parameters(b, path)
    a.eval()
    b.eval()
    x = np.random.default_rng(2).random((3, 64), dtype=np.float32)
    np.testing.assert_array_equal(a(x), b(x))
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]  # no temporary file left


def test_shape_mismatch_names_parameter_and_shapes(tmp_path) -> None:
    path = tmp_path / "m.npz"
    save_parameters(mlp(1, 8), path)
    other = mlp(1, 16)
    before = other.parameters()[0].value.copy()
    with pytest.raises(ParameterError, match=re.escape(
            "parameter '1.weight' has shape (8, 64) in") + ".*" + re.escape(
            "but (16, 64) in the model")):
        load_parameters(other, path)
    np.testing.assert_array_equal(other.parameters()[0].value, before)  # untouched


def test_name_mismatch_lists_missing_and_unexpected(tmp_path) -> None:
    path = tmp_path / "m.npz"
    save_parameters(mlp(1, 8), path)
    with pytest.raises(ParameterError, match=r"missing .*'0\.weight'.*unexpected .*'1\.weight'"):
        load_parameters(lenet(), path)


def test_unreadable_file(tmp_path) -> None:
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ParameterError, match="could not read"):
        load_parameters(mlp(1, 4), path)


def test_failed_save_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch) -> None:
    target = tmp_path / "m.npz"
    target.write_bytes(b"previous")

    def half_write(f, *args, **kwargs):
        f.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", half_write)
    with pytest.raises(OSError, match="disk full"):
        save_parameters(mlp(1, 4), target)
    assert os.listdir(tmp_path) == ["m.npz"]
    assert target.read_bytes() == b"previous"
