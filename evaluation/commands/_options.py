"""Argument types shared by the subcommands: bad option values are usage errors (exit 2).

Each function is an ``argparse`` ``type=``: it returns the parsed value or raises
:class:`argparse.ArgumentTypeError`, which argparse reports with the usage line and exit code
2, before anything is read or computed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["MAX_DRAWS", "MAX_REPS", "count", "seed"]

#: Largest number of Monte Carlo draws accepted (memory grows linearly with draws).
MAX_DRAWS = 200_000
#: Largest number of bootstrap or permutation replications accepted.
MAX_REPS = 100_000
_MAX_SEED = 2**63 - 1


def _whole(text: str, what: str) -> int:
    try:
        return int(str(text).strip().replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a whole number; got {text!r}") from None


def seed(text: str) -> int:
    """Parse a random seed: a whole number from 0 to 2**63 - 1.

    Examples
    --------
    >>> seed("42")
    42
    >>> seed("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: the seed must be a whole number from 0 to 9223372036854775807; got '-1'
    """  # noqa: E501
    value = _whole(text, "the seed")
    if not 0 <= value <= _MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"the seed must be a whole number from 0 to {_MAX_SEED}; got {text!r}"
        )
    return value


def count(low: int, high: int, what: str) -> Callable[[str], int]:
    """Return a type accepting whole numbers from ``low`` to ``high`` (``what`` names them).

    Examples
    --------
    >>> draws = count(1, 1000, "draws")
    >>> draws("10")
    10
    >>> draws("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: draws must be a whole number from 1 to 1,000; got '0'
    """

    def parse(text: str) -> int:
        value = _whole(text, what)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{what} must be a whole number from {low:,} to {high:,}; got {text!r}"
            )
        return value

    parse.__name__ = what.replace(" ", "_")
    return parse
