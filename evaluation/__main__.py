"""``python -m evaluation`` runs the ``pathfinder`` command line."""

import sys

from evaluation.cli import main

sys.exit(main())
