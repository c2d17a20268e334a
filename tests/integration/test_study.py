"""`stocky study` on real bundled closes: every (ticker x policy) cell replays in its own state
folder; the table, Parquet, SVG charts and HTML page are written; a rerun skips finished
cells; and a study process never imports matplotlib (~0.25 s of imports it has no use for)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from stocky.cli.main import app

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_study_runs_every_cell_once_and_resumes(cli_env: Path, monkeypatch) -> None:
    for key, value in {
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_ORDER": "0,1,1",
        "STOCKY_TEST_SIZE": "40",
        "STOCKY_VALIDATION_SIZE": "20",
        "STOCKY_TRAIN_WINDOW": "300",
        "STOCKY_MIN_TRAIN_SIZE": "100",
        "STOCKY_HOLDOUT_SIZE": "20",
        "STOCKY_DRIFT_DETECTOR": "rule",  # the grid varies the rolling-error rule
    }.items():
        monkeypatch.setenv(key, value)
    args = ["study", "-t", "^GSPC", "-t", "MSFT", "--start", "2016-06-01", "--end", "2016-08-31"]
    args += ["--grid", "retrain=on-drift,monthly", "--grid", "drift.window=10", "--jobs", "1"]
    out = cli_env / "study"
    first = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert "4 cell(s) run, 0 already finished" in first.output
    cells = pd.read_csv(out / "cells.csv")
    assert len(cells) == 4 and cells["error"].isna().all()
    assert set(cells["policy"]) == {
        "retrain=on-drift drift.window=10",
        "retrain=monthly drift.window=10",
    }
    monthly = cells[cells["retrain_mode"] == "monthly"]
    # June, July and August 2016 each open with a session inside the period: 2 more than June 1
    assert (monthly["retrains"] == 3).all(), monthly
    assert (cells["labeled"] > 50).all() and cells["skill"].abs().lt(0.05).all()
    policies = pd.read_parquet(out / "policies.parquet")
    assert list(policies["tickers"]) == [2, 2]
    page = (out / "study.html").read_text()
    assert "heatmap.svg" in page and "retrain=monthly drift.window=10" in page
    assert (out / "heatmap.svg").stat().st_size > 1000 and (out / "frontier.svg").exists()
    results = sorted(out.glob("cells/*/*/result.json"))
    assert len(results) == 4
    stamps = [p.stat().st_mtime_ns for p in results]
    # a finished cell is never replayed: its result file is read back as is
    json.loads(results[0].read_text())
    again = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert "0 cell(s) run, 4 already finished" in again.output
    assert [p.stat().st_mtime_ns for p in results] == stamps


_NO_MATPLOTLIB = """
import sys
from stocky.cli.main import main
sys.argv = ["stocky", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print("arch imported:", "arch.univariate.base" in sys.modules)
print("matplotlib imported:", "matplotlib" in sys.modules)
"""


def test_a_study_process_does_not_import_matplotlib(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKY_")}
    env.update(
        STOCKY_HOME=str(tmp_path / "home"),
        STOCKY_PRICE_SOURCE="synthetic",
        STOCKY_SYNTHETIC_TICKERS="1",
        STOCKY_SYNTHETIC_SESSIONS="400",
        STOCKY_SYNTHETIC_END="2024-12-31",
        STOCKY_ORDER="0,1,1",
        STOCKY_TEST_SIZE="20",
        STOCKY_VALIDATION_SIZE="20",
        STOCKY_TRAIN_WINDOW="300",  # a GARCH interval is fitted: it needs 250 returns
        STOCKY_MIN_TRAIN_SIZE="100",
        STOCKY_HOLDOUT_SIZE="20",
    )
    out = tmp_path / "study"
    args = ["study", "--all", "--start", "2024-11-01", "--end", "2024-12-31"]
    args += ["--grid", "retrain=never,monthly", "--jobs", "1", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", _NO_MATPLOTLIB, *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "arch imported: True" in done.stdout, done.stdout[-2000:]  # arch did load...
    assert "matplotlib imported: False" in done.stdout, done.stdout[-2000:]  # ...without it
    cells = pd.read_csv(out / "cells.csv")
    assert len(cells) == 2 and cells["error"].isna().all()  # the GARCH fits ran without it
    assert (out / "heatmap.svg").is_file() and (out / "frontier.svg").is_file()
