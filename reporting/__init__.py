"""Reporting layer: the annual report as HTML and PDF, and the ``pathfinder report`` command.

It sits above the library (``evaluation``) and never the other way round.
"""

from __future__ import annotations

__all__: list[str] = []
