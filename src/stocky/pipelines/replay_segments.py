"""A replay in segments: between two decisions the champion is fixed, so its forecasts over
the sessions that follow are one pass over the closes and its drift states one `state_path`
pass; the first session where the policy acts (a drift the detector calls, a scheduled
retrain) ends the segment: the retrain runs there, and the next segment starts.

What is stored equals what the session-by-session loop (`pipelines.replay`, the daily path
`stocky daily` runs) stores for the forecasts, their labels, the retrain decisions and the
alerts, session for session; drift checks are stored where one matters -- a drift that asks
for a retrain, or an alert the outbox takes -- not for every quiet session. Summaries,
retrain and promotion sessions and RMSEs are the loop's (`tests/integration/
test_replay_segments.py` pins them on bundled real series under every retrain mode).

Why it is exact: every drift detector is causal (a CUSUM, a trailing window), so the state
of a champion at session t computed over its rows up to a later session is the state a
check at t computes; the cooldowns (after a decision, between alerts of a kind) are counted
in sessions, as the checks count them; the forecasts, checks and retrains are made by the
same functions the loop calls.

It needs what the loop assumes of a replay: every exchange session of the period stored
(`segment_blocker` says why not, and the loop runs then) and the `assessment` detector
(the rolling-error `rule` detector is replayed session by session).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from stocky.adapters.ports import ActualUpdate, Champion, PredictionRecord, Promotion
from stocky.core.assessment import StatePath, state_path
from stocky.core.drift_rows import LabeledRows
from stocky.errors import StockyError
from stocky.pipelines.alerts import cooldown_start
from stocky.pipelines.daily import DailyDeps, RetrainMode
from stocky.pipelines.daily_fleet import load_champions
from stocky.pipelines.drift_check import DriftReads, build_check
from stocky.pipelines.drift_states import AssessmentInputs, assessment_inputs
from stocky.pipelines.forecast import forecast_record
from stocky.pipelines.segment_rows import label_forecasts

if TYPE_CHECKING:
    from stocky.pipelines.retrain import RetrainResult

__all__ = ["CHUNK", "replay_segments", "segment_blocker"]

#: Sessions looked ahead at first for the next drift; doubled while none is found.
CHUNK = 64

#: The state alerts a check can raise (all cooldown kinds, `core.alerts.CONDITION_KINDS`).
_DEGRADED, _VOLATILITY, _COVERAGE = "model_degraded", "volatility_changed", "coverage_broken"


def segment_blocker(deps: DailyDeps, sessions: list[dt.date]) -> str | None:
    """Why this replay must run session by session, or None when segments reproduce it."""
    if deps.detector != "assessment":
        return f"the {deps.detector!r} drift detector is replayed session by session"
    if not sessions:
        return "no sessions to replay"
    if deps.calendar.sessions_in_range(sessions[0], sessions[-1]) != sessions:
        return "sessions of the period are missing from the stored prices"
    return None


@dataclass
class _Replay:
    """What the segments share: the sessions, the closes, and the running state."""

    deps: DailyDeps
    ticker: str
    sessions: list[dt.date]
    targets: list[dt.date]
    #: Position of each session's close in `closes`.
    where: NDArray[np.intp]
    closes: NDArray[np.float64]
    month_first: NDArray[np.bool_]
    mode: RetrainMode
    clock: Callable[[dt.date], dt.datetime]
    rows: LabeledRows = field(default_factory=LabeledRows.empty)
    #: Session index of the last retrain decision (None before the first).
    decided: int | None = None
    #: Whether the previous session's check was in the volatility state.
    volatile: bool = False
    #: Per alert kind, the session index of the last one the outbox took.
    alerted: dict[str, int] = field(default_factory=dict)


def replay_segments(
    deps: DailyDeps,
    *,
    ticker: str,
    sessions: list[dt.date],
    retrain_mode: RetrainMode,
    task: Callable[..., RetrainResult],
    clock: Callable[[dt.date], dt.datetime],
    progress: Callable[[int, int, str], None] = lambda _i, _n, _m: None,
) -> None:
    """Replay `ticker` over `sessions` in segments, into `deps`' stores.

    Args:
        deps: The replay's collaborators (its champion registered; prices stored through the
            last session).
        ticker: The ticker.
        sessions: Every exchange session of the period, in order (see `segment_blocker`).
        retrain_mode: on-drift, always, monthly or never.
        task: The retrain task (`retrain_many.retrain_in_process`).
        clock: The simulated time of a session.
        progress: Called with (session index, total, message).

    Raises:
        StockyError: A forecast, check or retrain failed (as the loop stops there).
    """
    cal = deps.calendar
    prices = deps.prices.load(ticker, end=sessions[-1])
    days = pd.to_datetime(prices["date"]).dt.date.tolist()
    at = {d: i for i, d in enumerate(days)}
    months = [cal.previous_session(sessions[0]).month] + [s.month for s in sessions]
    run = _Replay(
        deps=deps,
        ticker=ticker,
        sessions=sessions,
        targets=[*sessions[1:], cal.next_session(sessions[-1])],
        where=np.array([at[s] for s in sessions], dtype=np.intp),
        closes=prices["close"].to_numpy(dtype=np.float64),
        month_first=np.array([a != b for a, b in zip(months[:-1], months[1:], strict=True)]),
        mode=retrain_mode,
        clock=clock,
    )
    n = len(sessions)
    k = -1  # the session of the last decision: its check ran, its forecast is the champion's
    while True:
        champion = _champion(deps, ticker)
        t_star, why, made = _segment(run, champion, k)
        if t_star is None:
            _commit(run, made, first=max(k, 0), upto=n - 1)
            progress(n, n, f"{sessions[-1]}")
            return
        _commit(run, made, first=max(k, 0), upto=t_star)
        result = task(ticker, "", sessions[t_star], clock(sessions[t_star]), why, False)
        run.decided = t_star
        deps.champions.pop(ticker, None)
        deps.no_champion.discard(ticker)
        verdict = "promoted" if result.promoted else "rejected"
        progress(t_star + 1, n, f"{sessions[t_star]}: retrain {verdict}")
        k = t_star


def _champion(deps: DailyDeps, ticker: str) -> Champion:
    failed: dict[str, StockyError] = {}
    found = load_champions(deps, [ticker], failed=failed)
    if ticker in failed:
        raise failed[ticker]
    if ticker not in found:
        raise StockyError(f"{ticker}: the replay has no champion: train it first")
    return found[ticker]


def _segment(
    run: _Replay, champion: Champion, k: int
) -> tuple[int | None, str, list[PredictionRecord]]:
    """Checks from session k + 1 on with `champion`, until the policy acts or the replay ends.

    Returns:
        (the session index where a retrain runs, or None at the end; why it runs; the
        champion's forecasts from session max(k, 0) on -- through the acting session's
        previous one, or the last session).
    """
    deps, n = run.deps, len(run.sessions)
    spec = champion.spec
    model = spec.forecaster()
    promotions = deps.audit.promotions(run.ticker, limit=50)
    inputs = assessment_inputs(champion=champion, promotions=promotions, config=deps.assessment)
    after = None if inputs.since is None else np.datetime64(inputs.since, "D")
    first = max(k, 0)
    made: list[PredictionRecord] = []
    done, chunk = k, CHUNK
    while True:
        hi = min(n - 1, done + chunk, _scheduled(run, done + 1))
        chunk *= 2
        while first + len(made) < hi:  # the forecasts labeled by sessions through hi
            made.append(_forecast(run, champion, model, first + len(made)))
        new, _ok = _labeled(run, made[: hi - first], first)
        everything = run.rows.plus(new)
        own = everything.since(version=champion.version, after=after)
        path = _path(own, inputs)
        # the champion's rows labeled by each session: its state there is the path's row before
        days = np.array(run.sessions[done + 1 : hi + 1], dtype="datetime64[D]")
        upto = np.searchsorted(own.target_date, days, side="right")
        for t, count in zip(range(done + 1, hi + 1), upto.tolist(), strict=True):
            why = _check(run, champion, t, count - 1, path, everything, promotions)
            if why is not None:
                return t, why, made[: t - first]
        done = hi
        if done == n - 1:
            while first + len(made) < n:
                made.append(_forecast(run, champion, model, first + len(made)))
            return None, "", made


def _scheduled(run: _Replay, start: int) -> int:
    """The first session index >= start where the mode retrains whatever drift says."""
    n = len(run.sessions)
    if run.mode == "always":
        return min(start, n - 1)
    if run.mode == "monthly":
        ahead = np.flatnonzero(run.month_first[start:])
        return start + int(ahead[0]) if ahead.size else n - 1
    return n - 1


def _forecast(run: _Replay, champion: Champion, model: object, t: int) -> PredictionRecord:
    """The champion's forecast as of session t, as `forecast_fleet` logs it."""
    end = int(run.where[t]) + 1
    window = run.closes[max(0, end - run.deps.max_prices) : end]
    _f, record = forecast_record(
        forecaster=model,  # type: ignore[arg-type]
        window=window,
        ticker=run.ticker,
        model_name=champion.name,
        model_version=champion.version,
        as_of=run.sessions[t],
        target=run.targets[t],
        now=run.clock(run.sessions[t]),
        request_id=f"replay-{uuid.uuid4().hex[:12]}",
        source="replay",
    )
    record.validate()
    return record


