"""The fleet overview: every ticker's state from a handful of set-based queries, problems first.

`fleet_overview` reads the facts (`FleetStore.facts`, five statements whatever the number of
tickers), works out the session whose close should be stored by `now` and how far each
ticker's prices lag behind it, and classifies every ticker (`stocky.core.fleet`). The API
serves the rows as `GET /monitoring/fleet` and the `/dashboard` overview; `report_for_stack`
puts them on the written report's index page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from stocky.core.fleet import ChampionInfo, FleetRow, classify, problems_first
from stocky.core.fleet_summary import state_history
from stocky.core.freshness import ticker_due
from stocky.core.sessions import TradingCalendar
from stocky.core.trained_scores import walk_forward_scores
from stocky.errors import BadInput
from stocky.pipelines.freshness import source_ends

if TYPE_CHECKING:
    from stocky.adapters.ports import FleetStore
    from stocky.report.model import Report
    from stocky.wiring import Stack

log = logging.getLogger(__name__)

__all__ = [
    "FLEET_WINDOW",
    "HISTORY_SESSIONS",
    "MAX_WINDOW",
    "due_session",
    "fleet_overview",
    "lookback_days",
    "report_for_stack",
    "source_ends",
    "with_overview",
]

#: Labeled target sessions behind each ticker's skill, RMSE and coverage (about a month).
FLEET_WINDOW = 21
#: Sessions of drift-check states in the fleet summary (about a month).
HISTORY_SESSIONS = 21
MAX_WINDOW = 252


def lookback_days(window: int) -> int:
    """Calendar days that hold `window` sessions, with room for holidays and gaps."""
    return window * 7 // 5 + 14


def due_session(calendar: TradingCalendar, now: dt.datetime, grace: dt.timedelta) -> dt.date:
    """The latest session whose close was at least `grace` before `now`.

    Its close (and the labels of forecasts targeting it) should be stored by now; the daily
    job runs after the close, so a grace of a few hours keeps a ticker from looking stale
    between the close and the job.
    """
    return calendar.last_closed_session(now - grace)


def _behind(calendar: TradingCalendar, last: dt.date | None, due: dt.date) -> int | None:
    """Sessions after `last` up to `due` (0 when `last` is `due` or later)."""
    if last is None:
        return None
    if last >= due:
        return 0
    start = max(last + dt.timedelta(days=1), calendar.first_session)
    return len(calendar.sessions_in_range(start, due)) if start <= due else 0


def fleet_overview(
    *,
    store: FleetStore,
    champions: Mapping[str, ChampionInfo],
    calendar: TradingCalendar,
    now: dt.datetime,
    grace: dt.timedelta,
    window: int = FLEET_WINDOW,
    due: dt.date | None = None,
    source_end: Callable[[str], dt.date | None] | None = None,
) -> list[FleetRow]:
    """Every ticker's overview row, problems first.

    Args:
        store: The fleet's facts (one call, a handful of set-based statements).
        champions: Served model per ticker (version and order); these tickers are listed
            even without a prediction or a drift check.
        calendar: Trading sessions, for the session due by `now` and the price lag.
        now: The current time (aware, UTC).
        grace: How long after a session's close its price and labels may still be missing.
        window: Labeled target sessions behind each ticker's skill, RMSE and coverage.
        due: The session due by now when the caller knows it better (a replay's last
            session); default from `now` and `grace`.
        source_end: Where a static source ends for a ticker (None: live); such a ticker is
            due at the earlier of `due` and its end (`stocky.core.freshness`). Default: every
            ticker is measured against the calendar. See `source_ends`.

    Returns:
        One FleetRow per ticker, in the problems-first order of `stocky.core.fleet`.

    Raises:
        BadInput: `window` out of range.
        StoreError: The database failed.
    """
    if not 1 <= window <= MAX_WINDOW:
        raise BadInput(f"window {window} is out of range: use 1 to {MAX_WINDOW} sessions")
    facts = store.facts(window=window, lookback_days=lookback_days(window), extra=list(champions))
    if due is None:
        due = due_session(calendar, now, grace)
    # few distinct (last close, due) pairs: one calendar look-up each
    lags: dict[tuple[dt.date | None, dt.date | None], int | None] = {}
    rows = []
    for f in facts:
        end = source_end(f.ticker) if source_end is not None else None
        mine = ticker_due(due, end)
        key = (f.last_price, mine)
        if key not in lags:
            lags[key] = _behind(calendar, f.last_price, mine) if mine is not None else None
        rows.append(
            classify(
                f,
                champion=champions.get(f.ticker),
                due=mine,
                prices_behind=lags[key],
                source_end=end,
            )
        )
    return problems_first(rows)


def with_overview(
    report: Report,
    *,
    store: FleetStore,
    calendar: TradingCalendar,
    now: dt.datetime,
    grace: dt.timedelta,
    window: int = FLEET_WINDOW,
    due: dt.date | None = None,
    source_end: Callable[[str], dt.date | None] | None = None,
) -> Report:
    """The report with its overview rows (the report's tickers only, problems first).

    Champion versions and orders come from the report's own registry listing; `source_end`
    as in `fleet_overview`.
    """
    champions = {
        t.ticker: ChampionInfo(
            c.version, c.tags.get("model") or c.tags.get("order"), walk_forward_scores(c.tags)
        )
        for t in report.tickers
        if (c := t.champion) is not None
    }
    wanted = {t.ticker for t in report.tickers}
    rows = fleet_overview(
        store=store,
        champions=champions,
        calendar=calendar,
        now=now,
        grace=grace,
        window=window,
        due=due,
        source_end=source_end,
    )
    history = state_history(
        store.check_history(sessions=HISTORY_SESSIONS), sessions=HISTORY_SESSIONS
    )
    return dataclasses.replace(
        report,
        overview=tuple(r for r in rows if r.ticker in wanted),
        overview_window=window,
        history=tuple(history),
    )


def report_for_stack(
    stack: Stack, *, tickers: Sequence[str], now: dt.datetime, due: dt.date | None = None
) -> Report:
    """Build the report of `tickers` with its overview, from a Stack's stores and settings.

    Args:
        stack: The composition root (a database engine is needed for the overview).
        tickers: Tickers to report, in page order.
        now: The report's time, and the clock of the overview's staleness.
        due: The session due by now when it differs from the clock's (a replay).

    Returns:
        The Report, overview included.
    """
    from stocky.report.build import build_report

    if stack.engine is None:
        raise BadInput("the report's overview reads the database: build the stack with one")
    built = build_report(
        predictions=stack.predictions,
        audit=stack.audit,
        registry=stack.registry,
        tickers=tickers,
        drift_rule=stack.drift,
        now=now,
    )
    from stocky.report.build import TRAINING_CHART

    registry = stack.registry
    built = dataclasses.replace(
        built,
        detector=stack.settings.drift_detector,
        training_chart=lambda run_id: registry.run_artifact(run_id, TRAINING_CHART),
    )
    return with_overview(
        built,
        store=stack.fleet,
        calendar=stack.calendar,
        now=now,
        grace=dt.timedelta(hours=stack.settings.labels_late_hours),
        due=due,
        source_end=source_ends(lambda: stack.source),
    )
