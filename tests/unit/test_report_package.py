"""stocky.report offline: build from in-memory fakes, escaping, packaging, import isolation.

The integration tests (tests/integration/test_report.py) render real logs, drift checks and
MLflow versions; these check what needs no database: the page's guarantees and the package
shape. Data here is synthetic.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import stocky.report
from stocky.adapters.ports import DriftCheck, ModelVersionInfo, Promotion
from stocky.core.drift import DriftRule
from stocky.report.build import build_report
from stocky.report.charts import CHARTS
from stocky.report.html import render_overview, render_ticker

NOW = dt.datetime(2019, 1, 3, 12, tzinfo=dt.UTC)
HOSTILE = "<img src=x onerror=alert(1)>&'\""


def labeled(actual: list[float], prediction: list[float], naive: list[float]) -> pd.DataFrame:
    """Synthetic labeled predictions, one per business day from 2018-12-03."""
    n = len(actual)
    dates = pd.bdate_range("2018-12-03", periods=n)
    a, p = np.array(actual), np.array(prediction)
    return pd.DataFrame(
        {
            "id": range(1, n + 1),
            "created_at": dates.tz_localize("UTC") - pd.Timedelta(hours=4),
            "as_of": dates - pd.Timedelta(days=1),
            "target_date": dates,
            "prediction": p,
            "lower": p - 1.0,
            "upper": p + 1.0,
            "naive": naive,
            "actual": a,
            "error": a - p,
            "naive_error": a - np.array(naive),
        }
    )


class FakeLog:
    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self.frames = frames

    def labeled(self, ticker: str) -> pd.DataFrame:
        return self.frames.get(ticker, labeled([], [], []))

    def pending_counts(self, tickers: list[str]) -> dict[str, int]:
        return dict.fromkeys(tickers, 1)


class FakeAudit:
    def drift_checks(self, ticker: str) -> list[DriftCheck]:
        return []

    def promotions(self, ticker: str) -> list[Promotion]:
        return [
            Promotion(
                id=1,
                ticker=ticker,
                model_name="stocky-x",
                as_of=dt.date(2018, 12, 4),
                decided_at=NOW,
                action="promote",
                from_version=1,
                to_version=2,
                triggered_by="drift",
                champion_rmse=2.0,
                challenger_rmse=1.0,
                naive_rmse=None,
                reason=HOSTILE,
            )
        ]


class FakeRegistry:
    def versions(self, ticker: str) -> list[ModelVersionInfo]:
        tags = {"order": HOSTILE, "walk_forward_rmse": "1.5", "skill": "not a number"}
        return [ModelVersionInfo(ticker, "stocky-x", 2, ("champion",), "run", tags)]


def pages(report, image_src) -> str:
    """Every ticker page of the report, one after the other."""
    return "".join(
        render_ticker(
            t,
            rule=report.rule,
            generated_at=report.generated_at,
            image_src=image_src,
            overview_href="../index.html",
        )
        for t in report.tickers
    )


def report_of(frames: dict[str, pd.DataFrame], tickers: list[str]):
    return build_report(
        predictions=FakeLog(frames),
        audit=FakeAudit(),
        registry=FakeRegistry(),
        tickers=tickers,
        drift_rule=DriftRule(window=2, consecutive_days=1),
        now=NOW,
    )


def test_summary_comes_from_realized_metrics():
    frame = labeled([10.0, 12.5, 11.0], [11.0, 11.0, 11.0], [9.0, 10.0, 12.0])
    s = report_of({"AAA": frame}, ["AAA"]).tickers[0].summary
    assert s is not None and s.sessions == 3
    assert s.rmse == pytest.approx(np.sqrt(3.25 / 3))  # errors -1, 1.5, 0
    assert s.naive_rmse == pytest.approx(np.sqrt(8.25 / 3))  # errors 1, 2.5, -1
    assert s.skill == pytest.approx(1 - np.sqrt(3.25 / 8.25))
    assert s.coverage == pytest.approx(2 / 3)  # 12.5 is outside [10, 12]


def test_a_naive_that_was_never_wrong_gives_no_skill_and_the_page_still_renders():
    frame = labeled([5.0, 5.0], [4.0, 6.0], [5.0, 5.0])
    report = report_of({"AAA": frame}, ["AAA"])
    part = report.tickers[0]
    assert part.summary is not None and part.summary.skill is None
    assert np.isnan(part.rolling["skill"]).all()
    html = pages(report, lambda t, c: f"{t}-{c}.png")
    assert "<dt>skill vs naive</dt><dd>-<small>" in html
    assert "nan" not in html.lower().replace("naive", "")


def test_every_value_from_data_is_escaped():
    frame = labeled([10.0, 12.0], [11.0, 11.0], [9.0, 10.0])
    report = report_of({HOSTILE: frame}, [HOSTILE, "EMPTY"])
    html = pages(report, lambda t, c: f"x?t={t}&c={c}")
    assert "<img src=x" not in html and "onerror=alert(1)>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;" in html  # reason, ticker, tag
    assert 'src="x?t=&lt;img' in html and "&amp;c=forecast" in html
    assert html.count("data-chart=") == len(CHARTS)  # the ticker without labels has none
    assert (
        'data-empty="no-labels"' in html and "1 prediction is waiting for its actual close" in html
    )
    assert "<td class=n>not a number</td>" in html  # a non-numeric tag is shown as text
    assert not re.search(r"https?://|<script|<link rel=\"stylesheet|@import|url\(", html)


def test_an_empty_report_says_how_to_start():
    html = render_overview([], generated_at=NOW, window=21, href=lambda t: None)
    assert 'data-empty="no-tickers"' in html and html.startswith("<!doctype html>")


def test_templates_ship_as_package_data():
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["stocky.report"]
    folder = Path(stocky.report.__file__).parent
    files = [p.relative_to(folder).as_posix() for p in (folder / "templates").iterdir()]
    assert any(f.endswith(".html.j2") for f in files)
    for name in files:
        assert any(fnmatch.fnmatch(name, g) for g in globs), f"{name} would not ship"


def test_charts_import_without_the_rest_of_the_report():
    code = (
        "import sys, stocky.report.charts; "
        "loaded = sorted(m for m in sys.modules if m.startswith('stocky.report.') or m == 'jinja2'); "
        "print(loaded)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    assert out.stdout.strip() == "['stocky.report.charts']"
