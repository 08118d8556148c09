"""Render an :class:`~evaluation.annual.AnnualReport` to HTML (Jinja2) and PDF (WeasyPrint).

The templates (top-level ``templates/`` folder) only lay out what the model holds; numbers are
formatted by the filters of :mod:`evaluation.annual.formatting`. Charts are static SVG made by
kaleido with the system Chromium, all in one batch, and embedded as ``data:`` images with their
alt text: the HTML and the PDF make no request to any other address.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import plotly.graph_objects as go

from evaluation.annual import AnnualReport, Chart, Column, Table
from evaluation.annual.formatting import financial_year, format_value, gbp_m, p_value, percent

__all__ = [
    "TEMPLATES_DIR",
    "chart_svgs",
    "environment",
    "pdf_page_png",
    "render_html",
    "render_pdf",
]

#: Where the report templates live (override with ``PATHFINDER_TEMPLATES``).
TEMPLATES_DIR = Path(
    os.environ.get("PATHFINDER_TEMPLATES", Path(__file__).resolve().parents[1] / "templates")
)
_CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def environment(folder: str | Path | None = None) -> jinja2.Environment:
    """Return the Jinja2 environment (autoescape on, strict undefined, shared filters)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder or TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        gbp_m=gbp_m, percent=percent, p_value=p_value, fy=financial_year, fmt=format_value
    )
    return env


def _browser() -> None:
    if "BROWSER_PATH" not in os.environ:
        for candidate in _CHROMIUM:
            if Path(candidate).exists():
                os.environ["BROWSER_PATH"] = candidate
                return
        found = shutil.which("chromium") or shutil.which("chromium-browser")
        if found:
            os.environ["BROWSER_PATH"] = found


_UID = re.compile(r'id="defs-([0-9a-f]+)"')


def _stable_ids(svg: str, key: str) -> str:
    """Replace plotly's random figure id with one derived from the chart key."""
    m = _UID.search(svg)
    if m is None:
        return svg
    stable = re.sub(r"[^a-z0-9]", "", key.lower())[:24] or "chart"
    return svg.replace(m.group(1), stable)


def chart_svgs(charts: Sequence[Chart]) -> dict[str, str]:
    """Return each chart's static SVG by key, all made in one kaleido (Chromium) session."""
    import kaleido

    if not charts:
        return {}
    _browser()
    with tempfile.TemporaryDirectory(prefix="pathfinder-charts-") as tmp:
        jobs = []
        for i, chart in enumerate(charts):
            fig = go.Figure(chart.figure)  # a copy: the model's figure stays as it is
            stable = re.sub(r"[^a-z0-9]", "", chart.key.lower())[:24] or "chart"
            for j, trace in enumerate(fig.data):
                trace.uid = f"{stable}{j}"  # plotly.js would draw random ids otherwise
            layout = fig.layout
            jobs.append(
                {
                    "fig": fig,
                    "path": str(Path(tmp) / f"{i:04d}.svg"),
                    "opts": {
                        "format": "svg",
                        "width": layout.width or 900,
                        "height": layout.height or 480,
                    },
                }
            )
        kaleido.write_fig_from_object_sync(jobs)
        return {
            c.key: _stable_ids((Path(tmp) / f"{i:04d}.svg").read_text("utf-8"), c.key)
            for i, c in enumerate(charts)
        }


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def render_html(
    report: AnnualReport,
    *,
    svgs: Mapping[str, str] | None = None,
    template: str = "report.html",
) -> str:
    """Return the report as one self-contained HTML page.

    Parameters
    ----------
    report
        The annual report model.
    svgs
        Chart SVGs by key (from :func:`chart_svgs`); made here when ``None``.
    template
        The page template in the templates folder.
    """
    charts = report.charts()
    if svgs is None:
        svgs = chart_svgs(charts)
    missing = [c.key for c in charts if c.key not in svgs]
    if missing:
        raise ValueError(f"no SVG for chart(s) {', '.join(missing)}")
    images = {key: _data_uri(svg) for key, svg in svgs.items()}
    qa = pd.DataFrame(report.qa.items(), columns=["role", "name"])
    qa_table = Table(
        key="qa-roles",
        caption="Roles (Aqua Book)",
        frame=qa,
        columns=(Column("role", "Role"), Column("name", "Name")),
    )
    context: dict[str, Any] = {
        "r": report,
        "images": images,
        "qa_table": qa_table,
        "running": f"Annual cost-benefit report {report.year}",
    }
    return environment().get_template(template).render(**context)


def render_pdf(html: str, path: str | Path) -> Path:
    """Render the HTML to an A4 PDF with WeasyPrint (tagged, PDF/UA-1) and return its path.

    No URL is fetched: every image is a ``data:`` URI, and any other address is refused.
    """
    import weasyprint
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    out = Path(path)
    doc = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=str(out.parent))
    doc.write_pdf(str(out), pdf_variant="pdf/ua-1")
    return out


def pdf_page_png(pdf: str | Path, png: str | Path, *, page: int = 1, dpi: int = 80) -> Path:
    """Render one page of a PDF to PNG with poppler's ``pdftoppm`` and return the PNG path."""
    import subprocess

    exe = shutil.which("pdftoppm")
    if exe is None:
        raise FileNotFoundError("pdftoppm (poppler-utils) is not installed")
    out = Path(png)
    stem = out.with_suffix("")
    subprocess.run(
        [
            exe,
            "-png",
            "-r",
            str(dpi),
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(pdf),
            str(stem),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out
