"""Shared test configuration: Hypothesis profiles and the optional-oracle markers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# CI profile: no deadline (the first call compiles kernels), derandomised so a red run repeats.
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip optional-oracle tests where the oracle is missing, unless CI demands it."""
    need_torch = os.environ.get("CNNBLOCKS_REQUIRE_TORCH") == "1"
    need_browser = os.environ.get("CNNBLOCKS_REQUIRE_BROWSER") == "1"
    have_torch = _have_torch()
    have_browser = shutil.which("chromium") is not None
    for item in items:
        if "torch" in item.keywords and not have_torch and not need_torch:
            item.add_marker(pytest.mark.skip(reason="PyTorch is not installed (optional oracle)"))
        if "browser" in item.keywords and not have_browser and not need_browser:
            item.add_marker(
                pytest.mark.skip(reason="Chromium is not installed (apt-get install chromium)")
            )


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def nthreads(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test at 1 and at 2 engine threads, restoring the setting afterwards."""
    import cnnblocks

    before = cnnblocks.get_num_threads()
    cnnblocks.set_num_threads(request.param)
    yield request.param
    cnnblocks.set_num_threads(before)
