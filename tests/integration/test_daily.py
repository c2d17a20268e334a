"""`stocky daily`: the steps in order, idempotent forecasts, one run at a time."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from stocky.adapters.lock import AlreadyRunning, exclusive_lock
from stocky.adapters.store import make_engine
from stocky.adapters.store.audit import AuditRepository
from stocky.adapters.store.predictions import PredictionRepository
from stocky.cli.main import app
from stocky.config import get_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def home(fresh_trained_home, monkeypatch):
    path = fresh_trained_home()
    monkeypatch.setenv("STOCKY_HOME", str(path))
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "bundled")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_daily_labels_checks_and_forecasts(home):
    runner = CliRunner()
    days = ["2018-12-20", "2018-12-21", "2018-12-24", "2018-12-26"]
    for day in days:
        r = runner.invoke(app, ["daily", "--as-of", day, "--no-report"])
        assert r.exit_code == 0, r.output
    assert "forecast for 2018-12-27" in r.output
    assert (
        "3 labeled" not in r.output and "1 labeled" in r.output
    )  # yesterday's forecast got its actual
    engine = make_engine(f"sqlite:///{home / 'stocky.db'}")
    preds = PredictionRepository(engine)
    labeled = preds.labeled("^GSPC")
    assert list(labeled["target_date"].dt.strftime("%Y-%m-%d")) == [
        "2018-12-21",
        "2018-12-24",
        "2018-12-26",
    ]
    assert (labeled["source"] == "daily").all()
    checks = AuditRepository(engine).drift_checks("^GSPC")
    assert len(checks) == 4 and checks[0].as_of == dt.date(2018, 12, 26)

    # running the same day again adds no second forecast and labels nothing twice
    again = runner.invoke(app, ["daily", "--as-of", "2018-12-26", "--no-report"])
    assert again.exit_code == 0
    assert preds.count("^GSPC") == 4
    assert "0 labeled" in again.output


def test_daily_writes_the_report(home):
    r = CliRunner().invoke(app, ["daily", "--as-of", "2018-12-28"])
    assert r.exit_code == 0, r.output
    assert (home / "report" / "index.html").exists()
    assert "report:" in r.output


def test_second_run_is_refused_while_one_holds_the_lock(home):
    with exclusive_lock(home / "daily.lock", what="the daily job"):
        r = CliRunner().invoke(app, ["daily", "--as-of", "2018-12-28", "--no-report"])
        assert r.exit_code == 11
        assert "already running" in r.output
    # and the lock is released afterwards
    with exclusive_lock(home / "daily.lock", what="x"):
        pass


def test_lock_is_exclusive(tmp_path):
    with (
        exclusive_lock(tmp_path / "l", what="job"),
        pytest.raises(AlreadyRunning),
        exclusive_lock(tmp_path / "l", what="job"),
    ):
        pass


def test_bad_retrain_mode(home):
    r = CliRunner().invoke(app, ["daily", "--retrain", "sometimes", "--no-report"])
    assert r.exit_code == 2 and "use one of on-drift, always, monthly, never" in r.output
