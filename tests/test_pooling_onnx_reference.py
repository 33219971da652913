"""onnx.reference as an independent oracle for what PyTorch cannot express: dilated average
pooling, any asymmetric padding, and LpPool (ONNX's |x|^p form).

Two limits of onnx.reference 1.23 (its runtime, not the ONNX node tests) keep some cases out:
- with ``ceil_mode`` it spreads the extra padding it needs half before the input, shifting the
  windows (an AveragePool window then becomes empty: NaN); so ceil_mode is off here (PyTorch and
  the hand tests in test_pooling_exact cover it);
- its LpPool is ``(k * mean of the real cells' |x|^p)^(1/p)``, which inflates windows clipped by
  padding, unlike the ONNX node tests (``test_lppool_2d_pads`` pads with zeros that add 0) and
  unlike us; so LpPool is compared without padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from cnnblocks import ParameterError
from cnnblocks import functional as F
from pooling_cases import pool_kwargs, random_case


def _run_onnx(op: str, x: np.ndarray, **attributes: Any) -> np.ndarray:
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    node = helper.make_node(op, ["x"], ["y"], **attributes)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, None)],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    return np.asarray(ReferenceEvaluator(model).run(None, {"x": x})[0])


def _onnx_attributes(case: dict) -> dict[str, Any]:
    rank = len(case["kernel_size"])
    # lesson order: before/after per axis -> ONNX: all befores, then all afters
    pads = case["padding"] if case["padding"] != 0 else (0,) * (2 * rank)
    return {
        "kernel_shape": list(case["kernel_size"]),
        "strides": list(case["stride"]),
        "dilations": list(case["dilation"]),
        "pads": list(pads[0::2]) + list(pads[1::2]),
        "ceil_mode": int(case["ceil_mode"]),
    }


def _cases(count: int, **override: Any) -> list[dict]:
    """Random valid cases with some settings forced (skipping those the override invalidates)."""
    cases: list[dict] = []
    seed = 500
    while len(cases) < count:
        case = {**random_case(np.random.default_rng(seed), max_size=5), **override}
        seed += 1
        try:
            F.max_pool(np.zeros(case["shape"]), **pool_kwargs(case))
        except ParameterError:
            continue
        cases.append(case)
    return cases


CASES = _cases(16, ceil_mode=False)
UNPADDED = _cases(8, ceil_mode=False, padding=0)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['shape']}-k{c['kernel_size']}")
@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_average_pool_matches_onnx_reference(case: dict, count_include_pad: int) -> None:
    x = np.random.default_rng(0).standard_normal(case["shape"])
    expected = _run_onnx("AveragePool", x, **_onnx_attributes(case),
                         count_include_pad=count_include_pad)
    got = F.avg_pool(x, case["kernel_size"], case["stride"], case["padding"], case["dilation"],
                     case["ceil_mode"], count_include_pad=bool(count_include_pad))
    assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", UNPADDED, ids=lambda c: f"{c['shape']}-k{c['kernel_size']}")
@pytest.mark.parametrize("p", [1, 2, 3])
def test_lp_pool_matches_onnx_reference(case: dict, p: int) -> None:
    x = np.random.default_rng(1).standard_normal(case["shape"])
    expected = _run_onnx("LpPool", x, **_onnx_attributes(case), p=p)
    got = F.lp_pool(x, p, case["kernel_size"], case["stride"], case["padding"],
                    case["dilation"], case["ceil_mode"])
    assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['shape']}-k{c['kernel_size']}")
def test_max_pool_matches_onnx_reference(case: dict) -> None:
    x = np.random.default_rng(2).standard_normal(case["shape"])
    expected = _run_onnx("MaxPool", x, **_onnx_attributes(case))
    got = F.max_pool(x, case["kernel_size"], case["stride"], case["padding"], case["dilation"],
                     case["ceil_mode"])
    assert_allclose(got, expected, rtol=0, atol=0)
