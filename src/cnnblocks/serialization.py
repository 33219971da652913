"""Save and load a model's parameters and buffers as a NumPy ``.npz`` archive.

Keys are the dotted names of :meth:`cnnblocks.nn.Module.named_parameters` (``"0.weight"``)
and of the buffers (``"2.running_mean"``). Loading checks names and shapes before touching the
model, so a mismatched file leaves the model unchanged. Saving writes a temporary file in the
target directory and renames it over the target, so a failed save leaves no half-written file.
"""

from __future__ import annotations

import os
import tempfile
import zipfile

import numpy as np

from cnnblocks.errors import ParameterError
from cnnblocks.nn.module import Module

__all__ = ["load_parameters", "save_parameters"]


def _state(model: Module) -> dict[str, np.ndarray]:
    state = {name: p.value for name, p in model.named_parameters()}
    state.update(dict(model.named_buffers()))
    return state


def save_parameters(model: Module, path: str | os.PathLike[str]) -> None:
    """Write every parameter and buffer of ``model`` to ``path`` (``.npz``), atomically."""
    if not isinstance(model, Module):
        raise ParameterError(
            f"The 'model' parameter of save_parameters() must be a cnnblocks.nn.Module. "
            f"Got {type(model).__name__} instead."
        )
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, allow_pickle=False, **_state(model))
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_parameters(model: Module, path: str | os.PathLike[str]) -> None:
    """Copy the arrays in ``path`` into ``model``'s parameters and buffers, in place.

    Raises
    ------
    ParameterError
        If the file cannot be read as ``.npz``, lacks a parameter of the model, has one the
        model lacks, or has one of a different shape (the message names the parameter and both
        shapes).
    """
    name = os.fspath(path)
    try:
        with np.load(name, allow_pickle=False) as archive:
            stored = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ParameterError(
            f"load_parameters() could not read {name!r} as a .npz file: {exc}"
        ) from None
    state = _state(model)
    missing = sorted(set(state) - set(stored))
    extra = sorted(set(stored) - set(state))
    if missing or extra:
        raise ParameterError(
            f"load_parameters(): {name!r} does not match the model: missing "
            f"{missing or 'nothing'}, unexpected {extra or 'nothing'}."
        )
    for key, target in state.items():
        if stored[key].shape != target.shape:
            raise ParameterError(
                f"load_parameters(): parameter {key!r} has shape {stored[key].shape} in "
                f"{name!r} but {target.shape} in the model."
            )
    for key, target in state.items():
        target[...] = stored[key]
