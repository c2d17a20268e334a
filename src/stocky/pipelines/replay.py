"""Replay: walk a simulated clock over history, running the whole loop each session.

Each session runs the daily job as of that session -- the one set-based path `stocky daily`
runs (`run_daily_many`, here for a fleet of one): actuals, drift, a retrain when the mode asks
(promotion or rejection), then the champion's forecast of the next close (source `replay`).
Everything lives in the replay's own stores (in memory, or a state folder with its own
database and MLflow store), never the user's live ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import pandas as pd

from stocky.adapters.executor import Outcome
from stocky.core.realized import realized
from stocky.errors import BadInput, StockyError
from stocky.pipelines.daily import RETRAIN_MODES, DailyDeps, RetrainMode
from stocky.pipelines.replay_segments import replay_segments, segment_blocker
from stocky.pipelines.retrain_many import retrain_in_process, run_daily_many
from stocky.pipelines.train import train_ticker

if TYPE_CHECKING:
    from stocky.wiring import Stack

__all__ = ["ENGINES", "Engine", "ReplaySummary", "replay"]

Engine = Literal["auto", "segments", "sessions"]
ENGINES: tuple[str, ...] = ("auto", "segments", "sessions")


@dataclass(frozen=True)
class ReplaySummary:
    """What happened over the replayed period."""

    ticker: str
    start: dt.date
    end: dt.date
    sessions: int
    predictions: int
    labeled: int
    #: Over the replay's labeled forecasts; None when there are none (or naive was exact).
    rmse: float | None
    naive_rmse: float | None
    skill: float | None
    #: Drift checks whose detector asked for a retrain.
    drift_alerts: int
    retrains: int
    promotions: int
    rollbacks: int
    initial_version: int
    final_version: int
    #: Alerts the replay queued, by kind (volatility changes alert without a drift).
    alerts: dict[str, int] = field(default_factory=dict)


def _clock(session: dt.date) -> dt.datetime:
    """Simulated time: 22:00 UTC on the session, after the US close."""
    return dt.datetime.combine(session, dt.time(22, 0), tzinfo=dt.UTC)


def replay(
    *,
    stack: Stack,
    ticker: str,
    start: dt.date,
    end: dt.date,
    retrain_mode: RetrainMode = "on-drift",
    progress: Callable[[int, int, str], None] = lambda _i, _n, _m: None,
    engine: Engine = "sessions",
) -> ReplaySummary:
    """Replay `ticker` from `start` to `end` (sessions, inclusive).

    Args:
        stack: The replay's own stack (`wiring.replay_settings`: a fresh database and MLflow
            store), whose source, calendar, drift rule, train and retrain configs are used.
        ticker: The ticker.
        start: First session: the initial champion is trained on data up to it.
        end: Last session.
        retrain_mode: When to retrain: on-drift (default), always, monthly or never.
        progress: Called with (session index, total, message).
        engine: `sessions`: the daily path session by session, every check stored;
            `segments`: the same forecasts, labels, decisions and alerts computed a segment
            between decisions at a time (`pipelines.replay_segments`), checks stored where
            one matters; `auto`: segments where they apply, else sessions.

    Returns:
        The ReplaySummary.

    Raises:
        BadInput: The period is empty or outside the available history, an unknown engine,
            or `segments` where they do not apply.
    """
    if engine not in ENGINES:
        raise BadInput(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")
    if retrain_mode not in RETRAIN_MODES:
        raise BadInput(f"retrain mode {retrain_mode!r}: use one of {', '.join(RETRAIN_MODES)}")
    if end <= start:
        raise BadInput(f"--end {end} is not after --start {start}: give a later end")
    source = stack.source
    history = source.fetch(ticker, None, end)
    if history.empty or history["date"].iloc[0].date() >= start:
        raise BadInput(
            f"{ticker} has no history before {start} in source {source.name!r}: start later"
        )
    first_time = _clock(start)
    stack.prices.upsert(ticker, history, source=source.name, fetched_at=first_time)
    initial = train_ticker(
        ticker=ticker,
        prices=history[history["date"] <= pd.Timestamp(start)].reset_index(drop=True),
        source=source.name,
        registry=stack.registry,
        config=stack.train,
        now=first_time,
    )
    deps = DailyDeps.from_stack(stack, replay=True)  # its alerts are marked as a replay's
    calendar = stack.calendar
    stored = set(history["date"].dt.date)
    sessions = [s for s in calendar.sessions_in_range(start, end) if s in stored]
    if not sessions:
        raise BadInput(
            f"no stored sessions of {ticker} between {start} and {end}: pick a range the source covers"
        )
    task = retrain_in_process(stack, deps, replay=True)
    blocker = segment_blocker(deps, sessions) if engine != "sessions" else engine
    if engine == "segments" and blocker is not None:
        raise BadInput(f"--engine segments: {blocker}; use --engine sessions")
    if blocker is None:
        replay_segments(
            deps,
            ticker=ticker,
            sessions=sessions,
            retrain_mode=retrain_mode,
            task=task,
            clock=_clock,
            progress=progress,
        )
        return _summary(deps, ticker, sessions, initial.version.version)
    for i, session in enumerate(sessions):
        (outcome,) = run_daily_many(
            deps,
            executor=_InProcess(),
            settings=stack.settings,
            tickers=[ticker],
            as_of=session,
            now=_clock(session),
            retrain_mode=retrain_mode,
            forecast=True,
            task=task,
            pull=False,
            forecast_source="replay",
        )
        if outcome.day is None:
            raise StockyError(f"{ticker} {session}: {outcome.error}")
        if outcome.day.retrain is not None:
            verdict = "promoted" if outcome.day.retrain.promoted else "rejected"
            progress(i + 1, len(sessions), f"{session}: retrain {verdict}")
        elif i % 21 == 0 or i == len(sessions) - 1:
            progress(i + 1, len(sessions), f"{session}")
    return _summary(deps, ticker, sessions, initial.version.version)


class _InProcess:
    """The replay's executor: retrains run here, in order, and a failure stops the replay."""

    name = "replay"
    workers = 1

    def map(
        self, fn: Callable[..., object], items: Sequence[object], *args: object
    ) -> Iterator[Outcome]:
        for item in items:
            yield Outcome(item, fn(item, *args))

    def close(self) -> None:
        return None


def _summary(
    deps: DailyDeps, ticker: str, sessions: list[dt.date], initial_version: int
) -> ReplaySummary:
    labeled = deps.predictions.labeled(ticker)
    labeled = labeled[labeled["source"] == "replay"]
    scores = realized(labeled["actual"], labeled["prediction"], labeled["naive"])
    checks = deps.audit.drift_checks(ticker)
    decisions = deps.audit.promotions(ticker)
    champion = deps.champions.get(ticker)
    return ReplaySummary(
        ticker=ticker,
        start=sessions[0],
        end=sessions[-1],
        sessions=len(sessions),
        predictions=deps.predictions.count(ticker),
        labeled=len(labeled),
        rmse=scores.rmse,
        naive_rmse=scores.naive_rmse,
        skill=scores.skill,
        drift_alerts=sum(1 for c in checks if c.drifted),
        retrains=sum(1 for d in decisions if d.action in ("promote", "reject")),
        promotions=sum(1 for d in decisions if d.action == "promote"),
        rollbacks=sum(1 for d in decisions if d.action == "rollback"),
        initial_version=initial_version,
        final_version=champion.version if champion else initial_version,
        alerts=deps.audit.alert_counts(ticker),
    )
