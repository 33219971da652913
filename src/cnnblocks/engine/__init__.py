"""Kernels behind :mod:`cnnblocks.functional`.

The functional layer validates arguments and resolves the window to a
:class:`~cnnblocks.shapes.PoolGeometry`; this layer only computes. Each pooling entry point takes
the input in the caller's layout (``channels_last`` says which) and returns arrays in that layout.

- :mod:`~cnnblocks.engine.pooling` dispatches: compiled kernels when they apply, NumPy otherwise;
- :mod:`~cnnblocks.engine.fast_pool` (1-D and 2-D windows), :mod:`~cnnblocks.engine.fast_pool3d`
  (3-D windows) and :mod:`~cnnblocks.engine.fast_activations` prepare layouts, outputs and
  geometry tables for the compiled kernels and run them on :func:`cnnblocks.get_num_threads`
  threads;
- :mod:`~cnnblocks.engine.numba_pool`, :mod:`~cnnblocks.engine.numba_pool3d` and
  :mod:`~cnnblocks.engine.numba_activations` are the kernels (numba, compiled at first use and
  cached on disk, see :mod:`~cnnblocks.engine._numba`);
- :mod:`~cnnblocks.engine.numpy_pool` is the NumPy path (float16, integers);
- :mod:`~cnnblocks.engine._layout` finds an array's memory layout (channels first or last) and
  allocates outputs in it, for the pooling drivers at every rank.

Importing this package does not import numba.
"""
