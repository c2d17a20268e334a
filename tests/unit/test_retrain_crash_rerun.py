"""A process that dies after the registry switched `champion` but before the decision row was
written must not promote a second time when the session is run again: the rerun finds the
champion promoted for that session, writes the missing decision (with its alert) and retrains
nothing. Exactly one promotion per (ticker, session)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fakes import fake_stack, price_frame
from stocky.adapters.executor import InlineExecutor
from stocky.adapters.ports import AuditLog, PromotionRow, QueuedAlert
from stocky.config import Settings
from stocky.pipelines.daily import DailyDeps
from stocky.pipelines.retrain import PROMOTED_ON_TAG, retrain_ticker
from stocky.pipelines.retrain_many import run_daily_many
from stocky.pipelines.train import train_ticker
from stocky.wiring import Stack

END = dt.date(2018, 12, 31)
NOW = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)


class Killed(BaseException):
    """The process died (not an error a task reports: nothing after it runs)."""


class DiesOnFirstPromotion:
    """The audit log of a process killed right after publishing its first promotion."""

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit
        self.killed = False

    def add_promotion(self, row: PromotionRow, *, alerts: Sequence[QueuedAlert] = ()) -> int:
        if row.action == "promote" and not self.killed:
            self.killed = True
            raise Killed
        return self._audit.add_promotion(row, alerts=alerts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._audit, name)


def _stack(tmp_path: Path, sp500_close: np.ndarray) -> Stack:
    settings = Settings(
        home=tmp_path,
        order="0,1,1",
        test_size=40,
        validation_size=20,
        train_window=300,
        min_train_size=100,
        holdout_size=30,
    )
    frame = price_frame(sp500_close[-400:], end=END)
    stack = fake_stack(settings, {"AAA": frame})
    train_ticker(
        ticker="AAA",
        prices=frame.iloc[:-5].reset_index(drop=True),
        source="fake",
        registry=stack.registry,
        config=stack.train,
        now=NOW,
    )
    return stack


def _daily(stack: Stack, audit: Any, *, now: dt.datetime, force: bool) -> Any:
    def task(ticker: str, _json: str, as_of: dt.date, now: dt.datetime, why: str, _f: bool) -> Any:
        # force: the policy would promote every time, so only the guard can stop a second one
        return retrain_ticker(
            ticker=ticker,
            prices=stack.prices.load(ticker, end=as_of),
            registry=stack.registry,
            audit=audit,
            config=stack.retrain,
            as_of=as_of,
            now=now,
            triggered_by=why,
            force=force,
        )

    deps = DailyDeps.from_stack(stack)
    return run_daily_many(
        deps,
        executor=InlineExecutor(),
        settings=stack.settings,
        tickers=["AAA"],
        as_of=END,
        now=now,
        retrain_mode="always",
        forecast=False,
        task=task,
    )


def _promotions(stack: Stack) -> list[PromotionRow]:
    return [p for p in stack.audit.promotions("AAA") if p.as_of == END]


def test_a_rerun_after_a_kill_between_switch_and_record_promotes_once(
    tmp_path: Path, sp500_close: np.ndarray
) -> None:
    stack = _stack(tmp_path, sp500_close)
    with pytest.raises(Killed):
        _daily(stack, DiesOnFirstPromotion(stack.audit), now=NOW, force=True)
    # the kill left the switch done and no decision: what the rerun must recognise
    assert stack.registry.aliases("AAA") == {"champion": 2, "previous": 1}
    assert _promotions(stack) == []

    (again,) = _daily(stack, stack.audit, now=LATER, force=True)
    assert again.error is None and again.day is not None and again.day.retrain is not None
    result = again.day.retrain
    assert (result.promoted, result.from_version, result.to_version) == (True, 1, 2)
    assert stack.registry.aliases("AAA") == {"champion": 2, "previous": 1}
    assert len(stack.registry.versions("AAA")) == 2  # nothing registered by the rerun
    (row,) = _promotions(stack)
    assert (row.action, row.from_version, row.to_version) == ("promote", 1, 2)
    assert row.decided_at == NOW  # when it was decided, not when the record was completed
    assert row.run_id == stack.registry.champion("AAA").info.run_id  # type: ignore[union-attr]
    assert row.triggered_by == "force" and row.challenger_rmse is not None
    kinds = [a.alert.kind for a in stack.audit.alerts if a.alert.ticker == "AAA"]
    assert kinds.count("retrain_promoted") == 1

    # a third run: the decision is recorded, daily skips the ticker altogether
    (third,) = _daily(stack, stack.audit, now=LATER, force=True)
    assert third.error is None and third.day is not None and third.day.retrain is None
    assert len(_promotions(stack)) == 1 and stack.registry.aliases("AAA")["champion"] == 2


def test_the_promoted_version_names_its_session(tmp_path: Path, sp500_close: np.ndarray) -> None:
    stack = _stack(tmp_path, sp500_close)
    (out,) = _daily(stack, stack.audit, now=NOW, force=True)
    assert out.day is not None and out.day.retrain is not None and out.day.retrain.promoted
    champion = stack.registry.champion("AAA")
    assert champion is not None and champion.info.tags[PROMOTED_ON_TAG] == END.isoformat()


def test_a_deliberate_second_retrain_of_a_recorded_session_still_runs(
    tmp_path: Path, sp500_close: np.ndarray
) -> None:
    # `stocky retrain --force` by an operator after the decision was recorded is a new decision
    stack = _stack(tmp_path, sp500_close)
    _daily(stack, stack.audit, now=NOW, force=True)
    again = retrain_ticker(
        ticker="AAA",
        prices=stack.prices.load("AAA", end=END),
        registry=stack.registry,
        audit=stack.audit,
        config=stack.retrain,
        as_of=END,
        now=LATER,
        triggered_by="manual",
        force=True,
    )
    assert again.promoted and (again.from_version, again.to_version) == (2, 3)
    assert sorted(p.to_version or 0 for p in _promotions(stack)) == [2, 3]
