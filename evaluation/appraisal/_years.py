"""Financial-year arithmetic on ``YYYY-YY`` labels (private helpers)."""

from __future__ import annotations

__all__ = ["fy_label", "fy_start", "fy_years"]


def fy_start(label: str) -> int:
    """Return the calendar year a financial year starts in: ``fy_start("2022-23") == 2022``."""
    return int(str(label)[:4])


def fy_label(start: int) -> str:
    """Return the label of the financial year starting in ``start``: ``2022-23``."""
    return f"{start:04d}-{(start + 1) % 100:02d}"


def fy_years(first: str, n: int) -> list[str]:
    """Return ``n`` consecutive financial-year labels from ``first``."""
    s = fy_start(first)
    return [fy_label(s + i) for i in range(n)]
