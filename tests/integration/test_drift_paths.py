"""The set-based drift check (`check_drift_many`) of a fleet against the same check of each
ticker alone (`check_drift`, a fleet of one) on real SQLite: the same DriftOutcome, every field
of every stored DriftCheck and the same alerts, for a ticker in each state. Prices are real S&P 500 closes (bundled with `arch`); the logged
forecasts around them are made up here (seeded), one kind per ticker."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from stocky.adapters.ports import Champion, DriftCheckRow, ModelVersionInfo, PromotionRow
from stocky.adapters.registry import model_name
from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.audit import AuditRepository
from stocky.adapters.store.predictions import PredictionRepository
from stocky.adapters.store.prices import PriceRepository
from stocky.adapters.store.tables import predictions
from stocky.core.arima import ArimaOrder, ArimaParams
from stocky.core.drift import DriftRule
from stocky.core.sessions import TradingCalendar
from stocky.core.spec import ModelSpec
from stocky.pipelines.drift import check_drift
from stocky.pipelines.drift_fleet import check_drift_many

pytestmark = pytest.mark.integration  # two small SQLite stores, seven tickers

SESSIONS = 160
#: Ticker -> what its forecasts are like (and the state the check should find).
KINDS = {
    "OKAY": "no_change",
    "VOLY": "volatility_changed",
    "DEGR": "model_degraded",
    "SHRT": "insufficient_data",
    "FRGN": "no_change",  # plus forecasts from foreign windows, left out
    "NOCH": "no_champion",
    "OLDV": "insufficient_data",  # mostly forecasts of an older version
}
NOW = dt.datetime(2018, 12, 28, 22, tzinfo=dt.UTC)


def _champion(ticker: str, return_rmse: float) -> Champion:
    params = ArimaParams(ArimaOrder(0, 1, 1), "n", 0.0, (), (-0.05,), 1.0)
    spec = ModelSpec(
        ticker=ticker,
        params=params,
        train_start="2010-01-04",
        train_end="2018-01-02",
        train_rows=2000,
        metrics={
            "walk_forward_rmse": 20.0,
            "walk_forward_return_rmse": return_rmse,
            "skill": 0.01,
            "naive_scale": 15.0,
        },
    )
    return Champion(spec, ModelVersionInfo(ticker, model_name(ticker), 2, ("champion",), None, {}))


def _rows(ticker: str, dates: list[dt.date], close: np.ndarray, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    sigma = float(np.std(np.diff(np.log(close)))) * close
    kind, rows = KINDS[ticker], []
    first = len(close) - (6 if kind == "insufficient_data" and ticker == "SHRT" else SESSIONS)
    for k in range(first, len(close)):
        naive, shift = close[k - 1], 0.2 * sigma[k] * rng.standard_normal()
        if kind == "model_degraded" and k > len(close) - 60:
            shift = 2.5 * sigma[k]  # the model turned bad: far off, always above
        version = 1 if ticker == "OLDV" and k < len(close) - 5 else 2
        copies = [(naive, 22)]
        if ticker == "FRGN" and k % 4 == 0:
            copies.append((naive * 0.5, 23))  # a window of another ticker, sent as this one's
        if ticker == "DEGR" and k % 7 == 0:
            copies.append((naive, 23))  # a second forecast of the session, logged later
        for last, hour in copies:
            pred = last + shift
            actual = float(close[k])
            rows.append(
                {
                    "ticker": ticker,
                    "created_at": dt.datetime.combine(dates[k - 1], dt.time(hour), tzinfo=dt.UTC),
                    "as_of": dates[k - 1],
                    "target_date": dates[k],
                    "prediction": pred,
                    "lower": pred - 2 * sigma[k],
                    "upper": pred + 2 * sigma[k],
                    "naive": last,
                    "model_name": model_name(ticker),
                    "model_version": version,
                    "arima_order": "(0, 1, 1)",
                    "history_len": 60,
                    "input_hash": "made-up",
                    "request_id": f"{ticker}-{k}-{hour}",
                    "source": "daily",
                    "actual": actual,
                    "error": actual - pred,
                    "abs_error": abs(actual - pred),
                    "sq_error": (actual - pred) ** 2,
                    "naive_error": actual - last,
                    "actual_at": NOW,
                }
            )
    return rows


def _store(path: Path, sp500: pd.DataFrame) -> tuple[dt.date, dict[str, Champion]]:
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    frame = sp500.iloc[-(SESSIONS + 40) :]
    dates = [d.date() for d in frame.index]
    prices = pd.DataFrame(
        {
            "date": pd.to_datetime(frame.index).astype("datetime64[ns]"),
            **{c.lower(): frame[c].to_numpy(float) for c in ("Open", "High", "Low", "Close")},
            "volume": frame["Volume"].to_numpy(float),
        }
    )
    close = prices["close"].to_numpy(float)
    PriceRepository(engine).store_many(
        dict.fromkeys(KINDS, prices), source="bundled", fetched_at=NOW
    )
    rows = [r for i, t in enumerate(KINDS) for r in _rows(t, dates, close, seed=i)]
    with engine.begin() as conn:
        conn.execute(predictions.insert(), rows)
    typical = float(np.sqrt(np.mean((np.diff(close) / close[:-1]) ** 2)))
    champions = {
        # (December 2018's moves were twice the typical: VOLY's baseline is far below them)
        t: _champion(t, typical / 3 if t == "VOLY" else 2 * typical)
        for t in KINDS
        if t != "NOCH"
    }
    audit = AuditRepository(engine)
    audit.add_promotion(  # OKAY's champion took over 30 sessions ago: its states start there
        PromotionRow("OKAY", model_name("OKAY"), "promote", 1, 2, NOW, dates[-30], "test", "manual")
    )
    previous = DriftCheckRow(  # VOLY's moves had changed already: no new onset alert
        ticker="VOLY", checked_at=NOW, as_of=dates[-3], metric="rmse", window=14,
        threshold_multiplier=1.5, consecutive_days=3, baseline=None, baseline_source="t",
        threshold=None, latest_value=None, naive_latest_value=None, breach_streak=0,
        drifted=False, decision="volatility_changed", model_version=2,
        report={"volatility_changed": True},
    )  # fmt: skip
    audit.add_drift_checks([(previous, ())])
    engine.dispose()
    return dates[-1], champions


def _stored(path: Path) -> tuple[list[Any], list[Any]]:
    engine = make_engine(f"sqlite:///{path}")
    audit = AuditRepository(engine)
    checks = [c for t in KINDS for c in audit.drift_checks(t)]
    with engine.connect() as conn:
        alerts = [tuple(r) for r in conn.execute(sa.text("SELECT * FROM alerts ORDER BY id"))]
    engine.dispose()
    return checks, alerts


@pytest.mark.parametrize("detector", ["assessment", "rule"])
def test_fleet_drift_checks_equal_each_ticker_checked_alone(
    tmp_path: Path, sp500_frame: pd.DataFrame, detector: str
) -> None:
    day, champions = _store(tmp_path / "one.db", sp500_frame)
    shutil.copy(tmp_path / "one.db", tmp_path / "many.db")
    calendar = TradingCalendar("XNYS")
    rule = DriftRule(window=14, threshold_multiplier=1.5, consecutive_days=3, cooldown_sessions=5)
    common: dict[str, Any] = {"calendar": calendar, "as_of": day, "rule": rule, "now": NOW}

    one_engine = make_engine(f"sqlite:///{tmp_path / 'one.db'}")
    one_preds, one_audit = PredictionRepository(one_engine), AuditRepository(one_engine)
    singles = {  # check_drift asks the registry when no champion is passed: it has none
        t: check_drift(
            predictions=one_preds,
            audit=one_audit,
            registry=_NoRegistry(),  # type: ignore[arg-type]
            ticker=t,
            champion=champions.get(t),
            detector=detector,
            **common,
        )  # fmt: skip
        for t in KINDS
    }
    one_engine.dispose()

    many_engine = make_engine(f"sqlite:///{tmp_path / 'many.db'}")
    statements: list[str] = []
    sa.event.listen(many_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    fleet = check_drift_many(
        predictions=PredictionRepository(many_engine), audit=AuditRepository(many_engine),
        tickers=list(KINDS), champions=champions, detector=detector, **common,
    )  # fmt: skip
    many_engine.dispose()

    assert not fleet.failed
    assert fleet.outcomes == singles  # every field, the rule's series and both states
    one_checks, one_alerts = _stored(tmp_path / "one.db")
    many_checks, many_alerts = _stored(tmp_path / "many.db")
    assert [dataclasses.asdict(c) for c in many_checks] == [
        dataclasses.asdict(c) for c in one_checks
    ]
    assert many_alerts == one_alerts
    # labeled rows, promotions, previous checks, one delete of the session's earlier checks
    # (a rerun replaces them), one insert; then the outbox's per alert
    others = [s for s in statements if "alerts" not in s]
    assert len(others) == 5, others
    assert sum(s.startswith("DELETE FROM drift_checks") for s in others) == 1
    # the scenario reaches the states it was built for (else the comparison proves little)
    decisions = {t: o.decision for t, o in fleet.outcomes.items()}
    if detector == "assessment":
        assert decisions == KINDS
        raised = {(a[1], a[2]) for a in many_alerts}  # (ticker, kind)
        assert ("DEGR", "model_degraded") in raised
        assert ("VOLY", "volatility_changed") not in raised  # not at its onset any more
    assert fleet.outcomes["FRGN"].states.assessment.sessions == SESSIONS  # foreign left out
    assert fleet.outcomes["OKAY"].states.assessment.sessions == 29  # since its promotion
    assert fleet.outcomes["DEGR"].rule.sessions == SESSIONS  # one row per session


class _NoRegistry:
    def champion(self, ticker: str) -> None:
        return None