def _labeled(
    run: _Replay, made: list[PredictionRecord], first: int
) -> tuple[LabeledRows, NDArray[np.bool_]]:
    """`made` (the forecasts as of sessions first, first + 1, ...) labeled with the next
    session's close (`label_forecasts`)."""
    m = len(made)
    return label_forecasts(
        made,
        closes=run.closes[run.where[first + 1 : first + 1 + m]],
        targets=run.sessions[first + 1 : first + 1 + m],
    )


def _path(own: LabeledRows, inputs: AssessmentInputs) -> StatePath:
    # one forecast per session in a replay: the rows are `per_session` already
    return state_path(
        own.actual, own.prediction, own.naive, own.lower, own.upper, config=inputs.config,
        baseline_return_rmse=inputs.baseline_return_rmse,
        baseline_interval_score=inputs.baseline_interval_score,
    )  # fmt: skip


def _check(
    run: _Replay,
    champion: Champion,
    t: int,
    i: int,
    path: StatePath,
    everything: LabeledRows,
    promotions: Sequence[Promotion],
) -> str | None:
    """Session t's drift check from the champion's state at its row i (-1: none yet): stored
    (with its alerts) where it matters; why the policy retrains at t, or None."""
    deps, session = run.deps, run.sessions[t]
    degraded = i >= 0 and bool(path.model_degraded[i])
    volatile = i >= 0 and bool(path.volatility_changed[i])
    broken = i >= 0 and bool(path.coverage_broken[i])
    since = None if run.decided is None else t - run.decided
    drifted = degraded and not (since is not None and since < deps.rule.cooldown_sessions)
    raised = [
        kind
        for kind, on in (
            (_DEGRADED, degraded),
            (_VOLATILITY, volatile and not run.volatile),
            (_COVERAGE, broken),
        )
        if on and not _quiet(run, kind, t)
    ]
    if drifted or raised:
        upto = everything.take(everything.target_date <= np.datetime64(session, "D"))
        reads = DriftReads(upto, champion, promotions, None, run.volatile)
        pending = build_check(
            reads,
            calendar=deps.calendar,
            ticker=run.ticker,
            as_of=session,
            rule=deps.rule,
            now=run.clock(session),
            detector=deps.detector,
            assessment=deps.assessment,
            alerts=deps.alerts,
        )
        if pending.outcome.drifted != drifted:  # the segments' arithmetic must be the check's
            raise StockyError(
                f"{run.ticker} {session}: segment replay disagrees with the drift check "
                f"(drifted {drifted} vs {pending.outcome.drifted}): replay with --engine sessions"
            )
        deps.audit.add_drift_checks([(pending.row, pending.alerts)])
        for kind in raised:
            run.alerted[kind] = t
    run.volatile = volatile
    mode = run.mode
    if mode == "always":
        return "drift" if drifted else "schedule"
    if mode == "on-drift":
        return "drift" if drifted else None
    if mode == "monthly":
        return "monthly" if run.month_first[t] else None
    return None


def _quiet(run: _Replay, kind: str, t: int) -> bool:
    """Whether the outbox would silence a `kind` alert at session t (its cooldown)."""
    last = run.alerted.get(kind)
    if last is None or last == t:
        return False
    start = cooldown_start(run.deps.calendar, run.sessions[t], run.deps.alerts.cooldown_sessions)
    return start is not None and run.sessions[last] >= start


def _commit(run: _Replay, made: list[PredictionRecord], *, first: int, upto: int) -> None:
    """Log `made` (forecasts as of sessions first, first + 1, ...) and attach the actuals of
    those whose target is a session through `upto`."""
    if not made:
        return
    deps = run.deps
    ids = deps.predictions.insert_many(made)
    due = max(0, min(len(made), upto - first))
    labeled, ok = _labeled(run, made[:due], first)
    picked = [i for i, good in zip(ids[:due], ok.tolist(), strict=True) if good]
    updates = [
        ActualUpdate(i, a, run.clock(d))
        for i, a, d in zip(
            picked, labeled.actual.tolist(), labeled.target_date.tolist(), strict=True
        )
    ]
    deps.predictions.attach_actuals(updates)
    run.rows = run.rows.plus(labeled)
