"""The AuditLog port's contract, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from stocky.adapters.ports import DriftCheckRow, PromotionRow, QueuedAlert
from stocky.adapters.store.alerts import AddOutcome
from stocky.core.alerts import Alert
from stocky.errors import StoreError

NOW = dt.datetime(2024, 1, 10, 21, 30, tzinfo=dt.UTC)
D = [dt.date(2024, 1, d) for d in range(1, 32)]


def _utc(moment: dt.datetime) -> dt.datetime:
    # SQLite reads a stored UTC time back without its zone; the instant is what is promised
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _add(audit: Any, row: DriftCheckRow, *, alerts: Sequence[QueuedAlert] = ()) -> int:
    """Store one check (and its alerts) through the set-based write."""
    return int(audit.add_drift_checks([(row, alerts)])[0])


def _check(ticker: str, as_of: dt.date, **kw: Any) -> DriftCheckRow:
    values: dict[str, Any] = {
        "ticker": ticker,
        "checked_at": NOW,
        "as_of": as_of,
        "metric": "rmse",
        "window": 14,
        "threshold_multiplier": 1.5,
        "consecutive_days": 3,
        "baseline": 1.0,
        "baseline_source": "training",
        "threshold": 1.5,
        "latest_value": 1.2,
        "naive_latest_value": None,
        "breach_streak": 0,
        "drifted": False,
        "decision": "none",
        "model_version": 1,
        "report": {"session": as_of, "values": [1.0, None]},
    } | kw
    return DriftCheckRow(**values)


def _promotion(ticker: str, decided_at: dt.datetime = NOW, **kw: Any) -> PromotionRow:
    return PromotionRow(
        ticker,
        f"stocky-{ticker.lower()}",
        kw.pop("action", "promote"),
        1,
        2,
        decided_at,
        D[9],
        "better",
        "drift",
        **kw,
    )


def _alert(ticker: str, session: dt.date, kind: str = "model_degraded", **kw: Any) -> QueuedAlert:
    alert = Alert(ticker, kind, session, f"{ticker} {kind}", "what to do", {"n": 1})  # type: ignore[arg-type]
    return QueuedAlert(alert, **kw)


def test_add_drift_check_returns_its_id_and_reads_back_newest_first(stores):
    audit = stores.audit
    first = _add(audit, _check("AAA", D[2]))
    second = _add(audit, _check("AAA", D[1]))  # an older session, stored later
    third = _add(audit, _check("AAA", D[3]))
    assert first < second < third
    found = audit.drift_checks("AAA")
    assert [c.id for c in found] == [third, first, second]  # session descending
    assert [c.id for c in audit.drift_checks("AAA", limit=2)] == [third, first]
    # one check per (ticker, session): a rerun of the session replaces its check
    fourth = _add(audit, _check("AAA", D[3], drifted=True))
    rows = audit.drift_checks("AAA")
    assert [c.as_of for c in rows] == [D[3], D[2], D[1]] and rows[0].id == fourth
    assert [c.id for c in rows[1:]] == [first, second]
    latest = audit.latest_drift_check("AAA")
    assert latest is not None and latest.id == fourth and latest.drifted is True
    assert audit.latest_drift_check("NONE") is None and audit.drift_checks("NONE") == []


def test_a_stored_check_reads_back_as_written_with_its_report_as_json(stores):
    audit = stores.audit
    row = _check("AAA", D[3])
    check_id = _add(audit, row)
    (stored,) = audit.drift_checks("AAA")
    assert stored.id == check_id and _utc(stored.checked_at) == NOW
    assert stored.report == {"session": "2024-01-04", "values": [1.0, None]}
    for field in dataclasses.fields(row):
        if field.name not in ("checked_at", "report"):
            assert getattr(stored, field.name) == getattr(row, field.name), field.name


def test_add_drift_checks_returns_ids_in_order_and_writes_all_or_none(stores):
    audit = stores.audit
    ids = audit.add_drift_checks([(_check("BBB", D[1]), ()), (_check("AAA", D[1]), ())])
    assert len(ids) == 2 and ids[0] < ids[1]
    assert audit.latest_drift_check("BBB").id == ids[0]  # type: ignore[union-attr]
    assert audit.add_drift_checks([]) == []
    naive = _check("CCC", D[1], checked_at=NOW.replace(tzinfo=None))
    with pytest.raises(StoreError, match="time zone"):
        audit.add_drift_checks([(_check("CCC", D[2]), ()), (naive, ())])
    assert audit.drift_checks("CCC") == []


def test_latest_checks_before_is_each_tickers_newest_earlier_session(stores):
    audit = stores.audit
    _add(audit, _check("AAA", D[1]))
    newest = _add(audit, _check("AAA", D[2]))
    _add(audit, _check("AAA", D[3]))
    _add(audit, _check("BBB", D[3]))
    found = audit.latest_checks_before(["AAA", "BBB", "CCC"], before=D[3])
    assert list(found) == ["AAA"] and found["AAA"].id == newest


def test_promotions_newest_first_and_the_change_log_by_id(stores):
    audit = stores.audit
    assert audit.last_promotion_id() == 0 and audit.promotions_after(0) == []
    early = audit.add_promotion(_promotion("AAA", NOW - dt.timedelta(days=1)))
    late = audit.add_promotion(_promotion("AAA", NOW, run_id="r1", dm_pvalue=0.01))
    other = audit.add_promotion(_promotion("BBB", NOW, action="rollback"))
    assert early < late < other and audit.last_promotion_id() == other
    found = audit.promotions("AAA")
    assert [p.id for p in found] == [late, early]
    assert (found[0].run_id, found[0].dm_pvalue, _utc(found[0].decided_at)) == ("r1", 0.01, NOW)
    assert [p.id for p in audit.promotions("AAA", limit=1)] == [late]
    assert [p.id for p in audit.promotions_after(early)] == [late, other]
    many = audit.promotions_many(["BBB", "AAA", "CCC"])
    assert {t: [p.id for p in ps] for t, ps in many.items()} == {
        "BBB": [other],
        "AAA": [late, early],
        "CCC": [],
    }


def test_alerts_are_deduplicated_per_ticker_kind_and_session(stores):
    audit = stores.audit
    first = audit.add_alerts([_alert("AAA", D[1]), _alert("AAA", D[1])], now=NOW)
    assert first == [AddOutcome.ADDED, AddOutcome.DUPLICATE]
    again = audit.add_alerts(
        [_alert("AAA", D[1]), _alert("AAA", D[2]), _alert("AAA", D[1], "rollback")], now=NOW
    )
    assert again == [AddOutcome.DUPLICATE, AddOutcome.ADDED, AddOutcome.ADDED]
    assert audit.add_alerts([], now=NOW) == []


def test_a_cooldown_suppresses_the_same_kind_before_a_duplicate_is_looked_at(stores):
    audit = stores.audit
    audit.add_alerts([_alert("AAA", D[5]), _alert("AAA", D[8])], now=NOW)
    outcomes = audit.add_alerts(
        [
            _alert("AAA", D[8], cooldown_since=D[4]),  # the D[5] alert is within the cooldown
            _alert("AAA", D[9], cooldown_since=D[9]),  # nothing on or after D[9]
            _alert("BBB", D[9], cooldown_since=D[1]),  # another ticker
        ],
        now=NOW,
    )
    assert outcomes == [AddOutcome.COOLDOWN, AddOutcome.ADDED, AddOutcome.ADDED]


def test_a_cause_and_its_alerts_are_written_together(stores):
    audit = stores.audit
    _add(audit, _check("AAA", D[1]), alerts=[_alert("AAA", D[1])])
    audit.add_promotion(_promotion("AAA"), alerts=[_alert("AAA", D[2], "retrain_promoted")])
    # queued with their cause: offering them again finds them there
    again = audit.add_alerts(
        [_alert("AAA", D[1]), _alert("AAA", D[2], "retrain_promoted")], now=NOW
    )
    assert again == [AddOutcome.DUPLICATE, AddOutcome.DUPLICATE]
    naive = _promotion("BBB", NOW.replace(tzinfo=None))
    with pytest.raises(StoreError, match="time zone"):
        audit.add_promotion(naive, alerts=[_alert("BBB", D[1])])
    assert audit.promotions("BBB") == []
    assert audit.add_alerts([_alert("BBB", D[1])], now=NOW) == [AddOutcome.ADDED]


def test_alert_counts_are_the_alerts_queued_by_kind(stores):
    audit = stores.audit
    assert audit.alert_counts("AAA") == {}
    audit.add_drift_checks(
        [
            (
                _check("AAA", D[2]),
                [_alert("AAA", D[2], "volatility_changed"), _alert("AAA", D[2], "model_degraded")],
            ),
            (_check("BBB", D[3]), [_alert("BBB", D[3], "model_degraded")]),
        ]
    )
    audit.add_drift_checks([(_check("AAA", D[3]), [_alert("AAA", D[3], "coverage_broken")])])
    assert audit.alert_counts("AAA") == {
        "volatility_changed": 1,
        "model_degraded": 1,
        "coverage_broken": 1,
    }
    assert audit.alert_counts("BBB") == {"model_degraded": 1}


def test_alert_sessions_list_each_queued_alert_at_its_session(stores):
    audit = stores.audit
    assert audit.alert_sessions("AAA") == []
    audit.add_drift_checks([(_check("AAA", D[3]), [_alert("AAA", D[3], "coverage_broken")])])
    audit.add_drift_checks(
        [
            (
                _check("AAA", D[2]),
                [_alert("AAA", D[2], "volatility_changed"), _alert("AAA", D[2], "model_degraded")],
            ),
            (_check("BBB", D[2]), [_alert("BBB", D[2], "model_degraded")]),
        ]
    )
    # a duplicate (same ticker, kind, session) is not queued, so not listed
    audit.add_alerts([_alert("AAA", D[2], "model_degraded")], now=NOW)
    assert audit.alert_sessions("AAA") == [
        (D[2], "volatility_changed"),
        (D[2], "model_degraded"),
        (D[3], "coverage_broken"),
    ]
    assert audit.alert_sessions("BBB") == [(D[2], "model_degraded")]
