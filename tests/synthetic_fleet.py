"""A SYNTHETIC fleet written straight into the database: prices, predictions, drift checks.

Nothing here is market data and no model is trained: tickers are FLT0000..FLT<n-1>, every
close is 100 and the forecasts' errors are made up so that each ticker lands in a known state.
The clock is Thursday 2024-07-11 03:00 UTC; with the default 6 h grace the last session due
is Wednesday 07-10.

Per ticker i (the first rule that applies decides the state):
- i % 10 == 0: latest drift check decided drift (degraded); i % 11 == 0: its report says
  model_degraded (degraded too);
- i % 13 == 0: prices stop 3 sessions early (stale_prices);
- i % 17 == 0: the forecast for 07-09 has no actual yet (labels_late);
- i % 7 == 0: its report says volatility_changed;
- i % 19 == 18: no drift check at all (unchecked);
- forecasts are 101 - (0.2 + (i % 50) / 25) with a naive of 100 and actuals of 101, or 104
  every third session (outside the interval then), so skill falls as i % 50 grows;
- i % 5 == 0: promoted on 06-28; i % 5 == 1: a rejected retrain on 07-01.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from stocky.adapters.memory.registry import MemoryRegistry
from stocky.adapters.ports import RunRecord
from stocky.adapters.store.tables import drift_checks, predictions, prices, promotions
from stocky.core.arima import ArimaOrder, ArimaParams
from stocky.core.sessions import TradingCalendar
from stocky.core.spec import ModelSpec

NOW = dt.datetime(2024, 7, 11, 3, 0, tzinfo=dt.UTC)
DUE = dt.date(2024, 7, 10)
NEXT = dt.date(2024, 7, 11)


def ticker(i: int) -> str:
    return f"FLT{i:04d}"


def error_of(i: int) -> float:
    return 0.2 + (i % 50) / 25


def sessions(n: int) -> list[dt.date]:
    """The last `n` XNYS sessions up to DUE."""
    calendar = TradingCalendar("XNYS")
    return calendar.sessions_in_range(dt.date(2023, 1, 1), DUE)[-n:]


_UNLABELED = dict.fromkeys(("actual", "error", "abs_error", "sq_error", "naive_error", "actual_at"))


def _prediction(sym: str, as_of: dt.date, target: dt.date, error: float, k: int) -> dict[str, Any]:
    actual = 104.0 if k % 3 == 0 else 101.0  # outside [pred - 2, pred + 2] every 3rd
    prediction = 101.0 - error
    return {
        "ticker": sym,
        "created_at": dt.datetime.combine(as_of, dt.time(21, 0), tzinfo=dt.UTC),
        "as_of": as_of,
        "target_date": target,
        "prediction": prediction,
        "lower": prediction - 2.0,
        "upper": prediction + 2.0,
        "naive": 100.0,
        "model_name": f"stocky-{sym.lower()}",
        "model_version": 1,
        "arima_order": "(0, 1, 1)",
        "history_len": 60,
        "input_hash": "synthetic",
        "request_id": "synthetic",
        "source": "synthetic",
        "actual": actual,
        "error": actual - prediction,
        "abs_error": abs(actual - prediction),
        "sq_error": (actual - prediction) ** 2,
        "naive_error": actual - 100.0,
        "actual_at": NOW - dt.timedelta(hours=4),
    }


def _check(
    sym: str, as_of: dt.date, i: int, report: dict[str, Any], *, drifted: bool
) -> dict[str, Any]:
    return {
        "ticker": sym,
        "checked_at": dt.datetime.combine(as_of, dt.time(22), tzinfo=dt.UTC),
        "as_of": as_of,
        "metric": "rmse",
        "window": 14,
        "threshold_multiplier": 1.5,
        "consecutive_days": 3,
        "baseline": 1.0,
        "baseline_source": "synthetic",
        "threshold": 1.5,
        "latest_value": error_of(i),
        "naive_latest_value": 1.0,
        "breach_streak": 3 if drifted else 0,
        "drifted": drifted,
        "decision": "drift" if drifted else "no_drift",
        "model_version": 1,
        "report": json.dumps(report),
    }


def rows_for(
    i: int, days: list[dt.date], check_sessions: int = 1
) -> dict[str, list[dict[str, Any]]]:
    sym = ticker(i)
    out: dict[str, list[dict[str, Any]]] = {"prices": [], "predictions": [], "checks": []}
    out["promotions"] = []
    stored = days[:-3] if i % 13 == 0 else days
    out["prices"] = [
        {"ticker": sym, "date": d, "close": 100.0, "source": "synthetic", "fetched_at": NOW}
        for d in stored
    ]
    for k, (as_of, target) in enumerate(zip(days[:-1], days[1:], strict=True)):
        row = _prediction(sym, as_of, target, error_of(i), k)
        if i % 17 == 0 and target == days[-2]:
            row.update(_UNLABELED)
        out["predictions"].append(row)
    pending = _prediction(sym, days[-1], NEXT, 0.0, 0)
    pending.update(_UNLABELED)
    out["predictions"].append(pending)
    if i % 19 != 18:
        report: dict[str, Any] = {"synthetic": True}
        if i % 7 == 0:
            report["volatility_changed"] = True
        if i % 11 == 0:
            report["model_degraded"] = True
        drifted = i % 10 == 0
        for back in range(min(check_sessions, len(days)) - 1, 0, -1):
            # earlier checks: the volatility change shows up 4 sessions before, drift 2
            earlier: dict[str, Any] = {"synthetic": True}
            if i % 7 == 0 and back <= 4:
                earlier["volatility_changed"] = True
            out["checks"].append(
                _check(sym, days[-1 - back], i, earlier, drifted=drifted and back <= 2)
            )
        out["checks"].append(_check(sym, days[-1], i, report, drifted=drifted))
    if i % 5 in (0, 1):
        promoted = i % 5 == 0
        day = dt.date(2024, 6, 28) if promoted else dt.date(2024, 7, 1)
        out["promotions"].append(
            {
                "ticker": sym,
                "model_name": f"stocky-{sym.lower()}",
                "action": "promote" if promoted else "reject",
                "from_version": 1,
                "to_version": 2 if promoted else None,
                "decided_at": dt.datetime.combine(day, dt.time(22), tzinfo=dt.UTC),
                "as_of": day,
                "reason": "synthetic",
                "triggered_by": "drift",
            }
        )
    return out


def fill(engine: sa.Engine, n: int, *, days: int = 25, check_sessions: int = 1) -> None:
    """Write the synthetic fleet of `n` tickers (schema must exist); each checked tickers gets
    a drift check for each of the last `check_sessions` sessions (the earlier ones ok)."""
    calendar_days = sessions(days)
    batches: dict[str, list[dict[str, Any]]] = {
        "prices": [],
        "predictions": [],
        "checks": [],
        "promotions": [],
    }
    for i in range(n):
        for key, rows in rows_for(i, calendar_days, check_sessions).items():
            batches[key].extend(rows)
    with engine.begin() as conn:
        conn.execute(prices.insert(), batches["prices"])
        conn.execute(predictions.insert(), batches["predictions"])
        conn.execute(drift_checks.insert(), batches["checks"])
        conn.execute(promotions.insert(), batches["promotions"])


def new_ticker(i: int) -> str:
    """Tickers with a champion but nothing in the database yet (day one)."""
    return f"NEW{i:04d}"


def champions(n: int, new: int) -> MemoryRegistry:
    """A champion per ticker, tagged with walk-forward scores as training tags them."""
    registry = MemoryRegistry()
    for sym, skill in [(ticker(i), 0.01) for i in range(n)] + [
        (new_ticker(i), (i - 25) / 1000) for i in range(new)
    ]:
        params = ArimaParams(ArimaOrder(0, 1, 1), "n", 0.0, (), (-0.05,), 4.0)
        spec = ModelSpec(sym, params, "2020-01-02", "2024-07-02", 500)
        run = registry.log_run(RunRecord(f"train-{sym}", {}, {}, {}, {}), spec=spec)
        rmse = 2.0 * (1 - skill)
        tags = {
            "model": "ARIMA(0,1,1)",
            "walk_forward_rmse": f"{rmse:.6g}",
            "naive_rmse": "2",
            "skill": f"{skill:.6g}",
            "walk_forward_coverage": "0.94",
            "walk_forward_sessions": str(252),
            "dm_pvalue": "0.21",
        }
        version = registry.register(sym, run, tags=tags)
        registry.set_alias(sym, "champion", version.version)
    return registry
