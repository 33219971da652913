"""Benchmarks: cnnblocks against PyTorch on a CPU, side by side in one process.

Run ``python -m benchmarks.run`` (``make bench``); ``--help`` lists the options. Speed is measured
here and written to ``benchmarks/RESULTS.md``; it is never asserted by the tests.
"""
