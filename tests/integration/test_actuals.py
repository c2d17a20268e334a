"""The actuals ETL on a real SQLite file: trading sessions, idempotence, failure leaves nothing half-written."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from stocky.adapters.prices.bundled import BundledSource
from stocky.adapters.store import PriceRepository, create_schema, make_engine
from stocky.adapters.store.predictions import PredictionRecord, PredictionRepository
from stocky.adapters.store.tables import predictions as predictions_table
from stocky.core.sessions import TradingCalendar
from stocky.errors import DataUnavailable
from stocky.pipelines.actuals import attach_actuals

pytestmark = pytest.mark.integration

NOW = dt.datetime(2018, 7, 9, 22, 0, tzinfo=dt.UTC)
AS_OFS = [
    dt.date(2018, 6, 29),
    dt.date(2018, 7, 2),
    dt.date(2018, 7, 3),
    dt.date(2018, 7, 5),
    dt.date(2018, 7, 6),
]


@pytest.fixture
def store(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    create_schema(engine)
    prices = PriceRepository(engine)
    full = BundledSource().fetch("^GSPC")
    # the store knows prices only up to 2018-06-29; later closes must be pulled from the source
    prices.upsert("^GSPC", full[full["date"] <= "2018-06-29"], source="bundled", fetched_at=NOW)
    preds = PredictionRepository(engine)
    cal = TradingCalendar()
    closes = full.set_index("date")["close"]
    for i, as_of in enumerate(AS_OFS):
        last = float(closes[pd.Timestamp(as_of)])
        preds.insert(
            PredictionRecord(
                ticker="^GSPC",
                created_at=NOW,
                as_of=as_of,
                target_date=cal.next_session(as_of),
                prediction=last + 1.0,
                lower=last - 50,
                upper=last + 50,
                naive=last,
                model_name="stocky-gspc",
                model_version=1,
                arima_order="(0, 1, 0)",
                history_len=10,
                input_hash="h",
                request_id=f"r{i}",
            )
        )
    return engine, prices, preds, closes


def _table(engine) -> list[dict]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.select(predictions_table).order_by(predictions_table.c.id)
            ).mappings()
        ]


def test_targets_skip_the_holiday(store):
    engine, *_ = store
    targets = [r["target_date"] for r in _table(engine)]
    assert targets == [
        dt.date(2018, 7, 2),
        dt.date(2018, 7, 3),
        dt.date(2018, 7, 5),
        dt.date(2018, 7, 6),
        dt.date(2018, 7, 9),
    ]


def test_labels_closed_sessions_and_keeps_the_rest_pending(store):
    engine, prices, preds, closes = store
    result = attach_actuals(
        predictions=preds,
        prices=prices,
        source=BundledSource(),
        ticker="^GSPC",
        as_of=dt.date(2018, 7, 5),
        now=NOW,
    )
    assert result.updated == 3
    assert result.not_due == 2
    assert result.rows_pulled > 0
    rows = _table(engine)
    for row in rows[:3]:
        actual = float(closes[pd.Timestamp(row["target_date"])])
        assert row["actual"] == pytest.approx(actual)  # the target session's own close
        assert row["error"] == pytest.approx(actual - row["prediction"])
        assert row["abs_error"] == pytest.approx(abs(actual - row["prediction"]))
        assert row["sq_error"] == pytest.approx((actual - row["prediction"]) ** 2)
        assert row["naive_error"] == pytest.approx(actual - row["naive"])
    assert all(r["actual"] is None for r in rows[3:])


def test_idempotent_and_backfills_missed_days(store):
    engine, prices, preds, _ = store
    src = BundledSource()
    first = attach_actuals(
        predictions=preds,
        prices=prices,
        source=src,
        ticker="^GSPC",
        as_of=dt.date(2018, 7, 9),
        now=NOW,
    )
    assert first.updated == 5  # a whole missed week at once
    snapshot = _table(engine)
    later = NOW + dt.timedelta(days=1)
    second = attach_actuals(
        predictions=preds,
        prices=prices,
        source=src,
        ticker="^GSPC",
        as_of=dt.date(2018, 7, 9),
        now=later,
    )
    assert second.updated == 0
    assert _table(engine) == snapshot


class FailingSource:
    name = "failing"

    def tickers(self) -> list[str]:
        return []

    def fetch(self, ticker, start=None, end=None):
        raise DataUnavailable(f"{ticker} {start}..{end}: the source is down")


def test_source_failure_leaves_predictions_unchanged(store):
    engine, prices, preds, _ = store
    before = _table(engine)
    with pytest.raises(DataUnavailable, match="the source is down"):
        attach_actuals(
            predictions=preds,
            prices=prices,
            source=FailingSource(),
            ticker="^GSPC",
            as_of=dt.date(2018, 7, 9),
            now=NOW,
        )
    assert _table(engine) == before


def test_no_close_yet_stays_pending(store):
    engine, prices, preds, _ = store

    # the source has nothing after 2018-07-03 (e.g. today's bar is missing): later targets stay pending
    class Truncated(BundledSource):
        def fetch(self, ticker, start=None, end=None):
            frame = super().fetch(ticker, start, end)
            return frame[frame["date"] <= "2018-07-03"]

    result = attach_actuals(
        predictions=preds,
        prices=prices,
        source=Truncated(),
        ticker="^GSPC",
        as_of=dt.date(2018, 7, 9),
        now=NOW,
    )
    assert result.updated == 2 and result.due_without_close == 3
    assert [r["actual"] is None for r in _table(engine)] == [False, False, True, True, True]
