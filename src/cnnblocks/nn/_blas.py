"""Run small matrix products on one BLAS thread.

OpenBLAS splits every GEMM above a tiny size over all its threads. For the products of a small
convolution (LeNet on 8×8 digits: 16 × 150 × 512 multiply-adds, ≈ 1 M) waking the second thread
costs more than the product, and when the cores are busy with other work the waiting threads
are descheduled: on the shared 2-core machine a LeNet conv backward took 56 ms with 2 threads
and 1.5 ms with 1. PyTorch avoids the same trap with a grain size below which it does not
parallelise. Products of at least :data:`SMALL_GEMM_MACS` keep the caller's thread count.

The thread count is a process-wide BLAS setting, changed for the duration of the product and
restored after; threadpoolctl (a dependency of scikit-learn) finds the BLAS library. Without it
this is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["SMALL_GEMM_MACS", "small_gemm"]

SMALL_GEMM_MACS = 1 << 22  # ≈ 4 M multiply-adds: ~100 µs on one core, where threads start to pay

_libs: list[Any] | None = None


def _blas_libs() -> list[Any]:
    global _libs
    if _libs is None:
        try:
            from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

            _libs = list(ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:  # no threadpoolctl, or a BLAS it cannot drive: leave threads alone
            _libs = []
    return _libs


@contextmanager
def small_gemm(macs: int) -> Iterator[None]:
    """Limit BLAS to one thread inside the block when ``macs`` is below the threshold."""
    if macs >= SMALL_GEMM_MACS:
        yield
        return
    libs = [lib for lib in _blas_libs() if lib.num_threads > 1]
    saved = [lib.num_threads for lib in libs]
    for lib in libs:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in zip(libs, saved, strict=True):
            lib.set_num_threads(n)
