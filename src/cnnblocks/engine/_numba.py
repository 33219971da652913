"""Lazy numba: import, on-disk cache location and threads, in one place.

``import cnnblocks`` must stay fast, so nothing imports numba until a kernel first runs. Kernels are
written as plain Python functions over a range ``[lo, hi)`` of independent work units (planes,
rows) and wrapped in :class:`LazyKernel`; the first call imports numba and compiles the function
for the argument types it sees (``cache=True``: later processes load the machine code from disk
instead of recompiling). :func:`parallel_for` cuts the units into one chunk per thread
(:func:`cnnblocks.get_num_threads`) and runs the chunks at once on a pool of Python threads: the
kernels are compiled with ``nogil=True``.

Cache location. numba refuses to *decorate* a ``cache=True`` function when it finds no writable
place for the cache (``RuntimeError: cannot cache function ...: no locator available``), which
happens when site-packages is read-only and there is no writable home directory. So, unless the
user set ``NUMBA_CACHE_DIR`` themselves, we point it, before numba is imported, at the first
writable one of ``$CNNBLOCKS_CACHE_DIR``, ``$XDG_CACHE_HOME/cnnblocks/numba`` and
``~/.cache/cnnblocks/numba``; if none is writable, or numba was imported before us and has no
usable locator, the kernels compile without a disk cache (correct, only slower to start).
numba's cache files are written to a temporary name and renamed into place, so two processes that
compile the same kernel at once (``pytest -n 2``) each end with a complete file.

Stale kernels. numba checks a cached kernel against the file that defines it (its time stamp and
size), not against the helper modules whose ``@jit`` functions it inlines
(:mod:`cnnblocks.engine.numba_vector_math`'s exp, for instance): after a change to a helper
alone, numba would load the old machine code. So our cache lives in a subfolder named by a hash
of the kernel sources (every ``numba_*.py`` here and this file): any change to any of them starts
a fresh cache. (A ``NUMBA_CACHE_DIR`` set by the user is used as given.)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from cnnblocks._threads import get_num_threads

__all__ = [
    "PIECES_PER_THREAD",
    "SERIAL_BELOW",
    "LazyKernel",
    "cache_dir",
    "channel_blocks",
    "compile_seconds",
    "jit",
    "kernel",
    "numba_module",
    "parallel_for",
    "sources_fingerprint",
    "split",
]

# Jobs touching fewer cells than this run on the calling thread: handing work to another thread
# costs more than it saves.
SERIAL_BELOW = 1 << 15
# Pieces per thread in parallel_for (load balancing against a busy core, at ~10 µs per piece).
PIECES_PER_THREAD = 4

_lock = threading.RLock()
_numba: ModuleType | None = None
_cache_dir: str | None = None
# error_model="numpy": a float division by zero gives inf/NaN instead of a Python exception check
# in the loop, which would stop it from being vectorised.
_DEFAULT_OPTIONS: dict[str, Any] = {"nogil": True, "error_model": "numpy"}
# Wall time spent decorating and compiling, per kernel name (the benchmark reports it).
_compile_seconds: dict[str, float] = {}


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return False
    return True


def _candidate_cache_dirs() -> list[Path]:
    found: list[Path] = []
    if os.environ.get("CNNBLOCKS_CACHE_DIR"):
        found.append(Path(os.environ["CNNBLOCKS_CACHE_DIR"]))
    if os.environ.get("XDG_CACHE_HOME"):
        found.append(Path(os.environ["XDG_CACHE_HOME"]) / "cnnblocks" / "numba")
    with contextlib.suppress(RuntimeError):  # no home directory can be determined
        found.append(Path.home() / ".cache" / "cnnblocks" / "numba")
    return found


def sources_fingerprint() -> str:
    """Short hash of the compiled kernels' sources: names the cache subfolder (see above)."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*here.glob("numba_*.py"), Path(__file__)]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def numba_module() -> ModuleType:
    """Import numba (once), after choosing its cache directory."""
    global _numba, _cache_dir
    if _numba is not None:
        return _numba
    with _lock:
        if _numba is None:
            if "NUMBA_CACHE_DIR" in os.environ:
                _cache_dir = os.environ["NUMBA_CACHE_DIR"]
            elif "numba" not in sys.modules:
                fingerprint = sources_fingerprint()
                for base in _candidate_cache_dirs():
                    candidate = base / fingerprint
                    if _writable_dir(candidate):
                        _cache_dir = str(candidate)
                        os.environ["NUMBA_CACHE_DIR"] = _cache_dir
                        break
            import numba

            _numba = numba
    return _numba


def cache_dir() -> str | None:
    """Directory numba caches our kernels in (None: numba's own choice or no cache)."""
    numba_module()
    return _cache_dir


