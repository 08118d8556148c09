"""Pathfinder's Dash app for analysts (built on :mod:`evaluation`; arrives with its own issue)."""

__all__: list[str] = []
