"""The store, the actuals pipeline and the API on SQLite and on a real PostgreSQL server.

Every test runs twice through `db_url` (conftest): once on a SQLite file, once on a database of
its own on the embedded PostgreSQL server, each made by the Alembic migrations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stocky.adapters.prices.bundled import BundledSource
from stocky.adapters.store import PriceRepository, PriceSummary, create_schema, make_engine
from stocky.adapters.store.audit import AuditRepository, DriftCheckRow, PromotionRow
from stocky.adapters.store.predictions import (
    ActualUpdate,
    PredictionRecord,
    PredictionRepository,
)
from stocky.api.app import create_app
from stocky.core.sessions import TradingCalendar
from stocky.pipelines.actuals import attach_actuals
from support import make_settings

pytestmark = pytest.mark.integration

NOW = dt.datetime(2018, 7, 9, 22, 0, tzinfo=dt.UTC)
SEED_EXAMPLE = {
    "recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]
}


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = make_engine(db_url)
    create_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def gspc() -> pd.DataFrame:
    return BundledSource().fetch("^GSPC")


def record(as_of: dt.date, last: float, i: int = 0) -> PredictionRecord:
    return PredictionRecord(
        ticker="^GSPC",
        created_at=NOW,
        as_of=as_of,
        target_date=TradingCalendar().next_session(as_of),
        prediction=last + 1.0,
        lower=last - 50,
        upper=last + 50,
        naive=last,
        model_name="stocky-gspc",
        model_version=1,
        arima_order="(0, 1, 1)",
        history_len=10,
        input_hash="h",
        request_id=f"r{i}",
    )


def test_prices_upsert_load_and_last_date(engine, gspc):
    repo = PriceRepository(engine)
    assert repo.last_date("^GSPC") is None
    assert repo.upsert("^GSPC", gspc, source="bundled", fetched_at=NOW) == 5031
    pd.testing.assert_frame_equal(repo.load("^GSPC"), gspc)
    assert repo.last_date("^GSPC") == dt.date(2018, 12, 31)

    changed = gspc.iloc[-2:].copy()
    changed["close"] = [1.0, 2.0]
    assert repo.upsert("^GSPC", changed, source="yahoo", fetched_at=NOW) == 2  # ON CONFLICT
    tail = repo.load("^GSPC", dt.date(2018, 12, 27), dt.date(2018, 12, 31))
    assert tail["close"].tolist() == [gspc["close"].iloc[-3], 1.0, 2.0]
    assert repo.summary() == [
        PriceSummary("^GSPC", dt.date(1999, 1, 4), dt.date(2018, 12, 31), 5031, "bundled,yahoo")
    ]


def test_predictions_insert_pending_attach_and_labeled(engine):
    repo = PredictionRepository(engine)
    as_ofs = [dt.date(2018, 7, 2), dt.date(2018, 7, 3), dt.date(2018, 7, 5)]
    ids = [repo.insert(record(d, 2700.0 + i, i)) for i, d in enumerate(as_ofs)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert repo.count() == 3 and repo.count("MSFT") == 0
    row = repo.get(ids[1])
    assert row is not None
    assert (row["as_of"], row["target_date"]) == (dt.date(2018, 7, 3), dt.date(2018, 7, 5))

    pending = repo.pending_many(["^GSPC"], up_to=dt.date(2018, 7, 5))
    assert pending["id"].tolist() == ids[:2]  # the third targets 2018-07-06
    updates = [ActualUpdate(ids[0], 2710.0, NOW), ActualUpdate(ids[1], 2690.0, NOW)]
    assert repo.attach_actuals(updates) == 2
    assert repo.attach_actuals([ActualUpdate(ids[0], 1.0, NOW)]) == 0  # labels are final
    assert repo.pending_counts(["^GSPC"]) == {"^GSPC": 1}

    labeled = repo.labeled("^GSPC")
    assert labeled["id"].tolist() == ids[:2]
    assert labeled["actual"].tolist() == [2710.0, 2690.0]
    assert labeled["error"].tolist() == pytest.approx([2710.0 - 2701.0, 2690.0 - 2702.0])
    assert labeled["naive_error"].tolist() == pytest.approx([10.0, -11.0])
    first = repo.get(ids[0])
    assert first is not None
    assert (first["abs_error"], first["sq_error"]) == pytest.approx((9.0, 81.0))


def test_audit_trail_round_trip(engine):
    audit = AuditRepository(engine)
    check = DriftCheckRow(
        ticker="^GSPC",
        checked_at=NOW,
        as_of=dt.date(2018, 7, 9),
        metric="rmse",
        window=14,
        threshold_multiplier=1.5,
        consecutive_days=3,
        baseline=28.7,
        baseline_source="walk_forward",
        threshold=43.05,
        latest_value=50.0,
        naive_latest_value=49.0,
        breach_streak=3,
        drifted=True,
        decision="retrain",
        model_version=1,
        report={"values": [50.0, 51.5], "note": "three days over"},
    )
    audit.add_drift_checks([(check, ())])
    latest = audit.latest_drift_check("^GSPC")
    assert latest is not None
    assert latest.drifted is True and latest.window == 14
    assert latest.report == {"values": [50.0, 51.5], "note": "three days over"}

    for hours, action in ((0, "reject"), (1, "promote")):
        audit.add_promotion(
            PromotionRow(
                ticker="^GSPC",
                model_name="stocky-gspc",
                action=action,
                from_version=1,
                to_version=2,
                decided_at=NOW + dt.timedelta(hours=hours),
                as_of=dt.date(2018, 7, 9),
                reason="challenger beat champion",
                triggered_by="drift",
                dm_pvalue=0.04,
            )
        )
    assert [p.action for p in audit.promotions("^GSPC")] == ["promote", "reject"]


def test_actuals_pipeline_labels_closed_sessions(engine, gspc):
    prices = PriceRepository(engine)
    prices.upsert("^GSPC", gspc[gspc["date"] <= "2018-06-29"], source="bundled", fetched_at=NOW)
    preds = PredictionRepository(engine)
    closes = gspc.set_index("date")["close"]
    as_ofs = [dt.date(2018, 6, 29), dt.date(2018, 7, 2), dt.date(2018, 7, 3), dt.date(2018, 7, 6)]
    for i, as_of in enumerate(as_ofs):
        preds.insert(record(as_of, float(closes[pd.Timestamp(as_of)]), i))

    result = attach_actuals(
        predictions=preds,
        prices=prices,
        source=BundledSource(),
        ticker="^GSPC",
        as_of=dt.date(2018, 7, 5),
        now=NOW,
    )
    assert (result.updated, result.not_due) == (3, 1)
    assert result.rows_pulled > 0  # the closes after 2018-06-29 came from the source
    labeled = preds.labeled("^GSPC")
    expected = [float(closes[pd.Timestamp(d)]) for d in labeled["target_date"]]
    assert labeled["actual"].tolist() == pytest.approx(expected)
    again = attach_actuals(
        predictions=preds,
        prices=prices,
        source=BundledSource(),
        ticker="^GSPC",
        as_of=dt.date(2018, 7, 5),
        now=NOW,
    )
    assert again.updated == 0


def test_api_predicts_and_logs_into_the_database(trained_home: Path, db_url: str):
    settings = make_settings(trained_home, database_url=db_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").status_code == 200
        bodies = [client.post("/predict", json=SEED_EXAMPLE).json() for _ in range(3)]
    assert [b["model_version"] for b in bodies] == [1, 1, 1]
    engine = make_engine(db_url)
    try:
        repo = PredictionRepository(engine)
        assert repo.count("^GSPC") == 3
        for body in bodies:
            row = repo.get(body["prediction_id"])
            assert row is not None
            assert row["prediction"] == pytest.approx(body["prediction"])
            assert row["naive"] == 172.4 and row["source"] == "api"
    finally:
        engine.dispose()
