"""The study page: skill shown as percents, every policy column explained, the heatmap and the
frontier as standalone SVG files (well-formed, escaped, no script, nothing external) with the
frontier inline on the page, heatmap labels that contrast with their cell (white on the dark
ends of the diverging map, black in the pale middle), and the page of several replays linking
each ticker to its report."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from markupsafe import escape

from stocky.pipelines.replay import ReplaySummary
from stocky.pipelines.study import CellResult
from stocky.pipelines.study_report import EXPLAIN, policy_table, write_replays_page, write_study

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script>&\''


def _cells() -> list[CellResult]:
    return [
        CellResult("AAA", "retrain=never", "never", 100, 99, 2.0, 2.1, 0.0476, retrains=0),
        CellResult("BBB", "retrain=never", "never", 100, 99, 2.0, 2.0, 0.0005, retrains=0),
        CellResult("AAA", "retrain=monthly", "monthly", 100, 99, 2.2, 2.1, -0.0476, retrains=5),
        CellResult("BBB", "retrain=monthly", "monthly", 100, 99, 2.0, 2.0, None, error="boom"),
    ]


def test_the_page_shows_skill_in_percent_and_explains_every_column(tmp_path: Path) -> None:
    files = write_study(_cells(), tmp_path, start="2020-01-02", end="2020-12-31")
    page = files.html.read_text()
    # (0.0476 + 0.0005) / 2 = 2.405%  ->  "+2.41%" (or +2.40% by rounding half to even)
    assert "+2.4" in page and "%" in page
    assert "-4.76%" in page  # the monthly policy's only finished cell
    for column in policy_table(_cells()).columns:
        assert column in EXPLAIN, column
        assert str(escape(EXPLAIN[column])) in page


def _labels(svg: ET.Element) -> dict[str, str]:
    """Heatmap label text -> its fill colour."""
    out = {}
    for text in svg.iter(f"{SVG}text"):
        if text.get("class") == "cell":
            out[text.text or ""] = (text.get("style") or "").removeprefix("fill:")
    return out


def test_heatmap_labels_contrast_with_their_cells(tmp_path: Path) -> None:
    write_study(_cells(), tmp_path, start="2020-01-02", end="2020-12-31")
    svg = ET.parse(tmp_path / "heatmap.svg").getroot()
    colours = _labels(svg)
    assert colours["+4.76%"] == "#fff" and colours["-4.76%"] == "#fff"  # the dark ends
    assert colours["+0.05%"] == "#000"  # the pale middle
    # the page's table uses the same colours as the file
    page = (tmp_path / "study.html").read_text()
    assert re.search(r'color:#fff">\+4\.76%<', page) and re.search(r'color:#000">\+0\.05%<', page)


def test_the_charts_are_standalone_svg_files_and_the_frontier_is_on_the_page(
    tmp_path: Path,
) -> None:
    cells = [
        CellResult(HOSTILE, "retrain=never", "never", 100, 99, 2.0, 2.1, 0.0476, retrains=0),
        CellResult(HOSTILE, "retrain=monthly", "monthly", 100, 99, 2.0, 2.1, 0.01, retrains=6),
        CellResult("BBB", "retrain=monthly", "monthly", 100, 99, 2.0, 2.1, 0.03, retrains=2),
    ]
    write_study(cells, tmp_path, start="2020-01-02", end="2020-12-31")
    assert not list(tmp_path.glob("*.png"))
    for name in ("heatmap.svg", "frontier.svg"):
        text = (tmp_path / name).read_text()
        root = ET.fromstring(text.encode())  # well-formed XML, every text escaped
        assert root.tag == f"{SVG}svg"
        assert "<script" not in text
        assert not re.search(r"(?:href|src)=\"(?:https?:)?//", text)  # nothing external
        assert not re.search(r"\bNaN\b|Infinity|\binf\b", text)
    frontier = ET.parse(tmp_path / "frontier.svg").getroot()
    points = {g.get("data-policy"): g for g in frontier.iter(f"{SVG}g")}
    assert set(points) == {"retrain=never", "retrain=monthly"}
    # monthly: (0.01 + 0.03) / 2 = 2% mean skill, (6 + 2) / 2 = 4 retrains per ticker
    assert float(points["retrain=monthly"].get("data-skill")) == pytest.approx(2.0)
    assert float(points["retrain=monthly"].get("data-retrains")) == pytest.approx(4.0)
    assert float(points["retrain=never"].get("data-skill")) == pytest.approx(4.76)
    texts = [t.text for t in frontier.iter(f"{SVG}text")]
    assert "retrain=monthly" in texts and "retrains per ticker over the period" in texts
    assert "mean skill vs naive (%)" in texts
    assert frontier.find(f"{SVG}line[@data-series='zero']") is not None
    heat = ET.parse(tmp_path / "heatmap.svg").getroot()
    assert [t.text for t in heat.iter(f"{SVG}text")].count(HOSTILE) == 1  # one row label
    assert "&lt;script&gt;" in (tmp_path / "heatmap.svg").read_text()
    page = (tmp_path / "study.html").read_text()
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and 'data-chart="frontier"' in page
    assert 'href="heatmap.svg"' in page and 'href="frontier.svg"' in page
    assert ".png" not in page


def test_a_rerun_removes_the_old_png_charts(tmp_path: Path) -> None:
    for old in ("heatmap.png", "frontier.png"):
        (tmp_path / old).write_bytes(b"\x89PNG")
    write_study(_cells(), tmp_path, start="2020-01-02", end="2020-12-31")
    assert not list(tmp_path.glob("*.png"))
    assert (tmp_path / "heatmap.svg").is_file() and (tmp_path / "frontier.svg").is_file()


def test_the_replays_page_links_each_ticker_to_its_report(tmp_path: Path) -> None:
    s = ReplaySummary(
        "^GSPC", dt.date(2020, 1, 2), dt.date(2020, 3, 31), 61, 61, 60, 1.0, 1.1,
        1 - 1.0 / 1.1, 2, 3, 1, 0, 1, 2,
    )  # fmt: skip
    report = tmp_path / "gspc" / "report" / "index.html"
    report.parent.mkdir(parents=True)
    report.write_text("<html></html>")
    page = write_replays_page(
        tmp_path / "replays.html", summaries=[s], retrain_mode="monthly", reports={"^GSPC": report}
    )
    text = page.read_text()
    assert 'href="gspc/report/index.html"' in text
    assert "+9.09%" in text and "v1 -&gt; v2" in text
