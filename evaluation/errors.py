"""The one exception tree of Pathfinder.

Every error a user can cause derives from :class:`UserError` and ends the command line with exit
code 2 and a message, never a traceback. Anything else is an internal error (exit code 1).

::

    PathfinderError
    ├── UserError                 bad input or options: exit code 2
    │   ├── DataError             a file or table breaks the data contract (carries Problems)
    │   ├── ConfigError           an invalid option or parameter value
    │   ├── EstimationError       a design the estimators cannot identify (no comparison units ...)
    │   └── AppraisalError        a parameter set or effects table the appraisal cannot use
    └── (internal errors are any other exception)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AppraisalError",
    "ConfigError",
    "DataError",
    "EstimationError",
    "PathfinderError",
    "Problem",
    "UserError",
    "capped_lines",
    "check_option",
]

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Problem:
    """One located problem in an input.

    Parameters
    ----------
    message
        What is wrong, in plain words.
    file
        The file (or table name) the problem is in.
    row
        1-based row number as a spreadsheet user sees it (header is row 1), or ``None``.
    column
        The column name, or ``None`` for whole-file problems.
    value
        The offending value, as text.
    expected
        What was expected instead.
    severity
        ``"error"`` blocks use of the data; ``"warning"`` and ``"info"`` are reported only.
    """

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    expected: str | None = None
    severity: Severity = "error"

    def location(self) -> str:
        """Return ``file, row N, column 'c'`` with the parts that are known."""
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        loc = self.location()
        text = f"{loc}: {self.message}" if loc else self.message
        if self.value is not None:
            text += f" (got {self.value!r}"
            text += f"; expected {self.expected})" if self.expected else ")"
        elif self.expected:
            text += f" (expected {self.expected})"
        return text


class PathfinderError(Exception):
    """Base class of every error raised on purpose by Pathfinder."""


class UserError(PathfinderError):
    """An error caused by the user's input or options (command-line exit code 2)."""


class DataError(UserError):
    """Input data that break the data contract.

    Carries every problem found, so one run reports them all.
    """

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(message)

    def __str__(self) -> str:
        head = super().__str__()
        errors = [p for p in self.problems if p.severity == "error"]
        if not errors:
            return head
        return "\n".join([head, *capped_lines(errors, prefix="  - ")])


class ConfigError(UserError):
    """An invalid option value or parameter."""


class EstimationError(UserError):
    """A design the estimators cannot identify or a fit that cannot be computed."""


class AppraisalError(UserError):
    """A parameter set, cost ledger or effects table the appraisal cannot use."""


def capped_lines(problems: Sequence[Problem], *, limit: int = 200, prefix: str = "") -> list[str]:
    """Format problems as lines, at most about ``limit``, with an example of every rule.

    Problems are grouped by rule (message and column); each rule shows its first problems,
    ``limit`` shared between the rules but at least one each, followed by a line counting those
    not shown. So ten thousand bad dates never hide the one unknown force.

    Examples
    --------
    >>> ps = [Problem("not a date", row=r, column="d") for r in range(2, 502)]
    >>> ps.append(Problem("unknown force", row=9, column="force"))
    >>> lines = capped_lines(ps, limit=4)
    >>> len(lines), lines[-1]
    (4, "row 9, column 'force': unknown force")
    >>> lines[2]
    "  ... and 498 more 'not a date' in column 'd'"
    """
    groups: dict[tuple[str, str | None], list[Problem]] = {}
    for p in problems:
        groups.setdefault((p.message, p.column), []).append(p)
    if len(problems) <= limit:
        return [f"{prefix}{p}" for p in problems]
    per_rule = max(1, limit // max(len(groups), 1))
    lines: list[str] = []
    for (message, column), items in groups.items():
        lines.extend(f"{prefix}{p}" for p in items[:per_rule])
        if len(items) > per_rule:
            where = f" in column {column!r}" if column else ""
            lines.append(f"  ... and {len(items) - per_rule} more {message!r}{where}")
    return lines


def check_option(name: str, value: object, allowed: Iterable[object]) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``allowed``.

    Examples
    --------
    >>> check_option("control", "never", ("never", "notyet"))
    >>> check_option("control", "always", ("never", "notyet"))
    Traceback (most recent call last):
    ...
    evaluation.errors.ConfigError: control must be one of 'never', 'notyet'; got 'always'
    """
    allowed = tuple(allowed)
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ConfigError(f"{name} must be one of {options}; got {value!r}")
