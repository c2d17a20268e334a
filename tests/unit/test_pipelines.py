"""The lifecycle pipelines against in-memory fakes: train, publish, retrain, rollback,
actuals, drift, daily and replay (real S&P 500 closes, no database, no MLflow)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakes import (
    FakeAuditLog,
    FakePredictionLog,
    FakePriceStore,
    FakeRegistry,
    FakeSource,
    fake_stack,
    price_frame,
)
from stocky.adapters.executor import InlineExecutor
from stocky.adapters.ports import PromotionRow, RunRecord
from stocky.config import Settings
from stocky.core.drift import DriftRule
from stocky.core.promotion import PromotionPolicy
from stocky.errors import ModelNotFound
from stocky.pipelines.actuals import attach_actuals
from stocky.pipelines.daily import DailyDeps, RetrainMode, TickerDay
from stocky.pipelines.drift import check_drift, sessions_since_last_change
from stocky.pipelines.publish import publish
from stocky.pipelines.replay import replay
from stocky.pipelines.retrain import RetrainConfig, retrain_ticker, rollback
from stocky.pipelines.retrain_many import retrain_in_process, run_daily_many
from stocky.pipelines.train import TrainConfig, train_ticker
from stocky.wiring import Stack

TRAIN = TrainConfig(
    order="0,1,1", test_size=40, validation_size=20, train_window=300, min_train_size=100
)
RETRAIN = RetrainConfig(order="0,1,1", holdout_size=30, validation_size=30, min_train_size=100)
END = dt.date(2018, 12, 31)
NOW = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def gspc(sp500_close: np.ndarray) -> pd.DataFrame:
    """The last 500 real S&P 500 closes, dated on the XNYS sessions up to 2018-12-31."""
    return price_frame(sp500_close[-500:], end=END)


def _settings(tmp_path: Path, **kw: object) -> Settings:
    values: dict[str, object] = {
        "home": tmp_path,
        "order": "0,1,1",
        "test_size": 40,
        "validation_size": 20,
        "train_window": 300,
        "min_train_size": 100,
        "holdout_size": 30,
        "reload_interval_seconds": 0,
    } | kw
    return Settings(**values)  # type: ignore[arg-type]


def _train(registry: FakeRegistry, frame: pd.DataFrame, ticker: str = "^GSPC"):  # type: ignore[no-untyped-def]
    return train_ticker(
        ticker=ticker, prices=frame, source="fake", registry=registry, config=TRAIN, now=NOW
    )


def test_train_publishes_run_then_version_then_champion(gspc: pd.DataFrame) -> None:
    registry = FakeRegistry()
    first = _train(registry, gspc)
    assert registry.calls == ["log_run train-^GSPC", "register ^GSPC v1", "alias ^GSPC champion=v1"]
    assert first.alias == "champion" and first.version.version == 1
    record, spec = registry.runs[first.run_id]
    assert record.params["source"] == "fake" and spec.train_end == "2018-12-31"
    # the walk-forward is honest about the random walk: skill vs naive is reported
    s = first.scores
    assert s.skill == pytest.approx(1 - s.rmse / s.naive_rmse)
    # a rerun of the same training (same data, config, code) registers nothing new
    calls = len(registry.calls)
    again = _train(registry, gspc)
    assert (again.version.version, again.alias, again.run_id) == (1, "champion", first.run_id)
    assert len(registry.calls) == calls
    second = _train(registry, gspc.iloc[:-1].reset_index(drop=True))
    assert second.alias == "challenger" and second.version.version == 2
    assert registry.aliases("^GSPC") == {"champion": 1, "challenger": 2}


def test_publish_log_only_and_promote_move_the_right_aliases(gspc: pd.DataFrame) -> None:
    registry = FakeRegistry()
    spec = _train(registry, gspc).spec
    record = RunRecord("r", {}, {}, {}, {})
    rejected = publish(
        registry=registry, ticker="^GSPC", record=record, spec=spec, tags={}, action="log-only"
    )
    assert rejected.version is None and registry.tickers() == ["^GSPC"]
    assert len(registry.versions("^GSPC")) == 1
    promoted = publish(
        registry=registry,
        ticker="^GSPC",
        record=record,
        spec=spec,
        tags={},
        action="promote",
        previous=1,
    )
    assert promoted.version is not None and promoted.version.version == 2
    assert registry.aliases("^GSPC") == {"champion": 2, "previous": 1}
    # champion moves last: a crash before it leaves the old champion serving
    assert registry.calls[-1] == "alias ^GSPC champion=v2"


def test_retrain_rejects_when_policy_says_no_and_promotes_when_forced(gspc: pd.DataFrame) -> None:
    registry, audit = FakeRegistry(), FakeAuditLog()
    _train(registry, gspc)
    strict = dataclasses.replace(RETRAIN, policy=PromotionPolicy(min_improvement=0.5))
    result = retrain_ticker(
        ticker="^GSPC",
        prices=gspc,
        registry=registry,
        audit=audit,
        config=strict,
        as_of=END,
        now=NOW,
        triggered_by="manual",
    )
    # a challenger 50% better than the champion on S&P 500 closes does not exist
    assert not result.promoted and result.to_version is None
    assert registry.aliases("^GSPC") == {"champion": 1}
    assert [p.action for p in audit.promotions("^GSPC")] == ["reject"]
    # the decision and its alert are stored together
    assert audit.kinds("^GSPC") == ["retrain_rejected"] and not audit.alerts[0].replay
    d = result.decision
    assert d.challenger_rmse is not None and d.naive_rmse is not None
    forced = retrain_ticker(
        ticker="^GSPC",
        prices=gspc,
        registry=registry,
        audit=audit,
        config=strict,
        as_of=END,
        now=NOW,
        triggered_by="manual",
        force=True,
    )
    assert forced.promoted and forced.forced and forced.to_version == 2
    assert registry.aliases("^GSPC") == {"champion": 2, "previous": 1}
    assert audit.promotions("^GSPC")[0].triggered_by == "force"
    assert audit.kinds("^GSPC") == ["retrain_rejected", "retrain_promoted"]
    assert "v2" in audit.alerts[-1].alert.title
    # the holdout ends at as_of and excludes later sessions
    assert forced.holdout[1] == "2018-12-31"


def test_retrain_scores_on_data_up_to_as_of_only(gspc: pd.DataFrame) -> None:
    registry, audit = FakeRegistry(), FakeAuditLog()
    _train(registry, gspc.iloc[:-50])
    as_of = gspc["date"].iloc[-51].date()
    result = retrain_ticker(
        ticker="^GSPC",
        prices=gspc,
        registry=registry,
        audit=audit,
        config=RETRAIN,
        as_of=as_of,
        now=NOW,
        triggered_by="drift",
    )
    assert result.holdout[1] == str(as_of)


def test_rollback_swaps_champion_and_previous(gspc: pd.DataFrame) -> None:
    registry, audit = FakeRegistry(), FakeAuditLog()
    with pytest.raises(ModelNotFound):
        rollback(ticker="^GSPC", registry=registry, audit=audit, now=NOW, as_of=None)
    _train(registry, gspc)
    with pytest.raises(ModelNotFound, match="previous"):
        rollback(ticker="^GSPC", registry=registry, audit=audit, now=NOW, as_of=None)
    registry.set_alias("^GSPC", "previous", 1)
    _train(registry, gspc.iloc[:-1].reset_index(drop=True))
    registry.set_alias("^GSPC", "champion", 2)
    assert rollback(ticker="^GSPC", registry=registry, audit=audit, now=NOW, as_of=None) == (2, 1)
    assert (
        registry.aliases("^GSPC")["champion"] == 1
        and audit.promotions("^GSPC")[0].action == "rollback"
    )
    assert audit.kinds("^GSPC") == ["rollback"]
    assert audit.alerts[0].alert.data["to_version"] == 1


def _record(ticker: str, as_of: dt.date, target: dt.date, pred: float, naive: float):  # type: ignore[no-untyped-def]
    from stocky.adapters.ports import PredictionRecord

    return PredictionRecord(
        ticker=ticker,
        created_at=NOW,
        as_of=as_of,
        target_date=target,
        prediction=pred,
        lower=pred - 50,
        upper=pred + 50,
        naive=naive,
        model_name="stocky-gspc",
        model_version=1,
        arima_order="(0, 1, 1)",
        history_len=60,
        input_hash="x",
        request_id="r",
    )


def test_actuals_label_only_due_rows_and_pull_missing_closes(gspc: pd.DataFrame) -> None:
    log, store = FakePredictionLog(), FakePriceStore()
    source = FakeSource({"^GSPC": gspc})
    store.upsert("^GSPC", gspc.iloc[:-5], source="fake", fetched_at=NOW)
    dates = [d.date() for d in gspc["date"]]
    log.insert(_record("^GSPC", dates[-4], dates[-3], 2500.0, 2490.0))  # due, close not stored
    log.insert(_record("^GSPC", dates[-2], dates[-1], 2500.0, 2490.0))  # not due as of dates[-2]
    result = attach_actuals(
        predictions=log, prices=store, source=source, ticker="^GSPC", as_of=dates[-2], now=NOW
    )
    assert (result.updated, result.not_due) == (1, 1) and result.rows_pulled > 0
    row = log.get(1)
    assert row is not None and row["actual"] == pytest.approx(gspc["close"].iloc[-3])
    assert row["error"] == pytest.approx(row["actual"] - 2500.0)
    # idempotent: a second run labels nothing new
    again = attach_actuals(
        predictions=log, prices=store, source=source, ticker="^GSPC", as_of=dates[-2], now=NOW
    )
    assert again.updated == 0


def test_drift_check_uses_champion_baseline_and_stores_the_report(gspc: pd.DataFrame) -> None:
    registry, audit, log = FakeRegistry(), FakeAuditLog(), FakePredictionLog()
    trained = _train(registry, gspc)
    baseline = trained.spec.metrics["walk_forward_rmse"]
    assert baseline is not None
    dates = [d.date() for d in gspc["date"]]
    # 20 labeled sessions whose error is 3x the baseline: drift
    for i in range(-21, -1):
        log.insert(_record("^GSPC", dates[i - 1], dates[i], 2500.0, 2500.0))
        log.attach_actuals([_update(len(log.rows), 2500.0 + 3 * baseline)])
    rule = DriftRule(window=5, threshold_multiplier=1.5, consecutive_days=3)
    report = check_drift(
        predictions=log,
        audit=audit,
        registry=registry,
        calendar=_calendar(),
        ticker="^GSPC",
        as_of=dates[-2],
        rule=rule,
        now=NOW,
        detector="rule",
    )
    assert report.drifted and report.baseline == pytest.approx(baseline)
    assert report.latest_value == pytest.approx(3 * baseline)
    stored = audit.latest_drift_check("^GSPC")
    assert stored is not None and stored.drifted and stored.model_version == 1


def test_sessions_since_last_change_counts_sessions(gspc: pd.DataFrame) -> None:
    audit = FakeAuditLog()
    cal = _calendar()
    assert sessions_since_last_change(audit=audit, calendar=cal, ticker="^GSPC", as_of=END) is None
    audit.add_promotion(
        PromotionRow("^GSPC", "m", "reject", 1, None, NOW, dt.date(2018, 12, 20), "r", "drift")
    )
    # 2018-12-21, 24, 26, 27, 28, 31 (XNYS closed on the 25th)
    assert sessions_since_last_change(audit=audit, calendar=cal, ticker="^GSPC", as_of=END) == 6


def _daily(stack: Stack, deps: DailyDeps, *, retrain_mode: RetrainMode = "on-drift") -> TickerDay:
    """`stocky daily` for one ticker (a fleet of one), its retrains run on `stack` itself."""
    (outcome,) = run_daily_many(
        deps,
        executor=InlineExecutor(),
        settings=stack.settings,
        tickers=["^GSPC"],
        as_of=END,
        now=NOW,
        retrain_mode=retrain_mode,
        forecast=True,
        task=retrain_in_process(stack, deps),
    )
    assert outcome.day is not None, outcome.error
    return outcome.day


def test_daily_forecasts_once_per_session_and_uses_stored_closes(
    tmp_path: Path, gspc: pd.DataFrame
) -> None:
    stack = fake_stack(_settings(tmp_path), {"^GSPC": gspc})
    _train(stack.registry, gspc)  # type: ignore[arg-type]
    deps = DailyDeps.from_stack(stack)
    day = _daily(stack, deps)
    assert day.rows_pulled == 500 and day.forecast_target == dt.date(2019, 1, 2)
    row = stack.predictions.get(day.forecast_id or 0)
    assert row is not None and row["source"] == "daily"
    assert row["naive"] == pytest.approx(gspc["close"].iloc[-1])  # the window ends at the close
    again = _daily(stack, deps)
    assert again.forecast_id == day.forecast_id and again.forecast_target is None
    assert stack.predictions.count() == 1 and again.drift.decision != "drift"


def test_daily_without_a_champion_checks_and_forecasts_nothing(
    tmp_path: Path, gspc: pd.DataFrame
) -> None:
    stack = fake_stack(_settings(tmp_path), {"^GSPC": gspc})
    day = _daily(stack, DailyDeps.from_stack(stack))
    assert day.forecast_id is None and day.retrain is None
    assert "no champion" in day.drift.baseline_source


def test_daily_retrain_always_records_a_decision(tmp_path: Path, gspc: pd.DataFrame) -> None:
    stack = fake_stack(_settings(tmp_path), {"^GSPC": gspc})
    _train(stack.registry, gspc)  # type: ignore[arg-type]
    day = _daily(stack, DailyDeps.from_stack(stack), retrain_mode="always")
    assert day.retrain is not None
    assert stack.audit.promotions("^GSPC")[0].action == (
        "promote" if day.retrain.promoted else "reject"
    )


def test_replay_walks_the_loop_on_fakes(tmp_path: Path, sp500_close: np.ndarray) -> None:
    frame = price_frame(sp500_close[-600:], end=END)
    stack = fake_stack(_settings(tmp_path, drift_window=5), {"^GSPC": frame})
    start = frame["date"].iloc[-30].date()
    summary = replay(stack=stack, ticker="^GSPC", start=start, end=END)
    assert summary.sessions == 30 and summary.start == start and summary.end == END
    # every session but the last gets its actual on the next one
    assert summary.labeled == 29 == stack.predictions.labeled("^GSPC").shape[0]
    assert len(stack.audit.drift_checks("^GSPC")) == 30
    assert summary.skill == pytest.approx(1 - summary.rmse / summary.naive_rmse)
    assert summary.retrains == sum(
        1 for p in stack.audit.promotions("^GSPC") if p.action in ("promote", "reject")
    )


def _update(pid: int, actual: float):  # type: ignore[no-untyped-def]
    from stocky.adapters.ports import ActualUpdate

    return ActualUpdate(pid, actual, NOW)


def _calendar():  # type: ignore[no-untyped-def]
    from stocky.core.sessions import TradingCalendar

    return TradingCalendar(start="2015-01-01")
