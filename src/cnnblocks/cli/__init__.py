"""The ``cnnblocks`` command line (typer).

``cnnblocks shape | pool | plot activations | gradflow | train | demo``; ``--help`` on each. Bad
input prints one line, ``Error: ...``, on stderr and exits with code 2; no traceback, no
partial file.
"""

from __future__ import annotations

from cnnblocks.cli import commands as _commands  # noqa: F401  (registers gradflow, train, demo)
from cnnblocks.cli.app import app, main

__all__ = ["app", "main"]
