"""The dashboard's pages, in menu order.

Each page module has ``PATH``, ``TITLE``, ``layout(ctx, dataset)`` (the page's components for
the user's data set) and ``register(app, ctx)`` (its callbacks).
"""

from __future__ import annotations

from types import ModuleType

from dashboard.pages import data, effects, method, overview, reports, value_for_money

__all__ = ["PAGES", "find"]

PAGES: tuple[ModuleType, ...] = (overview, reports, effects, value_for_money, data, method)


def find(pathname: str) -> ModuleType | None:
    """Return the page at ``pathname`` (trailing slash ignored), or ``None``."""
    path = "/" + pathname.strip("/")
    for page in PAGES:
        if page.PATH == path:
            return page
    return None
