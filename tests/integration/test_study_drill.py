"""`stocky study` drills down: every finished cell keeps a trace next to its result and has a
page (forecast vs actual with the band, decisions, skill over time) linked from the study
page's heatmap and cell table; a rerun reads the cells back and still links them.

Prices come from `STOCKY_PRICE_SOURCE=synthetic` (seeded random walks, labelled synthetic).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from stocky.cli.main import app
from stocky.core.realized import realized
from stocky.pipelines.study_trace import DECISIONS_FILE, TRACE_FILE

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENV = {
    "STOCKY_PRICE_SOURCE": "synthetic",
    "STOCKY_SYNTHETIC_TICKERS": "1",
    "STOCKY_SYNTHETIC_SESSIONS": "300",
    "STOCKY_SYNTHETIC_END": "2024-12-31",
    "STOCKY_ORDER": "0,1,1",
    "STOCKY_TEST_SIZE": "20",
    "STOCKY_VALIDATION_SIZE": "20",
    "STOCKY_TRAIN_WINDOW": "200",
    "STOCKY_MIN_TRAIN_SIZE": "100",
    "STOCKY_HOLDOUT_SIZE": "20",
}


def test_every_study_cell_links_to_its_replay_page(cli_env: Path, monkeypatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    out = cli_env / "study"
    args = ["study", "--all", "--start", "2024-10-01", "--end", "2024-12-31"]
    args += ["--grid", "retrain=never,monthly", "--jobs", "1", "--out", str(out)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    cells = pd.read_csv(out / "cells.csv")
    assert len(cells) == 2 and cells["error"].isna().all()

    page = (out / "study.html").read_text()
    links = re.findall(r' href="(cells/[^"]+)"', page)
    assert len(links) == 4 and len(set(links)) == 2  # heatmap cell + table row, per cell
    for link in set(links):
        cell_page = out / link
        assert cell_page.is_file()
        folder = cell_page.parent
        result = json.loads((folder / "result.json").read_text())
        trace = pd.read_csv(folder / TRACE_FILE)
        # the trace is the cell's scored rows: same count, same RMSE and skill
        assert len(trace) == result["labeled"] > 40
        scores = realized(trace["actual"], trace["prediction"], trace["naive"])
        assert scores.rmse == pytest.approx(result["rmse"], rel=1e-8)
        assert scores.skill == pytest.approx(result["skill"], rel=1e-6, abs=1e-9)
        decisions = json.loads((folder / DECISIONS_FILE).read_text())
        retrains = [d for d in decisions["decisions"] if d["action"] in ("promote", "reject")]
        assert len(retrains) == result["retrains"]
        html = cell_page.read_text()
        for series in ("actual", "forecast"):
            found = re.search(rf'data-series="{series}" data-points="(\d+)"', html)
            assert found and int(found.group(1)) == result["labeled"], series
        assert not re.search(r"\bNaN\b|Infinity", html)
        hrefs = re.findall(r'<a href="([^"#]+)"', html)
        assert len(hrefs) == 3  # back to the study, the trace, the decisions
        for href in hrefs:  # every link resolves
            assert (folder / href).resolve().exists(), href
        if result["retrain_mode"] == "monthly":
            # October, November and December open inside the period
            assert html.count('data-event="retrain ') == result["retrains"] == 3
    stamps = {p: p.stat().st_mtime_ns for p in out.glob(f"cells/*/*/{TRACE_FILE}")}
    assert len(stamps) == 2

    # a rerun reads every cell back: traces kept as they were, pages rebuilt and linked again
    for link in set(links):
        (out / link).unlink()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "0 cell(s) run, 2 already finished" in again.output
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    relinked = re.findall(r' href="(cells/[^"]+)"', (out / "study.html").read_text())
    assert sorted(relinked) == sorted(links)
    assert all((out / link).is_file() for link in relinked)
    assert np.isfinite(cells["skill"]).all()
