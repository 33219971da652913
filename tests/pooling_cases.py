"""Random pooling configurations shared by the pooling tests (plain RNG and Hypothesis)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from cnnblocks.errors import ParameterError
from cnnblocks.shapes import pool_geometry

__all__ = ["PoolCase", "pool_cases", "pool_kwargs", "random_case", "tie_free"]

PoolCase = dict[str, Any]


def _valid(case: PoolCase) -> bool:
    try:
        pool_geometry(case["shape"][2:], case["kernel_size"], case["stride"], case["padding"],
                      case["dilation"], case["ceil_mode"])
    except ParameterError:
        return False
    return True


def random_case(rng: np.random.Generator, rank: int | None = None, max_size: int = 6,
                channels: int = 2) -> PoolCase:
    """A valid configuration with asymmetric padding in the lesson's flat order."""
    while True:
        r = int(rng.integers(1, 4)) if rank is None else rank
        kernel = tuple(int(v) for v in rng.integers(1, 4, r))
        dilation = tuple(int(v) for v in rng.integers(1, 3, r))
        stride = tuple(int(v) for v in rng.integers(1, 4, r))
        padding = tuple(
            int(v) for k, d in zip(kernel, dilation, strict=True)
            for v in rng.integers(0, d * (k - 1) + 1, 2)
        )
        spatial = tuple(int(v) for v in rng.integers(1, max_size + 1, r))
        case = {
            "shape": (int(rng.integers(1, 3)), channels, *spatial),
            "kernel_size": kernel,
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "ceil_mode": bool(rng.integers(0, 2)),
        }
        if _valid(case):
            return case


@st.composite
def pool_cases(draw: st.DrawFn, max_rank: int = 3, max_size: int = 7) -> PoolCase:
    """Hypothesis strategy for valid configurations (padding in any accepted form)."""
    r = draw(st.integers(1, max_rank))
    kernel = tuple(draw(st.lists(st.integers(1, 4), min_size=r, max_size=r)))
    dilation = tuple(draw(st.lists(st.integers(1, 2), min_size=r, max_size=r)))
    stride = tuple(draw(st.lists(st.integers(1, 3), min_size=r, max_size=r)))
    spatial = tuple(draw(st.lists(st.integers(1, max_size), min_size=r, max_size=r)))
    pairs = [
        (draw(st.integers(0, d * (k - 1))), draw(st.integers(0, d * (k - 1))))
        for k, d in zip(kernel, dilation, strict=True)
    ]
    form = draw(st.sampled_from(["flat", "pairs", "same", "same_lower", "valid", "int"]))
    padding: Any
    if form == "flat":
        padding = tuple(v for pair in pairs for v in pair)
    elif form == "pairs":
        padding = tuple(pairs)
    elif form == "same":
        padding = "SAME"
    elif form == "same_lower":
        padding = "SAME_LOWER"
    elif form == "valid":
        padding = "VALID"
    else:
        padding = min(pairs[0])
    case = {
        "shape": (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *spatial),
        "kernel_size": kernel,
        "stride": None if draw(st.booleans()) else stride,
        "padding": padding,
        "dilation": dilation,
        "ceil_mode": draw(st.booleans()),
    }
    assume(_valid(case))
    return case


def tie_free(rng: np.random.Generator, shape: tuple[int, ...], *, avoid_zero: bool = True
             ) -> np.ndarray:
    """Distinct float64 values one apart (a shuffled range), none of them 0 if asked."""
    size = int(np.prod(shape))
    values = rng.permutation(size).astype(np.float64) - size / 2
    if avoid_zero:
        values += 0.25
    return values.reshape(shape)


def pool_kwargs(case: PoolCase) -> dict[str, Any]:
    """The keyword arguments of max_pool/avg_pool for a case."""
    return {k: case[k] for k in ("kernel_size", "stride", "padding", "dilation", "ceil_mode")}
