"""Subcommands of the ``pathfinder`` command line, one module each (imported lazily)."""
