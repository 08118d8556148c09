"""Write ``cases_panels.parquet``: panels of the seeded file of ``cases_reference_frame``.

The panels were produced by the list-based implementation of ``aggregate_cases`` (sorted
per-cell turnaround lists, numpy's quantile arithmetic applied to them in SQL) before the
aggregation was rewritten to stream; ``tests/test_cases_scale.py`` checks that the current
implementation gives the same panels. Run from the repository root::

    python tests/reference/make_cases_reference.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cases_data import cases_reference_frame  # noqa: E402

from evaluation.cases import aggregate_cases  # noqa: E402


def main() -> None:
    frame = cases_reference_frame()
    panels = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.csv"
        frame.to_csv(path, index=False)
        for freq in ("month", "quarter", "fy"):
            panel, _ = aggregate_cases(path, freq=freq)
            panels.append(panel.assign(freq=freq))
    out = pd.concat(panels, ignore_index=True)
    out.to_parquet(HERE / "cases_panels.parquet", index=False)
    print(f"wrote {len(out):,} rows to {HERE / 'cases_panels.parquet'}")


if __name__ == "__main__":
    main()
