"""ONNX's own backend node tests, run through :func:`cnnblocks.onnx.run_node`.

Expected outputs are ONNX's test data (``onnx.backend.test``), computed by ONNX's reference code,
independent of ours. A case is selected when its model is a single node whose op_type is in
``SUPPORTED_OPS`` (not by its name), and compared as ONNX's runner compares
(``onnx.backend.test.runner.Runner.assert_similar_outputs``): same shape, same dtype,
``assert_allclose`` with the case's ``rtol``/``atol`` (1e-3/1e-7), bfloat16 through float32 with
rtol at least two bfloat16 ulps.

Not run as their own tests, with the reason:

- ``*_expanded`` / ``*_expanded_verNN`` cases are the same inputs and outputs fed through the
  operator's ONNX *function body*, a multi-node graph of primitive ops (Exp, Where, CastLike, ...)
  that cnnblocks does not implement; they test ONNX's function definition, not an operator
  implementation. :func:`test_expanded_cases_repeat_the_single_node_data` checks that each has a
  single-node twin with identical data, which is run here.
- Multi-node graphs of *other* operators that use ours inside (e.g. Attention's expansion uses
  Softmax) test those operators.
- GlobalLpPool has no node test in onnx 1.23; ``tests/test_onnx_run_node.py`` checks it by hand.

Loading: ONNX builds these cases in memory when its case modules are imported. Importing all
~200 modules takes ~13 s, so only modules whose source names one of our op types as a string
literal are imported (every node test writes ``make_node("MaxPool", ...)``); with onnx 1.23.2 this
selects the same 115 cases as the full ``load_model_tests(kind="node")``, which
:func:`test_selection_is_complete` pins.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from onnx.backend.test.case.test_case import TestCase

from cnnblocks.onnx import SUPPORTED_OPS, run_node

ONNX_DOMAINS = ("", "ai.onnx")
#: Supported ops that onnx 1.23 ships no node test for.
OPS_WITHOUT_NODE_TESTS = {"GlobalLpPool"}


def _load_node_cases() -> list[TestCase]:
    import onnx.backend.test.case.node as node_cases

    names = "|".join(map(re.escape, SUPPORTED_OPS))
    literal = re.compile(rf"[\"'](?:{names})[\"']")
    folder = Path(node_cases.__path__[0])
    # The case modules compute their expectations at import; some warn about their own casts.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in pkgutil.iter_modules(node_cases.__path__):
            if module.ispkg or module.name.startswith("_"):
                continue
            source = (folder / f"{module.name}.py").read_text(encoding="utf-8")
            if literal.search(source):
                importlib.import_module(f"{node_cases.__name__}.{module.name}")
    return list(node_cases._NodeTestCases)


def _single_node(case: TestCase) -> onnx.NodeProto | None:
    assert case.model is not None
    nodes = case.model.graph.node
    return nodes[0] if len(nodes) == 1 else None


def _is_selected(case: TestCase) -> bool:
    node = _single_node(case)
    return node is not None and node.domain in ONNX_DOMAINS and node.op_type in SUPPORTED_OPS


ALL_CASES = _load_node_cases()
SELECTED = {case.name: case for case in ALL_CASES if _is_selected(case)}
_EXPANDED_SUFFIX = re.compile(r"_expanded(?:_ver\d+)?$")
EXPANDED = {
    case.name: case
    for case in ALL_CASES
    if case.name not in SELECTED and _EXPANDED_SUFFIX.sub("", case.name) in SELECTED
}


def _as_array(value: Any) -> np.ndarray:
    if isinstance(value, onnx.TensorProto):
        return np.asarray(numpy_helper.to_array(value))
    return np.asarray(value)


def _node_inputs(node: onnx.NodeProto, present: Sequence[Any]) -> list[np.ndarray | None]:
    """Data for every declared input, None where the node leaves an optional input empty."""
    values = iter(present)
    return [None if name == "" else _as_array(next(values)) for name in node.input]


def _assert_similar(
    name: str, expected: np.ndarray, got: np.ndarray, rtol: float, atol: float
) -> None:
    assert got.shape == expected.shape, f"{name}: shape {got.shape}, expected {expected.shape}"
    assert got.dtype == expected.dtype, f"{name}: dtype {got.dtype}, expected {expected.dtype}"
    if expected.dtype.name == "bfloat16":
        rtol = max(rtol, 2**-6)
        expected, got = expected.astype(np.float32), got.astype(np.float32)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("name", sorted(SELECTED))
def test_node_conformance(name: str) -> None:
    case = SELECTED[name]
    node = _single_node(case)
    assert node is not None
    assert case.data_sets is not None
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    outputs = list(node.output)
    while outputs and outputs[-1] == "":
        outputs.pop()
    for present_inputs, expected_outputs in case.data_sets:
        got = run_node(node.op_type, _node_inputs(node, present_inputs), attributes, len(outputs))
        assert len(got) == len(outputs)
        expected = [_as_array(v) for v in expected_outputs]
        for i, (want, have) in enumerate(zip(expected, got, strict=True)):
            _assert_similar(f"{name} output {i}", want, have, case.rtol, case.atol)


def test_selection_is_complete() -> None:
    """Every supported op with node tests is exercised; the prefilter lost no case."""
    covered = {_single_node(case).op_type for case in SELECTED.values()}  # type: ignore[union-attr]
    assert covered == set(SUPPORTED_OPS) - OPS_WITHOUT_NODE_TESTS
    if onnx.__version__ == "1.23.2":
        # Counted once with the full onnx.backend.test.loader.load_model_tests(kind="node").
        assert len(SELECTED) == 115


def test_expanded_cases_repeat_the_single_node_data() -> None:
    """Skipping the function-body variants loses no data: each has a single-node twin run above."""
    assert len(EXPANDED) > 50
    for name, case in EXPANDED.items():
        twin = SELECTED[_EXPANDED_SUFFIX.sub("", name)]
        assert case.data_sets is not None
        assert twin.data_sets is not None
        for (ins, outs), (twin_ins, twin_outs) in zip(case.data_sets, twin.data_sets, strict=True):
            for a, b in zip([*ins, *outs], [*twin_ins, *twin_outs], strict=True):
                np.testing.assert_array_equal(_as_array(a), _as_array(b), err_msg=name)
