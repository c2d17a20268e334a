"""The study page: skill shown as percents, every policy column explained, heatmap labels that
contrast with their cell (white on the dark ends of the diverging map, black in the pale
middle), and the page of several replays linking each ticker to its report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
import pytest
from markupsafe import escape

from stocky.pipelines.replay import ReplaySummary
from stocky.pipelines.study import CellResult
from stocky.pipelines.study_report import (
    EXPLAIN,
    _heatmap,
    policy_table,
    write_replays_page,
    write_study,
)

matplotlib.use("Agg")


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


def test_heatmap_labels_contrast_with_their_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.axes

    seen: list[tuple[str, Any]] = []
    original = matplotlib.axes.Axes.text

    def spy(self: Any, x: float, y: float, s: str, *a: Any, **kw: Any) -> Any:
        seen.append((s, kw.get("color")))
        return original(self, x, y, s, *a, **kw)

    monkeypatch.setattr(matplotlib.axes.Axes, "text", spy)
    frame = pd.DataFrame([c.__dict__ for c in _cells()[:3]])
    assert _heatmap(frame)[:4] == b"\x89PNG"
    colours = dict(seen)
    assert colours["+4.76%"] == "white" and colours["-4.76%"] == "white"  # the dark ends
    assert colours["+0.05%"] == "black"  # the pale middle


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
