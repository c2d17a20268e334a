"""/metrics per-ticker monitoring gauges over 1,000 SYNTHETIC tickers: one query per scrape."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from stocky.adapters.store.tables import drift_checks
from synthetic_monitoring import N_TICKERS, OUTSIDE, monitoring_app

pytestmark = pytest.mark.integration


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    with TestClient(monitoring_app(tmp_path / "home")) as c:
        yield c


def _samples(text: str) -> dict[str, dict[str, float]]:
    """{metric name: {ticker: value}} for every sample with a ticker label."""
    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if "ticker" in sample.labels:
                out.setdefault(sample.name, {})[sample.labels["ticker"]] = sample.value
    return out


def _assert_finite(text: str) -> None:
    """Every sample value is a finite number (the histograms' le="+Inf" label is fine)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            assert math.isfinite(sample.value), sample


class _StatementCounter:
    def __init__(self, engine: sa.Engine) -> None:
        self.statements: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, _conn, _cursor, statement, *_args) -> None:
        self.statements.append(statement)


def test_one_scrape_reads_every_ticker_with_one_statement(client):
    state = client.app.state.stocky  # type: ignore[attr-defined]
    counter = _StatementCounter(state.engine)
    r = client.get("/metrics")
    assert r.status_code == 200
    assert len(counter.statements) == 1, counter.statements  # not one query per ticker
    text = r.text
    _assert_finite(text)
    got = _samples(text)
    rolling = got["stocky_drift_rolling_error"]
    assert len(rolling) == N_TICKERS
    assert rolling["SYN0000"] == 1.0  # the latest check, not the older 9.0
    assert rolling["SYN0999"] == pytest.approx(1.999)
    assert got["stocky_drift_skill_vs_naive"]["SYN0500"] == pytest.approx(-0.5)
    degraded = got["stocky_model_degraded"]
    assert len(degraded) == N_TICKERS and sum(degraded.values()) == N_TICKERS // 10
    assert degraded["SYN0010"] == 1.0 and degraded["SYN0011"] == 0.0
    volatility = got["stocky_volatility_regime_changed"]
    assert volatility["SYN0007"] == 1.0 and volatility["SYN0008"] == 0.0
    assert got["stocky_drift_threshold"]["SYN0042"] == 1.5

    # a second scrape within the cache's lifetime does not touch the database
    client.get("/metrics")
    assert len(counter.statements) == 1


def test_coverage_label_lag_and_forecast_freshness(client):
    got = _samples(client.get("/metrics").text)
    # 14 sessions, the last prediction of each, the foreign window and the superseded miss left out
    assert got["stocky_interval_coverage_sessions"]["SYN0000"] == 14
    assert got["stocky_interval_coverage_ratio"]["SYN0000"] == pytest.approx(
        (14 - len(OUTSIDE)) / 14
    )
    # SYN0000 forecast Friday 07-05 and is labeled up to 07-03: nothing late
    assert got["stocky_label_lag_seconds"]["SYN0000"] == 0
    assert got["stocky_forecast_sessions_behind"]["SYN0000"] == 0
    # SYN0001's 07-01 forecast has no label 49.5 h after that close (20:00 UTC); 3 sessions closed
    assert got["stocky_label_lag_seconds"]["SYN0001"] == pytest.approx(49.5 * 3600)
    assert got["stocky_label_lag_sessions"]["SYN0001"] == 3
    # ... and it logged nothing for 07-02, 07-03, 07-05
    assert got["stocky_forecast_sessions_behind"]["SYN0001"] == 3
    assert got["stocky_last_forecast_logged_timestamp_seconds"]["SYN0001"] > 0
    assert "SYN0001" not in got.get("stocky_last_label_timestamp_seconds", {})


def test_a_failed_refresh_keeps_the_last_gauges_and_counts_it(client):
    state = client.app.state.stocky  # type: ignore[attr-defined]
    assert "SYN0003" in _samples(client.get("/metrics").text)["stocky_drift_rolling_error"]
    state.telemetry.monitor.ttl_seconds = 0
    with state.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE drift_checks RENAME TO drift_checks_away")
    r = client.get("/metrics")
    assert r.status_code == 200  # the rest of /metrics still answers
    assert "SYN0003" in _samples(r.text)["stocky_drift_rolling_error"]
    assert "stocky_monitor_snapshot_errors_total 1.0" in r.text
    with state.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE drift_checks_away RENAME TO drift_checks")
        conn.execute(sa.delete(drift_checks).where(drift_checks.c.ticker == "SYN0003"))
    assert "SYN0003" not in _samples(client.get("/metrics").text)["stocky_drift_rolling_error"]


def test_values_that_are_not_finite_are_left_out(client):
    state = client.app.state.stocky  # type: ignore[attr-defined]
    with state.engine.begin() as conn:
        conn.execute(
            sa.update(drift_checks)
            .where(drift_checks.c.ticker == "SYN0004")
            .values(latest_value=math.inf, naive_latest_value=None)
        )
    text = client.get("/metrics").text
    _assert_finite(text)
    got = _samples(text)
    assert "SYN0004" not in got["stocky_drift_rolling_error"]
    assert "SYN0004" not in got["stocky_drift_skill_vs_naive"]
    assert got["stocky_model_degraded"]["SYN0004"] == 0  # the states are still there


def test_same_gauges_on_postgresql(fresh_postgres_url, tmp_path):
    with TestClient(monitoring_app(tmp_path / "home", fresh_postgres_url)) as c:
        state = c.app.state.stocky  # type: ignore[attr-defined]
        counter = _StatementCounter(state.engine)
        got = _samples(c.get("/metrics").text)
        # pool_pre_ping may add a ping; the snapshot itself is one statement
        assert len([s for s in counter.statements if "drift_checks" in s]) == 1
    assert len(got["stocky_drift_rolling_error"]) == N_TICKERS
    assert got["stocky_interval_coverage_ratio"]["SYN0000"] == pytest.approx(11 / 14)
    assert got["stocky_label_lag_sessions"]["SYN0001"] == 3
    assert got["stocky_volatility_regime_changed"]["SYN0014"] == 1.0
