"""cnnblocks: exact, fast and visible building blocks of convolutional networks.

Layers of the package, data flowing downwards:

- :mod:`cnnblocks.shapes` and :mod:`cnnblocks.errors`: the output-size rules and argument checks;
- :mod:`cnnblocks.functional`: NumPy-in, NumPy-out operators with forward/backward pairs;
- :mod:`cnnblocks.engine`: the compiled kernels behind them (numba), with a NumPy fallback;
- :mod:`cnnblocks.reference`: plain loop implementations that mirror the lesson, the tests' oracle;
- :mod:`cnnblocks.onnx`: ONNX node semantics on top of the operators.
"""

from __future__ import annotations

from cnnblocks._threads import get_num_threads, set_num_threads
from cnnblocks.errors import ParameterError

__all__ = ["ParameterError", "__version__", "get_num_threads", "set_num_threads"]

__version__ = "0.1.0"
