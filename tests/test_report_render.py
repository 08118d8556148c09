"""The annual report as HTML and PDF: self-contained, accessible, every chart with its table."""

from __future__ import annotations

import dataclasses
import itertools
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _annual import annual_years
from conftest import require_tool


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        for key in ("src", "href", "action", "data", "poster"):
            if a.get(key):
                self.urls.append(str(a[key]))


@pytest.fixture(scope="module")
def year():
    return annual_years()["2025-26"]


@pytest.fixture(scope="module")
def svgs(year):
    require_tool("chromium")
    from reporting.render import chart_svgs

    return chart_svgs(year.report.charts())


@pytest.fixture(scope="module")
def html(year, svgs) -> str:
    from reporting.render import render_html

    return render_html(year.report, svgs=svgs)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_html_makes_no_external_request(html) -> None:
    page = _parse(html)
    assert page.urls
    assert all(u.startswith(("data:", "#")) for u in page.urls), [
        u[:40] for u in page.urls if not u.startswith(("data:", "#"))
    ]
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "@import" not in html
    assert not re.search(r"url\((?!['\"]?data:)", html)


def test_every_chart_has_alt_text_and_a_data_table(html, year) -> None:
    page = _parse(html)
    imgs = [a for t, a in page.tags if t == "img"]
    charts = year.report.charts()
    assert len(imgs) == len(charts) > 10
    assert all(a.get("alt") and len(a["alt"]) > 30 for a in imgs)
    for n, chart in enumerate(charts, start=1):
        caption = f"Data for figure {n}: {chart.table.caption}"
        assert html.count(f"Figure {n}: ") == 1
        assert caption.replace("'", "&#39;") in html, caption


def test_page_structure_is_accessible(html) -> None:
    page = _parse(html)
    tags = [t for t, _ in page.tags]
    assert ("html", {"lang": "en-GB"}) in page.tags
    assert tags.count("main") == 1 and "nav" in tags and "header" in tags and "footer" in tags
    levels = [int(t[1]) for t in tags if re.fullmatch(r"h[1-6]", t)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
    assert tags.count("table") == tags.count("caption")
    ths = [a for t, a in page.tags if t == "th"]
    assert ths and all(a.get("scope") in ("col", "row") for a in ths)


def test_report_reads_in_order(html, year) -> None:
    order = [
        "Executive summary",
        "Change since 2024-25",
        "The programme and its theory of change",
        "Indicators by pillar",
        "Impact evaluation",
        "Costs",
        "Benefits",
        "Value for money",
        "Uncertainty",
        "National rollout",
        "Annex A: data dictionary",
        "Annex C: quality assurance log",
    ]
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", html)
    positions = [headings.index(t) for t in order]
    assert positions == sorted(positions)
    h = year.report.headline
    assert "OFFICIAL" in html and year.report.answer.replace("'", "&#39;") in html
    assert f"SMS {h.sms_level}" in html


def test_text_is_escaped(year, svgs) -> None:
    from reporting.render import render_html

    hostile = dataclasses.replace(
        year.report, cover=(*year.report.cover, ("Note", "<script>alert(1)</script>"))
    )
    out = render_html(hostile, svgs=svgs)
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out


def test_same_report_same_html(year, svgs, html) -> None:
    from reporting.render import render_html

    assert render_html(year.report, svgs=svgs) == html


@pytest.mark.slow
def test_chart_svg_is_reproducible(year) -> None:
    require_tool("chromium")
    from reporting.render import chart_svgs

    chart = year.report.charts()[-1:]
    assert chart_svgs(chart) == chart_svgs(chart)


@pytest.mark.slow
def test_pdf_first_page_renders(html, tmp_path) -> None:
    require_tool("pdftoppm")
    from reporting.render import pdf_page_png, render_pdf

    pdf = render_pdf(html, tmp_path / "report.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    png = pdf_page_png(pdf, tmp_path / "page1.png", dpi=40)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert height / width == pytest.approx(297 / 210, rel=0.02)  # A4 portrait
    assert Path(tmp_path / "page1.png").stat().st_size > 5_000
