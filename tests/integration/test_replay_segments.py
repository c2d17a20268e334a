"""A replay in segments equals the replay session by session (`pipelines.replay_segments`).

Both engines run on a fresh in-memory stack; compared are the summaries (RMSE within 1e-9),
every forecast with its interval, label and model version, every retrain decision (session,
action, versions, trigger), every alert queued (kind and session, in order) and every drift
check that fired (each stored check of the segments equal to the loop's check of that
session). Real bundled closes under on-drift, monthly and always; a SYNTHETIC series whose
autocorrelation flips sign (so that the champion degrades, the detector fires, cooldowns and
alert cooldowns apply) under on-drift and never; SYNTHETIC series whose regime switches every
few weeks (volatility on and off, the champion degrading and recovering) under hostile
cooldowns and windows; bundled closes with a missing session (refused, or run by the loop).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stocky.config import Settings
from stocky.core.sessions import TradingCalendar
from stocky.errors import BadInput
from stocky.pipelines.replay import replay
from stocky.pipelines.replay_segments import segment_blocker
from stocky.wiring import memory_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Small training windows: the bundled cases retrain often, and both engines run each.
FAST = {
    "order": "0,1,1",
    "test_size": 40,
    "validation_size": 20,
    "train_window": 300,
    "min_train_size": 100,
    "holdout_size": 20,
}
COLUMNS = ["as_of", "target_date", "prediction", "lower", "upper", "naive", "actual"]
COLUMNS += ["model_version", "source"]


def _run(settings: Settings, ticker: str, start: str, end: str, mode: str, engine: str) -> Any:
    with memory_stack(settings) as stack:
        summary = replay(
            stack=stack,
            ticker=ticker,
            start=dt.date.fromisoformat(start),
            end=dt.date.fromisoformat(end),
            retrain_mode=mode,  # type: ignore[arg-type]
            engine=engine,  # type: ignore[arg-type]
        )
        audit = stack.audit
        return {
            "summary": summary,
            "rows": stack.predictions.labeled(ticker)[COLUMNS].reset_index(drop=True),
            "count": stack.predictions.count(ticker),
            "decisions": [
                (p.as_of, p.action, p.from_version, p.to_version, p.triggered_by, p.reason)
                for p in audit.promotions(ticker)
            ],
            "alerts": [(q.alert.kind, q.alert.session, q.alert.title) for q in audit.alerts],
            "checks": {c.as_of: c for c in audit.drift_checks(ticker)},
        }


def _same(settings: Settings, ticker: str, start: str, end: str, mode: str) -> dict[str, Any]:
    loop = _run(settings, ticker, start, end, mode, "sessions")
    seg = _run(settings, ticker, start, end, mode, "segments")
    a, b = dataclasses.asdict(loop["summary"]), dataclasses.asdict(seg["summary"])
    for key in ("rmse", "naive_rmse", "skill"):
        assert b.pop(key) == pytest.approx(a.pop(key), rel=1e-9, abs=1e-12), key
    assert a == b
    pd.testing.assert_frame_equal(seg["rows"], loop["rows"], check_exact=True)
    assert seg["count"] == loop["count"]
    assert seg["decisions"] == loop["decisions"]
    assert seg["alerts"] == loop["alerts"]
    fired = sorted(d for d, c in loop["checks"].items() if c.drifted)
    assert sorted(d for d, c in seg["checks"].items() if c.drifted) == fired
    # the segments store a check where one fired or an alert of its states was taken, no other
    states = {"model_degraded", "volatility_changed", "coverage_broken"}
    taken = {day for kind, day, _title in loop["alerts"] if kind in states}
    assert set(seg["checks"]) == set(fired) | taken
    for day, check in seg["checks"].items():  # every check the segments stored is the loop's
        mine, theirs = dataclasses.asdict(check), dataclasses.asdict(loop["checks"][day])
        for key in ("id", "checked_at"):
            mine.pop(key), theirs.pop(key)
        assert mine == theirs, day
    return loop


@pytest.mark.parametrize(
    ("ticker", "start", "end", "mode"),
    [
        ("MSFT", "2008-01-02", "2008-12-31", "on-drift"),
        ("MSFT", "2008-01-02", "2008-12-31", "monthly"),
        ("^GSPC", "2008-09-02", "2008-10-31", "always"),
        ("IBM", "2011-03-01", "2012-02-29", "never"),
        # every session a retrain; the price windows reach back over 1999-11-16, a session
        # the bundled MSFT closes lack
        ("MSFT", "1999-11-17", "2000-02-29", "always"),
    ],
)
def test_segments_equal_the_session_loop_on_real_closes(
    tmp_path: Path, ticker: str, start: str, end: str, mode: str
) -> None:
    settings = Settings(home=tmp_path, price_source="bundled", **FAST)  # type: ignore[arg-type]
    loop = _same(settings, ticker, start, end, mode)
    s = loop["summary"]
    assert s.labeled == s.sessions - 1  # the last forecast waits for its close
    if mode == "monthly":
        assert s.retrains == 12  # every month opens inside 2008
    if mode == "always":
        assert s.retrains == s.sessions
    if mode == "never":
        assert s.retrains == 0


def _flipping_series(path: Path) -> Path:
    """SYNTHETIC closes: AR(1) returns with phi 0.6 until March 2019, then -0.6."""
    days = TradingCalendar().sessions_in_range(dt.date(2014, 1, 2), dt.date(2020, 12, 31))
    rng = np.random.default_rng(7)
    shocks = rng.normal(0.0, 0.01, len(days))
    returns = np.zeros(len(days))
    for t in range(1, len(days)):
        phi = 0.6 if days[t] < dt.date(2019, 3, 1) else -0.6
        returns[t] = phi * returns[t - 1] + shocks[t]
    closes = 100.0 * np.exp(np.cumsum(returns))
    pd.DataFrame({"Date": days, "Close": closes}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("mode", ["on-drift", "never"])
def test_segments_equal_the_loop_through_drifts_and_cooldowns(tmp_path: Path, mode: str) -> None:
    csv = _flipping_series(tmp_path / "flip.csv")
    # a cooldown longer than the 10 sessions a new champion needs before it can be degraded
    settings = Settings(
        home=tmp_path, price_source="csv", csv_path=csv, order="0,1,1", drift_cooldown_sessions=30
    )
    loop = _same(settings, "FLIP", "2019-01-02", "2019-12-31", mode)
    s = loop["summary"]
    kinds = [kind for kind, _day, _title in loop["alerts"]]
    assert s.drift_alerts > 0 and "model_degraded" in kinds  # the case exercises the detector
    if mode == "on-drift":
        assert s.retrains >= 1 and all(d[4] == "drift" for d in loop["decisions"])
        waited = [c.decision for c in loop["checks"].values()]
        assert "cooldown" in waited  # degraded within the cooldown after a retrain: it waits
    else:  # never retrains: the degraded state lasts, its alert repeats only after cooldowns
        assert s.retrains == 0
        days = [day for kind, day, _t in loop["alerts"] if kind == "model_degraded"]
        gaps = [
            len(TradingCalendar().sessions_in_range(a, b)) - 1
            for a, b in zip(days, days[1:], strict=False)
        ]
        assert gaps and min(gaps) >= 5  # the alert cooldown (5 sessions)


def _regime_series(path: Path, kind: str) -> Path:
    """SYNTHETIC closes whose regime switches every few weeks from 2019 on.

    `flip`: AR(1) returns whose phi alternates between 0.6 and -0.6 every 30 sessions (the
    champion degrades and recovers again and again); `vol`: AR(0.3) returns whose volatility
    alternates between 4x and 0.5x every 25 sessions (volatility changes on and off, intervals
    too narrow or too wide).
    """
    days = TradingCalendar().sessions_in_range(dt.date(2014, 1, 2), dt.date(2020, 12, 31))
    rng = np.random.default_rng(1)
    shocks = rng.normal(0.0, 0.01, len(days))
    returns = np.zeros(len(days))
    for t in range(1, len(days)):
        calm = days[t] < dt.date(2019, 1, 1)
        if kind == "flip":
            phi = 0.6 if calm or (t // 30) % 2 == 0 else -0.6
            returns[t] = phi * returns[t - 1] + shocks[t]
        else:
            scale = 1.0 if calm else (4.0 if (t // 25) % 2 else 0.5)
            returns[t] = 0.3 * returns[t - 1] + scale * shocks[t]
    closes = 100.0 * np.exp(np.cumsum(returns))
    pd.DataFrame({"Date": days, "Close": closes}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("kind", "start", "end", "mode", "overrides"),
    [
        # no alert cooldown: every onset of the volatility state and every session of broken
        # coverage alerts; nothing retrains
        ("vol", "2019-01-02", "2019-06-28", "never", {"alert_cooldown_sessions": 0}),
        # a drift cooldown longer than the regimes and a long alert cooldown
        (
            "flip",
            "2019-01-02",
            "2019-06-28",
            "on-drift",
            {"drift_cooldown_sessions": 50, "alert_cooldown_sessions": 20},
        ),
        # drifts that the monthly schedule ignores, short cooldowns, a 30-close window
        (
            "flip",
            "2019-03-15",
            "2019-12-31",
            "monthly",
            FAST
            | {
                "drift_cooldown_sessions": 3,
                "alert_cooldown_sessions": 0,
                "interval": "ewma",
                "max_prices": 30,
            },
        ),
    ],
)
def test_segments_equal_the_loop_through_regime_switches(
    tmp_path: Path, kind: str, start: str, end: str, mode: str, overrides: dict[str, Any]
) -> None:
    csv = _regime_series(tmp_path / f"{kind}.csv", kind)
    settings = Settings(
        home=tmp_path, price_source="csv", csv_path=csv, **({"order": "0,1,1"} | overrides)
    )
    loop = _same(settings, kind.upper(), start, end, mode)
    s = loop["summary"]
    kinds = [k for k, _day, _title in loop["alerts"]]
    decisions = [c.decision for c in loop["checks"].values()]
    if mode == "never":  # the states come and go, each onset alerts
        assert s.retrains == 0
        assert kinds.count("volatility_changed") >= 3 and kinds.count("coverage_broken") >= 20
        assert kinds.count("model_degraded") >= 2
    elif mode == "on-drift":  # degraded within the cooldown after a retrain: it waits
        assert s.retrains >= 2 and decisions.count("cooldown") >= 20
    else:  # monthly: drifts fire and alert, retrains keep to the first sessions of months
        assert s.retrains == 9 and s.drift_alerts >= 50
        assert all(d[4] == "monthly" for d in loop["decisions"])
        assert kinds.count("model_degraded") > s.drift_alerts  # alerts also in the cooldown
        assert "cooldown" in decisions


def test_segments_refused_where_they_do_not_apply(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        price_source="bundled",
        drift_detector="rule",
        **FAST,  # type: ignore[arg-type]
    )
    with memory_stack(settings) as stack, pytest.raises(BadInput, match="engine sessions"):
        replay(
            stack=stack,
            ticker="MSFT",
            start=dt.date(2008, 1, 2),
            end=dt.date(2008, 2, 29),
            engine="segments",
        )
    with memory_stack(settings) as stack:
        auto = replay(  # auto runs the loop for the rule detector
            stack=stack, ticker="MSFT", start=dt.date(2008, 1, 2), end=dt.date(2008, 2, 29)
        )
        assert len(stack.audit.drift_checks("MSFT")) == auto.sessions  # one per session
    # the bundled MSFT closes lack 1998-10-29: segments refuse, auto replays session by session
    fast = Settings(home=tmp_path / "m", price_source="bundled", **FAST)  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="sessions of the period are missing"):
        _run(fast, "MSFT", "1998-10-01", "1998-12-31", "on-drift", "segments")
    auto, loop = (
        _run(fast, "MSFT", "1998-10-01", "1998-12-31", "on-drift", e) for e in ("auto", "sessions")
    )
    assert auto["summary"] == loop["summary"] and auto["summary"].sessions == 63
    assert len(auto["checks"]) == 63  # a check stored for every session: the loop ran
    assert dt.date(1998, 10, 29) not in auto["checks"]
    from stocky.pipelines.daily import DailyDeps

    with memory_stack(Settings(home=tmp_path / "b", price_source="bundled")) as stack:
        deps = DailyDeps.from_stack(stack)
        days = stack.calendar.sessions_in_range(dt.date(2008, 1, 2), dt.date(2008, 1, 31))
        assert segment_blocker(deps, days) is None
        gap = segment_blocker(deps, days[:5] + days[6:])
        assert gap is not None and "missing" in gap
