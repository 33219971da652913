"""ONNX node semantics on top of :mod:`cnnblocks.functional`.

:func:`run_node` evaluates one node of an ONNX graph: the pooling operators (MaxPool with its
whole-tensor ``Indices``, AveragePool, LpPool, the Global pools, MaxUnpool), the activations,
Softmax/LogSoftmax and Clip, with ONNX's attribute names and defaults. Every ONNX backend node test
of these operators passes through it (``tests/test_onnx_conformance.py``).

>>> import numpy as np
>>> from cnnblocks.onnx import run_node
>>> run_node("LeakyRelu", [np.array([-1.0, 2.0])])[0].tolist()
[-0.01, 2.0]
"""

from __future__ import annotations

from cnnblocks.onnx._run_node import SUPPORTED_OPS, run_node

__all__ = ["SUPPORTED_OPS", "run_node"]
