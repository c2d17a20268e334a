"""`stocky train --all` over a long CSV with one bad cell, a row that names no ticker and rows
dated on Saturdays: the good tickers train, each bad one fails alone with its row named, and the
Saturday rows are dropped with a warning."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fakes import price_frame
from stocky.cli.main import app
from stocky.config import get_settings
from stocky.pipelines.fleet import PARTIAL_EXIT
from support import registry_for

pytestmark = pytest.mark.integration

runner = CliRunner()


def _file(path: Path) -> tuple[Path, int]:
    parts = []
    saturdays = 0
    for seed, ticker in enumerate(("AAA", "BBB", "CCC")):
        rng = np.random.default_rng(seed)  # SYNTHETIC random walks
        frame = price_frame(
            50 * np.exp(np.cumsum(rng.normal(0, 0.01, 260))), end=dt.date(2018, 12, 31)
        )
        part = pd.DataFrame(
            {
                "Ticker": ticker,
                "Date": frame["date"].dt.strftime("%Y-%m-%d"),
                "Close": frame["close"].map(str),
            }
        )
        if ticker == "AAA":  # a copy of each Friday's close dated on the Saturday after it
            fridays = frame[frame["date"].dt.day_of_week == 4]
            saturdays = len(fridays)
            extra = pd.DataFrame(
                {
                    "Ticker": ticker,
                    "Date": (fridays["date"] + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d"),
                    "Close": fridays["close"].map(str),
                }
            )
            part = pd.concat([part, extra]).sort_values("Date")
        if ticker == "CCC":
            part.iloc[100, 2] = "abc"
        parts.append(part)
    parts.append(pd.DataFrame({"Ticker": ["A/B"], "Date": ["2018-12-31"], "Close": ["5"]}))
    pd.concat(parts).to_csv(path, index=False)
    return path, saturdays


def test_train_all_trains_the_good_tickers_and_fails_each_bad_one_alone(
    cli_env, tmp_path, monkeypatch
):
    path, saturdays = _file(tmp_path / "fleet.csv")
    for var, value in {
        "STOCKY_PRICE_SOURCE": "csv",
        "STOCKY_CSV_PATH": str(path),
        "STOCKY_ORDER": "0,1,1",
        "STOCKY_TEST_SIZE": "40",
        "STOCKY_VALIDATION_SIZE": "20",
        "STOCKY_TRAIN_WINDOW": "200",
        "STOCKY_MIN_TRAIN_SIZE": "100",
    }.items():
        monkeypatch.setenv(var, value)
    get_settings.cache_clear()
    result = runner.invoke(app, ["train", "--all", "--jobs", "1"])
    assert result.exit_code == PARTIAL_EXIT, result.output
    assert "trained 2, failed 2" in result.stdout
    err = result.stderr
    # CCC's 101st row is data row 2*260 + saturdays + 101 of the file
    row = 2 * 260 + saturdays + 101
    assert (
        "error: CCC: " in err
        and f"data row {row} (line {row + 1} counting the header) has Close 'abc'" in err
    )
    assert "error: 'A/B': " in err and "has ticker 'A/B', which is not a symbol" in err
    out = " ".join(result.stdout.split())  # the console wraps long lines
    assert f"{saturdays} of {260 + saturdays} rows are dated on days XNYS does not trade" in out
    assert "a Saturday); they were dropped" in out
    assert sorted(registry_for(get_settings()).alias_map("champion")) == ["AAA", "BBB"]
