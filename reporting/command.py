"""``pathfinder report``: the annual report, PDF and finance workbook of each financial year.

For each year the inputs are cut to what was known at its end (:mod:`evaluation.annual.cutoff`),
the pipeline runs on the cut, and ``<out>/<year>/`` receives ``report.html``, ``report.pdf``,
``workbook.xlsx`` and the cut inputs (``inputs/*.parquet``, their hashes in the QA log), written
atomically. The year before is computed too, so every report has its change since last year.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

__all__ = ["HELP", "add_arguments", "run"]

HELP = "annual report (HTML, PDF) and finance workbook for a financial year"

_DEFAULT_SEED = 20260401


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``report`` options."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--year", help="financial year, e.g. 2025-26 (default: the latest)")
    which.add_argument("--all-years", action="store_true", help="every year from the first go-live")
    parser.add_argument("--panel", type=Path, help="force panel (default: bundled sample)")
    parser.add_argument("--register", type=Path, help="pilot register (default: bundled sample)")
    parser.add_argument("--ledger", type=Path, help="cost ledger (default: bundled sample)")
    parser.add_argument("--params", type=Path, help="appraisal parameter file (TOML)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="output folder [reports]")
    parser.add_argument("--seed", type=int, default=_DEFAULT_SEED, help=f"seed [{_DEFAULT_SEED}]")
    parser.add_argument("--method", default="cs", help="estimator [cs]")
    parser.add_argument("--inference", help="inference method (default: recommended)")
    parser.add_argument("--reps", type=int, default=999, help="bootstrap draws [999]")
    parser.add_argument("--draws", type=int, help="Monte Carlo draws (default from params)")
    parser.add_argument(
        "--no-pdf", action="store_true", help="skip the PDF (HTML and workbook only)"
    )
    for role in ("commissioner", "analyst", "assurer", "approver"):
        parser.add_argument(f"--{role}", default="not recorded", help=f"QA role: {role}")


def run(args: argparse.Namespace) -> int:
    """Write the report sets and print where they are."""
    from evaluation.annual import AnnualReport, QaRoles, report_for_year, report_years
    from evaluation.annual.workbook import write_workbook
    from evaluation.errors import ConfigError
    from evaluation.ingest import load_ledger, load_panel, load_register
    from evaluation.pipeline import PipelineInputs
    from evaluation.provenance import file_sha256
    from reporting._atomic import atomic_output_dir
    from reporting.render import chart_svgs, render_html, render_pdf

    bundled = PipelineInputs.bundled()
    files = {
        "panel": args.panel or bundled.panel,
        "register": args.register or bundled.register,
        "ledger": args.ledger or bundled.ledger,
    }
    if args.params is not None:
        files["params"] = args.params
    panel = load_panel(files["panel"])
    register = load_register(files["register"])
    ledger = load_ledger(files["ledger"])
    sources = {k: {"file": Path(p).name, "sha256": file_sha256(p)} for k, p in files.items()}
    years = report_years(panel, register)
    if args.all_years:
        wanted = years
    else:
        year = args.year or years[-1]
        if year not in years:
            raise ConfigError(
                f"--year {year}: a report can be made for {', '.join(years)} (from the first "
                "go-live to the last year the panel covers)"
            )
        wanted = [year]
    first = years.index(wanted[0])
    todo = years[max(first - 1, 0) : years.index(wanted[-1]) + 1]
    qa = QaRoles(args.commissioner, args.analyst, args.assurer, args.approver)
    previous = None
    written = []

    def compute(year: str, folder: Path, previous: AnnualReport | None) -> AnnualReport:
        return report_for_year(
            panel,
            register,
            ledger,
            year,
            folder,
            previous,
            qa=qa,
            sources=sources,
            params=args.params,
            method=args.method,
            inference=args.inference,
            reps=args.reps,
            seed=args.seed,
            draws=args.draws,
        )

    for year in todo:
        if year not in wanted:  # only the comparison base of the first wanted year
            with tempfile.TemporaryDirectory(prefix="pathfinder-base-") as tmp:
                previous = compute(year, Path(tmp), previous)
            continue
        final = args.out / year
        with atomic_output_dir(final) as staging:
            report = compute(year, staging / "inputs", previous)
            html = render_html(report, svgs=chart_svgs(report.charts()))
            (staging / "report.html").write_text(html, encoding="utf-8")
            if not args.no_pdf:
                render_pdf(html, staging / "report.pdf")
            write_workbook(report, staging / "workbook.xlsx")
        previous = report
        written.append(final)
        h = report.headline
        print(
            f"{year}: NPSV GBP {h.npsv / 1e6:,.1f}m, BCR {h.bcr:.2f} ({h.vfm_category}): "
            + ", ".join(str(final / n) for n in _names(args.no_pdf))
        )
    print(f"Reports written to {args.out}/ for {', '.join(p.name for p in written)}")
    return 0


def _names(no_pdf: bool) -> list[str]:
    return ["report.html", *([] if no_pdf else ["report.pdf"]), "workbook.xlsx"]
