"""The one exception type cnnblocks raises for bad arguments."""

from __future__ import annotations

__all__ = ["ParameterError"]


class ParameterError(ValueError, TypeError):
    """An argument broke a rule of the function it was given to.

    The message names the function, the argument, the rule and the value received, e.g.
    ``"The 'kernel_size' parameter of max_pool() must be an int >= 1 or a tuple of 2 such ints.
    Got 0 instead."``

    It subclasses both :class:`ValueError` and :class:`TypeError` (as scikit-learn's
    ``InvalidParameterError`` does) so that code catching either keeps working whether the value
    had the wrong type or the wrong value.
    """
