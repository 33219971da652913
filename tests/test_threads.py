"""Thread count: cnnblocks.set_num_threads / get_num_threads and CNNBLOCKS_NUM_THREADS."""

from __future__ import annotations

import threading
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


def _record(n_threads: int, units: int, cells: int) -> list[tuple[int, int, int]]:
    """Run parallel_for with a Python stand-in kernel that records its range and thread."""
    cnnblocks.set_num_threads(n_threads)
    seen: list[tuple[int, int, int]] = []
    lock = threading.Lock()
    # every chunk waits for all the others: passes only if the chunks really run at once
    together = threading.Barrier(min(n_threads, units) if cells >= _numba.SERIAL_BELOW else 1)

    def kernel(lo: int, hi: int, tag: str) -> None:
        assert tag == "args passed through"
        together.wait(timeout=30)
        with lock:
            seen.append((lo, hi, threading.get_ident()))

    _numba.parallel_for(kernel, units, cells, "args passed through")
    return sorted(seen)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_parallel_for_cuts_pieces_shared_by_the_threads(n: int) -> None:
    # 12 units: PIECES_PER_THREAD pieces per thread (a multiple of n, so the barrier's rounds
    # close), taken by n distinct threads at once
    seen = _record(n, 12, _numba.SERIAL_BELOW)
    ranges = [(lo, hi) for lo, hi, _ in seen]
    pieces = 1 if n == 1 else min(12, n * _numba.PIECES_PER_THREAD)
    assert ranges == [(i * 12 // pieces, (i + 1) * 12 // pieces) for i in range(pieces)]
    assert len({ident for *_, ident in seen}) == n


def test_small_jobs_stay_on_the_calling_thread() -> None:
    seen = _record(2, 10, _numba.SERIAL_BELOW - 1)
    assert seen == [(0, 10, threading.get_ident())]


def test_never_more_chunks_than_units() -> None:
    assert [(lo, hi) for lo, hi, _ in _record(8, 3, 10**9)] == [(0, 1), (1, 2), (2, 3)]


def test_an_exception_in_any_chunk_reaches_the_caller() -> None:
    cnnblocks.set_num_threads(2)

    def kernel(lo: int, hi: int) -> None:
        if lo > 0:
            raise ValueError("second chunk failed")

    with pytest.raises(ValueError, match="second chunk failed"):
        _numba.parallel_for(kernel, 4, 10**9)


@pytest.mark.parametrize("n", [1, 2])
def test_kernels_give_the_same_bits_at_any_thread_count(n: int) -> None:
    x = np.linspace(-30, 30, fast_activations.PARALLEL_MIN * 3 + 7, dtype=np.float32)
    cnnblocks.set_num_threads(n)
    got = fast_activations.sigmoid(x)
    cnnblocks.set_num_threads(1)
    assert np.array_equal(got, fast_activations.sigmoid(x))