def compile_seconds() -> dict[str, float]:
    """Seconds spent compiling (or loading from the cache) each kernel in this process so far."""
    return dict(_compile_seconds)


class LazyKernel:
    """A plain Python function that becomes a (serial, cached) numba kernel at its first call.

    Parameters
    ----------
    func : callable
        The kernel's Python source (also runnable uncompiled, which helps debugging).
    options : dict
        More ``numba.njit`` options, e.g. ``fastmath``.
    """

    def __init__(self, func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.py_func = func
        self.options = options
        self.__name__ = func.__name__
        self.__doc__ = func.__doc__
        self._dispatcher: Any = None

    def _build(self) -> Any:
        with _lock:
            if self._dispatcher is None:
                self._dispatcher = jit(**self.options)(self.py_func)
            return self._dispatcher

    @property
    def dispatcher(self) -> Any:
        """The numba dispatcher (built on first access)."""
        return self._dispatcher if self._dispatcher is not None else self._build()

    def __call__(self, *args: Any) -> Any:
        dispatcher = self.dispatcher
        known = len(dispatcher.overloads)
        start = time.perf_counter()
        result = dispatcher(*args)
        if len(dispatcher.overloads) != known:  # compiled, or loaded from the disk cache
            elapsed = time.perf_counter() - start
            _compile_seconds[self.__name__] = _compile_seconds.get(self.__name__, 0.0) + elapsed
        return result


# ---------------------------------------------------------------------------------------------
# Threads. Kernels are compiled serial and with ``nogil``; a pool of Python threads runs one chunk
# of the work each. numba's own ``parallel=True`` would cost 3-5 s of extra compilation per kernel
# (its parfor pipeline) and a second OpenMP runtime next to PyTorch's.
# ---------------------------------------------------------------------------------------------

_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < workers:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cnnblocks")
            _pool_size = workers
        return _pool


def split(units: int, cells: int) -> int:
    """Number of chunks to cut ``units`` (planes, rows, blocks) into.

    One per thread (:func:`cnnblocks.get_num_threads`), at most one per unit, and a single chunk
    (run on the calling thread) when the job touches fewer than :data:`SERIAL_BELOW` cells.
    """
    if cells < SERIAL_BELOW or units <= 1:
        return 1
    return max(1, min(units, get_num_threads()))


def channel_blocks(images: int, channels: int) -> int:
    """Channel blocks per image for NHWC kernels that accumulate over a whole image.

    Units of (image, channel block) keep the accumulation race-free. With at least as many images
    as threads, one block per image; with fewer, enough blocks (of at least 16 channels) for about
    two units per thread.
    """
    threads = get_num_threads()
    if images >= threads:
        return 1
    return max(1, min(max(channels // 16, 1), -(-2 * threads // images)))


def parallel_for(func: Callable[..., Any], units: int, cells: int, *args: Any) -> None:
    """Run ``func(lo, hi, *args)`` over ``[0, units)`` on :func:`split` threads.

    The range is cut into up to ``PIECES_PER_THREAD`` equal pieces per thread, which the calling
    thread and the pool's threads take in order until none is left; the kernels release the GIL.
    The first exception raised by any chunk is re-raised here after all chunks have finished.
    """
    threads = split(units, cells)
    if threads == 1:
        func(0, units, *args)
        return
    # A few pieces per thread, taken from a shared queue: when one core is busy (another
    # library's spinning OpenMP threads, another process), the other thread takes over its
    # pieces instead of waiting for one fixed half.
    pieces = min(units, threads * PIECES_PER_THREAD)
    bounds = iter([(c * units // pieces, (c + 1) * units // pieces) for c in range(pieces)])
    take = threading.Lock()

    def work() -> None:
        while True:
            with take:
                piece = next(bounds, None)
            if piece is None:
                return
            func(piece[0], piece[1], *args)

    pool = _executor(threads - 1)
    futures = [pool.submit(work) for _ in range(threads - 1)]
    try:
        work()
    finally:
        for future in futures:
            future.result()


def jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit`` with the disk cache when there is a place for it (for kernels' helpers)."""
    numba = numba_module()
    opts = {**_DEFAULT_OPTIONS, **options}

    def wrap(func: Callable[..., Any]) -> Any:
        try:
            return numba.njit(cache=True, **opts)(func)
        except RuntimeError:
            return numba.njit(cache=False, **opts)(func)

    return wrap


def kernel(**options: Any) -> Callable[[Callable[..., Any]], LazyKernel]:
    """Decorator: ``@kernel(fastmath=...)`` turns a function into a :class:`LazyKernel`."""

    def wrap(func: Callable[..., Any]) -> LazyKernel:
        return LazyKernel(func, options)

    return wrap
