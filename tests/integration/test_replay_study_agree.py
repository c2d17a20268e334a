"""`stocky study` and `stocky replay` agree: a study cell and a replay of the same ticker, dates
and policy report the same retrains, promotions and RMSE on either backend (memory: no database,
no MLflow store; sql: SQLite and MLflow in the replay's folder), on real bundled S&P 500 closes.
A memory replay kept with `--keep-state` exports a database and a report that read back the
same numbers."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from stocky.cli.main import app
from stocky.config import Settings
from stocky.pipelines.replay_run import run_replay

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENV = {
    "STOCKY_PRICE_SOURCE": "bundled",
    "STOCKY_ORDER": "0,1,1",
    "STOCKY_TEST_SIZE": "40",
    "STOCKY_VALIDATION_SIZE": "20",
    "STOCKY_TRAIN_WINDOW": "300",
    "STOCKY_MIN_TRAIN_SIZE": "100",
    "STOCKY_HOLDOUT_SIZE": "20",
}
START, END = "2016-06-01", "2016-08-31"


def test_a_study_cell_and_replays_on_both_backends_agree(cli_env: Path, monkeypatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    out = cli_env / "study"
    period = ["--start", START, "--end", END]
    study = CliRunner().invoke(
        app,
        ["study", "-t", "^GSPC", *period, "--grid", "retrain=monthly", "--jobs", "1"]
        + ["--out", str(out)],
    )
    assert study.exit_code == 0, study.output
    cell = pd.read_csv(out / "cells.csv").iloc[0]
    assert cell["retrains"] == 3  # June, July and August open inside the period
    assert not list(out.glob("cells/*/*/state"))  # memory: nothing kept but the result

    settings = Settings()
    runs = {
        backend: run_replay(
            settings,
            ticker="^GSPC",
            start=dt.date.fromisoformat(START),
            end=dt.date.fromisoformat(END),
            retrain_mode="monthly",
            backend=backend,  # type: ignore[arg-type]
            folder=cli_env / backend,
            keep_state=backend == "memory",
            report=True,
        )
        for backend in ("memory", "sql")
    }
    for backend, run in runs.items():
        s = run.summary
        assert (s.retrains, s.promotions, s.rollbacks, s.drift_alerts) == (
            cell["retrains"],
            cell["promotions"],
            cell["rollbacks"],
            cell["drift_alerts"],
        ), backend
        assert s.rmse == pytest.approx(cell["rmse"], rel=1e-9, abs=1e-12), backend
        assert s.skill == pytest.approx(cell["skill"], rel=1e-9, abs=1e-12), backend
        assert run.report is not None and run.report.exists(), backend
    assert (cli_env / "sql" / "mlruns").exists() or list((cli_env / "sql").glob("mlflow*"))
    assert (cli_env / "memory" / "stocky.db").exists()
    assert not list((cli_env / "memory").glob("mlflow*"))  # exported without an MLflow store

    # the command line prints the same numbers
    replay = CliRunner().invoke(
        app, ["replay", "-t", "^GSPC", *period, "--retrain", "monthly", "--backend", "memory"]
    )
    assert replay.exit_code == 0, replay.output
    retrains = re.search(r"retrains\s+(\d+) \((\d+) promoted", replay.output)
    assert retrains is not None, replay.output
    assert (int(retrains[1]), int(retrains[2])) == (cell["retrains"], cell["promotions"])
    assert f"{cell['rmse']:.4f}" in replay.output and "no state kept" in replay.output
