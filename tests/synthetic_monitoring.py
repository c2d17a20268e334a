"""SYNTHETIC monitoring state for /metrics tests: drift checks, prices and predictions.

Nothing here is market data. Tickers are SYN0000..SYN0999; the clock is Wednesday 2024-07-03,
21:30 UTC (after the close; Thursday is Independence Day, so the next session is Friday 07-05).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.tables import drift_checks, predictions, prices
from stocky.api.app import create_app
from stocky.core.sessions import TradingCalendar
from support import make_settings

NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)
N_TICKERS = 1000
#: the 14 sessions up to 2024-07-03 that SYN0000's predictions target; 3 of them miss the interval
OUTSIDE = {2, 5, 9}


def ticker(i: int) -> str:
    return f"SYN{i:04d}"


class NoModels:
    """A registry with nothing registered (these tests need no MLflow)."""

    def tickers(self) -> list[str]:
        return []

    def champion_versions(self, alias: str = "champion") -> list[object]:
        return []


def _check(i: int, *, checked_at: dt.datetime, latest: float, drifted: bool) -> dict[str, Any]:
    report: dict[str, Any] = {"synthetic": True}
    if i % 7 == 0:
        report["volatility_changed"] = True
    return {
        "ticker": ticker(i),
        "checked_at": checked_at,
        "as_of": checked_at.date(),
        "metric": "rmse",
        "window": 14,
        "threshold_multiplier": 1.5,
        "consecutive_days": 3,
        "baseline": 1.0,
        "baseline_source": "synthetic",
        "threshold": 1.5,
        "latest_value": latest,
        "naive_latest_value": 1.0,
        "breach_streak": 3 if drifted else 0,
        "drifted": drifted,
        "decision": "drift" if drifted else "no_drift",
        "model_version": 1,
        "report": json.dumps(report),
    }


def _prediction(sym: str, as_of: dt.date, target: dt.date, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ticker": sym,
        "created_at": dt.datetime.combine(as_of, dt.time(21, 0), tzinfo=dt.UTC),
        "as_of": as_of,
        "target_date": target,
        "prediction": 100.0,
        "lower": 98.0,
        "upper": 102.0,
        "naive": 100.0,
        "model_name": f"stocky-{sym}",
        "model_version": 1,
        "arima_order": "(0, 1, 0)",
        "history_len": 60,
        "input_hash": "synthetic",
        "request_id": "synthetic",
        "source": "daily",
        "actual": None,
        "actual_at": None,
        "error": None,
        "naive_error": None,
    }
    row.update(values)
    if row["actual"] is not None and "error" not in values:  # as attach_actuals writes them
        row["error"] = row["actual"] - row["prediction"]
        row["naive_error"] = row["actual"] - row["naive"]
    return row


def fill(engine: sa.Engine) -> None:
    """1,000 tickers with a latest drift check; SYN0000 and SYN0001 with a prediction log.

    - Every SYNi: latest check rolling RMSE 1 + i/1000 vs naive 1.0; drifted when i % 10 == 0;
      volatility_changed when i % 7 == 0. SYN0000 also has an OLDER check (RMSE 9.0) that
      must not show.
    - SYN0000: one labeled prediction per session for the 14 sessions up to 07-03 (actual 101,
      or 105 outside the interval for the sessions in OUTSIDE), plus an older miss and a foreign
      window for the latest session that must not count, and the forecast for 07-05 (pending,
      not due).
    - SYN0001: a prediction for 07-01 still unlabeled (overdue), nothing newer.
    """
    calendar = TradingCalendar("XNYS")
    sessions = calendar.sessions_in_range(dt.date(2024, 6, 1), NOW.date())[-15:]
    checks = [_check(0, checked_at=NOW - dt.timedelta(days=1), latest=9.0, drifted=False)]
    checks += [
        _check(i, checked_at=NOW, latest=1.0 + i / 1000, drifted=i % 10 == 0)
        for i in range(N_TICKERS)
    ]
    labeled_at = NOW - dt.timedelta(minutes=10)
    rows = []
    for k, (as_of, target) in enumerate(zip(sessions[:-1], sessions[1:], strict=True)):
        actual = 105.0 if k in OUTSIDE else 101.0
        if k == 0:  # an earlier forecast for the same session that missed: superseded
            rows.append(_prediction("SYN0000", as_of, target, actual=110.0, actual_at=labeled_at))
        rows.append(_prediction("SYN0000", as_of, target, actual=actual, actual_at=labeled_at))
    # someone else's window sent for SYN0000 (naive 170 vs a stored close of 100): left out
    rows.append(
        _prediction(
            "SYN0000", sessions[-2], sessions[-1], naive=170.0, actual=105.0, actual_at=labeled_at
        )
    )
    rows.append(_prediction("SYN0000", NOW.date(), dt.date(2024, 7, 5)))
    rows.append(_prediction("SYN0001", dt.date(2024, 6, 28), dt.date(2024, 7, 1)))
    closes = [
        {
            "ticker": "SYN0000",
            "date": day,
            "close": 100.0,
            "source": "synthetic",
            "fetched_at": NOW,
        }
        for day in sessions
    ]
    with engine.begin() as conn:
        conn.execute(drift_checks.insert(), checks)
        conn.execute(predictions.insert(), rows)
        conn.execute(prices.insert(), closes)


def monitoring_app(home: Path, db_url: str | None = None) -> FastAPI:
    """An app over a database holding the synthetic state above (schema made, data filled)."""
    url = db_url or f"sqlite:///{home / 'stocky.db'}"
    engine = make_engine(url)
    create_schema(engine)
    fill(engine)
    engine.dispose()
    settings = make_settings(home, database_url=url)
    return create_app(settings, clock=lambda: NOW, registry=NoModels())  # type: ignore[arg-type]


def metric_names(exposition: str) -> set[str]:
    """Every series name a Prometheus text exposition defines (histogram and counter parts too)."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()[:4]
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
        elif line and not line.startswith("#"):
            names.add(line.split("{")[0].split()[0])
    return names
