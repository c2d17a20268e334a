"""A SYNTHETIC universe end to end: `stocky train --all` -> serve -> POST /predict/batch for
every ticker -> `stocky daily` for the next session -> GET /monitoring/fleet and /dashboard
list every ticker. Then a ticker whose source fails: listed failed, a daily_failed alert
queued, the others done.

Prices come from `STOCKY_PRICE_SOURCE=synthetic` (seeded, labelled synthetic), 300 sessions
ending 2024-12-31. The forecasts sent through the API are made from windows ending the session
before and target the last one, so the daily run as of it labels them (the models saw that
session in training: this test checks the plumbing, not the skill).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from stocky.adapters.store import make_engine
from stocky.adapters.store.tables import alerts, drift_checks, predictions
from stocky.api.app import create_app
from stocky.cli.main import app as cli
from stocky.config import Settings, get_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N = int(os.environ.get("STOCKY_TEST_FLEET_N", "150"))
EVE, DAY = dt.date(2024, 12, 30), dt.date(2024, 12, 31)
SMALL = {
    "STOCKY_PRICE_SOURCE": "synthetic",
    "STOCKY_SYNTHETIC_TICKERS": str(N),
    "STOCKY_SYNTHETIC_SESSIONS": "300",
    "STOCKY_SYNTHETIC_END": DAY.isoformat(),
    "STOCKY_ORDER": "0,1,1",
    "STOCKY_TEST_SIZE": "20",
    "STOCKY_VALIDATION_SIZE": "20",
    "STOCKY_TRAIN_WINDOW": "200",
    "STOCKY_MIN_TRAIN_SIZE": "100",
    "STOCKY_HOLDOUT_SIZE": "20",
    "STOCKY_RELOAD_INTERVAL_SECONDS": "0",
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "home"
    for var in list(os.environ):
        if var.startswith("STOCKY_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("STOCKY_HOME", str(path))
    for key, value in SMALL.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def _count(engine: sa.Engine, query: sa.Select[tuple[int]]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_a_synthetic_universe_trains_serves_runs_daily_and_shows(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    trained = runner.invoke(cli, ["train", "--all"])
    assert trained.exit_code == 0, trained.output[-2000:]
    settings = Settings()
    tickers = [f"SYN{i:04d}" for i in range(1, N + 1)]
    engine = make_engine(settings.db_url)
    with TestClient(create_app(settings)) as client:
        windows = {t: client.app.state.stocky.prices.load(t, end=EVE, last=60) for t in tickers}  # type: ignore[attr-defined]
        items = [
            {"ticker": t, "recent_prices": f["close"].round(4).tolist(), "date": EVE.isoformat()}
            for t, f in windows.items()
        ]
        r = client.post("/predict/batch", json={"items": items})
        assert r.status_code == 200, r.text[:500]
        results = r.json()["results"]
        assert len(results) == N and all(x.get("error") is None for x in results), results[:3]
    daily = runner.invoke(
        cli, ["daily", "--as-of", DAY.isoformat(), "--retrain", "never", "--no-report"]
    )
    assert daily.exit_code == 0, daily.output[-2000:]
    c = predictions.c
    labeled = sa.select(sa.func.count()).where(c.actual.is_not(None), c.target_date == DAY)
    assert _count(engine, labeled) == N  # every API forecast got its close
    checks = sa.select(sa.func.count(sa.distinct(drift_checks.c.ticker))).where(
        drift_checks.c.as_of == DAY
    )
    assert _count(engine, checks) == N
    logged = sa.select(sa.func.count()).where(c.source == "daily", c.as_of == DAY)
    assert _count(engine, logged) == N
    with TestClient(create_app(Settings())) as client:
        fleet = client.get("/monitoring/fleet", params={"limit": 1000})
        assert fleet.status_code == 200, fleet.text[:300]
        rows = fleet.json()["tickers"]
        assert sorted(row["ticker"] for row in rows) == tickers
        page = client.get("/dashboard")
        assert page.status_code == 200
        assert all(t in page.text for t in (tickers[0], tickers[-1]))

    # a ticker whose source fails: listed failed, alerted, the others go on
    monkeypatch.setenv("STOCKY_SYNTHETIC_TICKERS", str(N - 1))  # SYN<N> is gone from the source
    get_settings.cache_clear()
    again = runner.invoke(
        cli, ["daily", "--as-of", "2025-01-02", "--retrain", "never", "--no-report"]
    )
    gone = tickers[-1]
    assert again.exit_code != 0
    summary = again.stdout.splitlines()
    assert summary[1].split()[:2] == [gone, "FAILED:"]  # what needs attention comes first
    failed = sa.select(sa.func.count()).where(
        alerts.c.kind == "daily_failed", alerts.c.ticker == gone
    )
    assert _count(engine, failed) == 1
    done = sa.select(sa.func.count(sa.distinct(drift_checks.c.ticker))).where(
        drift_checks.c.as_of == dt.date(2025, 1, 2)
    )
    assert _count(engine, done) == N - 1
    engine.dispose()
