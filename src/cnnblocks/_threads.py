"""How many threads the compiled kernels use.

Every parallel kernel in :mod:`cnnblocks.engine` reads :func:`get_num_threads` at call time, so a
change takes effect on the next call. The default is every core this process may run on, or the
value of the environment variable ``CNNBLOCKS_NUM_THREADS`` when it is set (read once, at the first
call that needs it). Nothing here imports numba: the setting is plain Python state, applied to
numba's thread pool only when a kernel runs.
"""

from __future__ import annotations

import os
import threading

from cnnblocks._checks import _is_int, fail
from cnnblocks.errors import ParameterError

__all__ = ["ENV_VAR", "available_cores", "get_num_threads", "set_num_threads"]

ENV_VAR = "CNNBLOCKS_NUM_THREADS"

_lock = threading.Lock()
_num_threads: int | None = None


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _from_environment() -> int:
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return available_cores()
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ParameterError(
            f"The environment variable {ENV_VAR} must be an integer >= 1 (the number of threads "
            f"cnnblocks' kernels use). Got {text!r} instead."
        )
    return value


def get_num_threads() -> int:
    """Number of threads the compiled kernels use.

    Returns
    -------
    int
        The last value given to :func:`set_num_threads`; otherwise ``$CNNBLOCKS_NUM_THREADS``;
        otherwise the number of cores this process may use. Kernels use at most as many threads
        as numba's pool has (numba starts one per core), so larger values act as "all cores".

    Examples
    --------
    >>> import cnnblocks
    >>> cnnblocks.set_num_threads(1)
    >>> cnnblocks.get_num_threads()
    1
    """
    global _num_threads
    with _lock:
        if _num_threads is None:
            _num_threads = _from_environment()
        return _num_threads


def set_num_threads(n: int) -> None:
    """Set the number of threads every compiled kernel uses from its next call on.

    Parameters
    ----------
    n : int
        At least 1. Applies to the whole process (all Python threads), like
        :func:`torch.set_num_threads`.

    Raises
    ------
    ParameterError
        If ``n`` is not an int >= 1.
    """
    global _num_threads
    if not _is_int(n) or n < 1:
        raise fail("set_num_threads", "n", "an int >= 1", n)
    with _lock:
        _num_threads = int(n)


def _reset_for_tests() -> None:
    """Forget the setting so the next call reads the environment again."""
    global _num_threads
    with _lock:
        _num_threads = None
