"""Simulation studies (coverage, power) that write their figures into ``docs/``."""
