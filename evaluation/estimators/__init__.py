"""Difference-in-differences estimators, all working on :class:`evaluation.panel.Panel`."""
