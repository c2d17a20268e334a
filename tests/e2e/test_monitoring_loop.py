"""prediction -> actuals -> drift on real bundled S&P 500 data, through the API and the CLI."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from stocky.adapters.prices.bundled import BundledSource
from stocky.api.app import create_app
from stocky.cli.main import app as cli
from stocky.config import get_settings
from stocky.pipelines.drift import detect_drift
from support import make_settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def home(trained_home, tmp_path, monkeypatch):
    target = tmp_path / "home"
    shutil.copytree(trained_home, target)
    monkeypatch.setenv("STOCKY_HOME", str(target))
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "bundled")
    get_settings.cache_clear()
    yield target
    get_settings.cache_clear()


def test_predict_label_and_check_drift(home):
    closes = BundledSource().fetch("^GSPC").set_index("date")["close"]
    sessions = closes.loc["2018-10-01":"2018-12-27"].index
    settings = make_settings(home)
    with TestClient(create_app(settings)) as client:
        for day in sessions:
            window = closes.loc[:day].iloc[-60:]
            r = client.post(
                "/predict", json={"recent_prices": window.tolist(), "date": day.date().isoformat()}
            )
            assert r.status_code == 200, r.text

        runner = CliRunner()
        out = runner.invoke(cli, ["actuals", "--as-of", "2018-12-31"])
        assert out.exit_code == 0, out.output
        assert f"^GSPC: {len(sessions)} labeled" in out.output

        # the rolling RMSE the report states equals a hand computation over the last 14 sessions
        drift = runner.invoke(cli, ["drift", "--as-of", "2018-12-31"])
        assert drift.exit_code in (0, 10), drift.output
        body = client.get("/monitoring/^GSPC/drift").json()
        report = body["report"]
        targets = [closes.index[closes.index.get_loc(d) + 1] for d in sessions]
        preds = pd.DataFrame(client.get("/monitoring/^GSPC/performance").json()["windows"])
        assert "14" not in preds  # windows are the documented 5, 21, 63, 252
        actual = closes.loc[targets].to_numpy()
        # predictions as served, from the export
        export = home / "p.csv"
        assert runner.invoke(cli, ["predictions", "export", "--out", str(export)]).exit_code == 0
        logged = pd.read_csv(export)
        err = actual[-14:] - logged["prediction"].to_numpy()[-14:]
        assert report["latest_value"] == pytest.approx(float(np.sqrt(np.mean(err**2))), rel=1e-9)
        assert body["drifted"] is (drift.exit_code == 10)
        # both drift states are reported beside the decision
        assert isinstance(body["volatility_changed"], bool)
        assert isinstance(body["model_degraded"], bool)
        assert body["detector"] == report["detector"] == "assessment"
        assert report["baseline_source"].startswith("champion stocky-_cgspc v1 walk_forward_rmse")
        assert body["as_of"] == "2018-12-31"

        perf = client.get("/monitoring/^GSPC/performance").json()
        assert perf["labeled_sessions"] == len(sessions)
        assert perf["all"]["naive_rmse"] == pytest.approx(
            float(np.sqrt(np.mean((actual - logged["naive"].to_numpy()) ** 2))), rel=1e-9
        )
        assert 0.0 <= perf["all"]["coverage_95"] <= 1.0

    # the seed's Python API on the same log: a tiny baseline drifts, a huge one does not
    assert detect_drift(training_rmse=0.01) == (True, pytest.approx(report["latest_value"]))
    drifted, latest = detect_drift(training_rmse=1e6)
    assert drifted is False and latest == pytest.approx(report["latest_value"])
    assert detect_drift(training_rmse=0.01, window=400)[1] is None  # fewer sessions than the window


def test_target_dates_follow_the_calendar(home):
    with TestClient(create_app(make_settings(home))) as client:
        closes = BundledSource().fetch("^GSPC").set_index("date")["close"]
        window = closes.loc[:"2018-11-21"].iloc[-30:].tolist()
        r = client.post("/predict", json={"recent_prices": window, "date": "2018-11-21"})
        assert r.json()["target_date"] == "2018-11-23"  # Thanksgiving skipped
        assert dt.date.fromisoformat(r.json()["target_date"]).weekday() == 4
