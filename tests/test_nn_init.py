"""Initialisers against the formulas of their papers, with large samples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnblocks import init
from cnnblocks.errors import ParameterError


def test_fans_of_linear_and_conv_weights() -> None:
    assert init.compute_fans((10, 64)) == (64, 10)
    assert init.compute_fans((16, 6, 5, 5)) == (150, 400)


# Expected standard deviations from the papers: uniform U(±a) has sd a/√3.
CASES = [
    ("xavier_uniform", {}, math.sqrt(6 / (200 + 100)) / math.sqrt(3)),
    ("xavier_normal", {}, math.sqrt(2 / (200 + 100))),
    ("kaiming_uniform", {}, math.sqrt(2) * math.sqrt(3 / 200) / math.sqrt(3)),
    ("kaiming_normal", {}, math.sqrt(2 / 200)),
    ("he", {}, math.sqrt(2 / 200)),
    ("xavier", {}, math.sqrt(2 / (200 + 100))),
    ("pytorch", {}, 1 / math.sqrt(200) / math.sqrt(3)),
    ("normal", {"std": 0.3}, 0.3),
    ("large_normal", {}, 1.0),
    ("uniform", {"low": -2.0, "high": 2.0}, 2.0 / math.sqrt(3)),
]


@pytest.mark.parametrize(("name", "kwargs", "sd"), CASES)
def test_standard_deviation_matches_the_formula(name, kwargs, sd) -> None:
    w = init.get_initializer(name, **kwargs)((100, 200), np.random.default_rng(0))
    assert w.shape == (100, 200)
    # 20,000 draws: the sample sd is within ~1% of the true one.
    assert abs(w.std() / sd - 1) < 0.03
    assert abs(w.mean()) < 4 * sd / math.sqrt(w.size)


def test_same_generator_state_same_weights() -> None:
    a = init.kaiming_normal((3, 4), np.random.default_rng(5))
    b = init.kaiming_normal((3, 4), np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_rng_must_be_a_generator() -> None:
    with pytest.raises(ParameterError, match="'rng' parameter of xavier_normal"):
        init.xavier_normal((2, 2), 0)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'std' parameter of normal"):
        init.normal((2, 2), np.random.default_rng(), std=-1.0)
