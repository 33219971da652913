"""Thread count: cnnblocks.set_num_threads / get_num_threads and CNNBLOCKS_NUM_THREADS."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import cnnblocks
from cnnblocks import _threads
from cnnblocks.engine import _numba, fast_activations
from cnnblocks.errors import ParameterError


@pytest.fixture(autouse=True)
def fresh_setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    before = cnnblocks.get_num_threads()
    monkeypatch.delenv(_threads.ENV_VAR, raising=False)
    _threads._reset_for_tests()
    yield
    cnnblocks.set_num_threads(before)


def test_default_is_every_core_this_process_may_use() -> None:
    assert cnnblocks.get_num_threads() == _threads.available_cores() >= 1


def test_environment_variable_sets_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNNBLOCKS_NUM_THREADS", "1")
    _threads._reset_for_tests()
    assert cnnblocks.get_num_threads() == 1


@pytest.mark.parametrize("text", ["0", "-2", "two", "1.5"])
def test_bad_environment_variable_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("CNNBLOCKS_NUM_THREADS", text)
    _threads._reset_for_tests()
    with pytest.raises(ParameterError, match=r"CNNBLOCKS_NUM_THREADS must be an integer >= 1"):
        cnnblocks.get_num_threads()


def test_set_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNNBLOCKS_NUM_THREADS", "1")
    cnnblocks.set_num_threads(2)
    assert cnnblocks.get_num_threads() == 2


@pytest.mark.parametrize("bad", [0, -1, 1.0, True, "2", None])
def test_set_rejects_anything_but_a_positive_int(bad: object) -> None:
    with pytest.raises(ParameterError) as info:
        cnnblocks.set_num_threads(bad)  # type: ignore[arg-type]
    assert str(info.value) == (
        f"The 'n' parameter of set_num_threads() must be an int >= 1. Got {bad!r} instead."
    )


@pytest.mark.parametrize("n", [1, 2])
def test_kernels_apply_the_setting_to_numba(n: int) -> None:
    cnnblocks.set_num_threads(n)
    fast_activations.relu(np.ones(fast_activations.PARALLEL_MIN, np.float32))
    numba = _numba.numba_module()
    assert numba.get_num_threads() == min(n, numba.config.NUMBA_NUM_THREADS)


def test_more_threads_than_cores_means_all_cores() -> None:
    cnnblocks.set_num_threads(1000)
    assert cnnblocks.get_num_threads() == 1000
    numba = _numba.numba_module()
    assert _numba.use_threads() == numba.config.NUMBA_NUM_THREADS
