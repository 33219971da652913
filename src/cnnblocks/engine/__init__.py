"""Kernels behind :mod:`cnnblocks.functional`.

The functional layer validates arguments and resolves the window to a
:class:`~cnnblocks.shapes.PoolGeometry`; this layer only computes. Each pooling entry point takes
the input in the caller's layout (``channels_last`` says which) and returns arrays in that layout.
"""
