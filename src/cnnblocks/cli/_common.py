"""What every command shares: turning text options into values, one-line errors, atomic writes."""

from __future__ import annotations

import ast
import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import typer

from cnnblocks.errors import ParameterError

__all__ = [
    "EXIT_BAD_INPUT",
    "atomic_path",
    "check_option",
    "die",
    "parse_ints",
    "parse_padding",
    "user_errors",
]

# The exit code click/typer use for usage errors; ours match so scripts see one code for bad input.
EXIT_BAD_INPUT = 2


def die(message: str) -> NoReturn:
    """Print ``Error: message`` as one line on stderr and exit with code 2."""
    one_line = " ".join(str(message).split())
    typer.echo(f"Error: {one_line}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Report bad input (ours, the file system's, Pillow's) as one line and exit 2, no traceback."""
    from PIL import UnidentifiedImageError

    try:
        yield
    except ParameterError as exc:
        die(str(exc))
    except UnidentifiedImageError as exc:
        die(f"cannot read the image: {exc}")
    except OSError as exc:
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        reason = exc.strerror or str(exc)
        die(f"{reason}{where}")


def check_option(value: str, choices: tuple[str, ...], option: str) -> str:
    """Reject a text option outside ``choices`` with the standard one-line message."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ParameterError(f"The {option} option must be one of {listed}. Got {value!r} instead.")
    return value


def parse_ints(text: str, *, option: str, minimum: int = 1) -> tuple[int, ...]:
    """``'2'`` -> ``(2,)``, ``'2,3'`` or ``'2x3'`` -> ``(2, 3)``; every value must be >= minimum."""
    parts = [p.strip() for p in text.replace("x", ",").replace("(", "").replace(")", "").split(",")]
    try:
        values = tuple(int(p) for p in parts if p != "")
    except ValueError:
        values = ()
    if not values or any(v < minimum for v in values):
        raise ParameterError(
            f"The {option} option must be comma-separated ints >= {minimum}. Got {text!r} instead."
        )
    return values


def parse_padding(text: str) -> Any:
    """Padding as typed: ``1``, ``1,2``, ``0,1,2,3`` (top, bottom, left, right), ``((0,1),(2,3))``.

    Names (``SAME``, ``SAME_LOWER``, ``VALID``) are passed on upper-cased.
    """
    stripped = text.strip()
    if stripped.replace("_", "").isalpha():
        return stripped.upper()  # normalize_padding checks the name
    try:
        value = ast.literal_eval(stripped)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ParameterError(
            "The --padding option must be an int, comma-separated ints (per axis, or top, bottom, "
            f"left, right), ((top, bottom), (left, right)) or SAME/SAME_LOWER/VALID. Got {text!r} "
            "instead."
        ) from None
    return value


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` if the block succeeds."""
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(2, "No such directory", str(directory))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        current = os.umask(0)
        os.umask(current)
        os.chmod(tmp, 0o666 & ~current)  # mkstemp makes files private; the user's file is not
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
