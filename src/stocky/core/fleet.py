"""The fleet overview: one row per ticker, problems first, then filtered, sorted and paged.

Pure: the facts come from the store (`stocky.adapters.store.fleet`), the session that should
be stored by now and the sessions each ticker's prices lag behind it from the calendar
(`stocky.pipelines.fleet_view`). Nothing here reads a clock, a file or a database.

Problems, most urgent first (a ticker's `state` is the first that applies, `problems` all):

1. ``degraded``: the latest drift check decided drift, or its report says the model degraded.
2. ``stale_prices``: no stored close for the ticker's due session (or none at all).
3. ``labels_late``: a prediction still waits for the close of a session on or before the
   ticker's due session.

A ticker's due session is the latest session whose close should be stored by now, or where a
static source (bundled, CSV, synthetic) ends, when earlier: `stocky.core.freshness`, the one
definition the alerts use too.
4. ``volatility``: the latest drift check's report says the volatility regime changed (the
   intervals follow it; worth a look, not an error).
5. ``unchecked``: no drift check yet, or the latest one could not decide (too few labels,
   no baseline).

``ok`` is a ticker with none of these. The default order is state (the order above, ok last),
then the worst skill first (no skill after every number), then the ticker.

Accuracy comes from the live labels of the recent window (``basis`` "live"); a ticker without
any yet shows its champion's walk-forward scores from training instead (``basis``
"walk_forward", over ``basis_sessions`` test sessions), so the fleet is compared with naive
from the first day.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from stocky.core.freshness import labels_late, prices_stale
from stocky.core.trained_scores import WalkForwardScores
from stocky.errors import BadInput

__all__ = [
    "BASES",
    "COLUMNS",
    "MAX_PAGE",
    "PAGE",
    "STATES",
    "ChampionInfo",
    "FleetPage",
    "FleetRow",
    "TickerFacts",
    "classify",
    "filter_rows",
    "problems_first",
    "select_rows",
    "sort_rows",
    "state_counts",
]

State = Literal["degraded", "stale_prices", "labels_late", "volatility", "unchecked", "ok"]
#: Every state, most urgent first; `ok` last.
STATES: tuple[State, ...] = (
    "degraded",
    "stale_prices",
    "labels_late",
    "volatility",
    "unchecked",
    "ok",
)
_RANK = {s: i for i, s in enumerate(STATES)}
Basis = Literal["live", "walk_forward"]
#: Where a row's accuracy comes from: the recent labeled window, or training's walk-forward.
BASES: tuple[Basis, ...] = ("live", "walk_forward")
#: Drift decisions that say nothing about the model yet.
_UNDECIDED = frozenset({"insufficient_data", "no_baseline"})
#: Rows per page by default, and at most.
PAGE = 100
MAX_PAGE = 1000


@dataclass(frozen=True)
class TickerFacts:
    """What the store holds about one ticker (None: nothing recorded).

    Attributes:
        ticker: The symbol.
        checked_as_of: Session of the latest drift check.
        decision: Its decision (drift, no_drift, cooldown, insufficient_data, no_baseline).
        drifted: Whether it decided drift.
        breach_streak: Breaching sessions in a row ending at that check.
        volatility_changed: The check report's volatility flag (None: not recorded).
        model_degraded: The check report's degradation flag (None: not recorded).
        sessions: Labeled target sessions in the recent window behind the metrics below.
        mse: Mean squared error of the forecasts over those sessions.
        naive_mse: Mean squared error of the naive forecast over the same sessions.
        coverage: Share of those actuals inside the 95% interval.
        interval_score: Mean 95% interval (Winkler) score over those sessions.
        naive_interval_score: Naive's, with the model's half-widths.
        crps: Mean CRPS of the normal served.
        naive_crps: Naive's.
        direction_accuracy: Share of sessions whose forecast move had the actual's sign.
        direction_sessions: Sessions counted for it (ties left out).
        direction_pvalue: Its two-sided binomial p-value against 50%.
        pending: Predictions still waiting for their actual close.
        oldest_pending: Target session of the oldest of them.
        last_retrain: Session (or date) of the latest retrain decision.
        last_retrain_action: promote, reject or failed.
        last_promotion: Session (or date) of the latest promotion or rollback.
        last_price: The latest stored close's session.
    """

    ticker: str
    checked_as_of: dt.date | None = None
    decision: str | None = None
    drifted: bool = False
    breach_streak: int | None = None
    volatility_changed: bool | None = None
    model_degraded: bool | None = None
    sessions: int = 0
    mse: float | None = None
    naive_mse: float | None = None
    coverage: float | None = None
    interval_score: float | None = None
    naive_interval_score: float | None = None
    crps: float | None = None
    naive_crps: float | None = None
    direction_accuracy: float | None = None
    direction_sessions: int = 0
    direction_pvalue: float | None = None
    pending: int = 0
    oldest_pending: dt.date | None = None
    last_retrain: dt.date | None = None
    last_retrain_action: str | None = None
    last_promotion: dt.date | None = None
    last_price: dt.date | None = None


@dataclass(frozen=True)
class ChampionInfo:
    """The served model of a ticker: registry version, label, and its walk-forward scores."""

    version: int
    order: str | None = None
    walk_forward: WalkForwardScores | None = None


@dataclass(frozen=True)
class FleetRow:
    """One ticker's line of the overview; every float is finite or None."""

    ticker: str
    state: State
    problems: tuple[State, ...]
    model_version: int | None
    model_order: str | None
    skill: float | None
    rmse: float | None
    naive_rmse: float | None
    coverage: float | None
    interval_score: float | None
    naive_interval_score: float | None
    crps: float | None
    naive_crps: float | None
    direction_accuracy: float | None
    direction_sessions: int
    direction_pvalue: float | None
    sessions: int
    #: "live" (the recent labeled window), "walk_forward" (training's test period: no live
    #: labels yet) or None (no accuracy at all).
    basis: Basis | None
    #: Sessions behind the accuracy columns: the live window's, or the walk-forward test's
    #: (None when the version did not record it).
    basis_sessions: int | None
    #: Diebold-Mariano p-value vs naive (walk-forward rows; the live window has too few).
    dm_pvalue: float | None
    #: The champion's skill over its walk-forward test period, whatever the basis.
    walk_forward_skill: float | None
    drift: str | None
    breach_streak: int | None
    checked_as_of: dt.date | None
    volatility_changed: bool | None
    model_degraded: bool | None
    last_retrain: dt.date | None
    last_retrain_action: str | None
    last_promotion: dt.date | None
    pending_labels: int
    oldest_pending: dt.date | None
    labels_late: bool
    last_price: dt.date | None
    prices_behind: int | None
    #: Where a static source's prices for the ticker end (None: a live source); the ticker
    #: is measured against it rather than the calendar.
    source_end: dt.date | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings, tuples as lists."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, dt.date):
                out[key] = value.isoformat()
            elif isinstance(value, tuple):
                out[key] = list(value)
        return out


#: Columns a page can be sorted by (`state` is the problems-first order).
COLUMNS: tuple[str, ...] = tuple(
    name for name in FleetRow.__dataclass_fields__ if name not in ("problems",)
)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _root(mse: float | None) -> float | None:
    mse = _finite(mse)
    return math.sqrt(mse) if mse is not None and mse >= 0 else None


def classify(
    facts: TickerFacts,
    *,
    champion: ChampionInfo | None,
    due: dt.date | None,
    prices_behind: int | None,
    source_end: dt.date | None = None,
) -> FleetRow:
    """One overview row from a ticker's facts.

    Args:
        facts: What the store holds about the ticker.
        champion: Its served model, None when it has none.
        due: The ticker's due session (`stocky.core.freshness.ticker_due`: the calendar's,
            or where a static source ends; None: unknown, so the ticker is not called stale
            or late).
        prices_behind: Sessions after the last stored close up to `due` (None: unknown).
        source_end: Where a static source's prices for the ticker end (None: live source).

    Returns:
        The row, with its problems in urgency order and `state` the first of them (or ok).
    """
    rmse, naive_rmse = _root(facts.mse), _root(facts.naive_mse)
    skill = None
    if rmse is not None and naive_rmse:
        skill = _finite(1.0 - rmse / naive_rmse)
    walk = champion.walk_forward if champion else None
    accuracy: dict[str, Any] = {
        "skill": skill,
        "rmse": rmse,
        "naive_rmse": naive_rmse,
        "coverage": _finite(facts.coverage),
        "interval_score": _finite(facts.interval_score),
        "naive_interval_score": _finite(facts.naive_interval_score),
        "crps": _finite(facts.crps),
        "naive_crps": _finite(facts.naive_crps),
        "direction_accuracy": _finite(facts.direction_accuracy),
        "direction_sessions": facts.direction_sessions,
        "direction_pvalue": _finite(facts.direction_pvalue),
        "basis": "live" if facts.sessions > 0 else None,
        "basis_sessions": facts.sessions if facts.sessions > 0 else None,
        "dm_pvalue": None,
    }
    if facts.sessions == 0 and walk is not None:
        accuracy = {
            "skill": walk.skill,
            "rmse": walk.rmse,
            "naive_rmse": walk.naive_rmse,
            "coverage": walk.coverage,
            "interval_score": walk.interval_score,
            "naive_interval_score": walk.naive_interval_score,
            "crps": walk.crps,
            "naive_crps": walk.naive_crps,
            "direction_accuracy": walk.direction_accuracy,
            "direction_sessions": walk.sessions or 0,
            "direction_pvalue": walk.direction_pvalue,
            "basis": "walk_forward",
            "basis_sessions": walk.sessions,
            "dm_pvalue": walk.dm_pvalue,
        }
    late = labels_late(facts.oldest_pending, due)
    stale = prices_stale(facts.last_price, due)
    problems: list[State] = []
    if facts.decision == "drift" or facts.drifted or facts.model_degraded:
        problems.append("degraded")
    if stale:
        problems.append("stale_prices")
    if late:
        problems.append("labels_late")
    if facts.volatility_changed:
        problems.append("volatility")
    if facts.decision is None or facts.decision in _UNDECIDED:
        problems.append("unchecked")
    return FleetRow(
        ticker=facts.ticker,
        state=problems[0] if problems else "ok",
        problems=tuple(problems),
        model_version=champion.version if champion else None,
        model_order=champion.order if champion else None,
        sessions=facts.sessions,
        walk_forward_skill=walk.skill if walk is not None else None,
        **accuracy,
        drift=facts.decision,
        breach_streak=facts.breach_streak,
        checked_as_of=facts.checked_as_of,
        volatility_changed=facts.volatility_changed,
        model_degraded=facts.model_degraded,
        last_retrain=facts.last_retrain,
        last_retrain_action=facts.last_retrain_action,
        last_promotion=facts.last_promotion,
        pending_labels=facts.pending,
        oldest_pending=facts.oldest_pending,
        labels_late=late,
        last_price=facts.last_price,
        prices_behind=prices_behind,
        source_end=source_end,
    )


def _default_key(row: FleetRow) -> tuple[int, int, float, str]:
    skill = row.skill
    return (_RANK[row.state], skill is None, skill if skill is not None else 0.0, row.ticker)


def problems_first(rows: Sequence[FleetRow]) -> list[FleetRow]:
    """State (most urgent first), then the worst skill, then the ticker."""
    return sorted(rows, key=_default_key)


def state_counts(rows: Sequence[FleetRow]) -> dict[str, int]:
    """Tickers per problem (a ticker with two problems counts in both), `ok` for none."""
    counts: dict[str, int] = dict.fromkeys(STATES, 0)
    for row in rows:
        for problem in row.problems or ("ok",):
            counts[problem] += 1
    return counts


@dataclass(frozen=True)
class FleetPage:
    """One page of the overview."""

    rows: tuple[FleetRow, ...]
    total: int  # rows matching the filter, on every page
    offset: int
    next_offset: int | None  # None on the last page


def _validate(states: Collection[str], sort: str, limit: int, offset: int) -> None:
    unknown = sorted(set(states) - set(STATES))
    if unknown:
        raise BadInput(f"state {unknown[0]!r} is unknown: use one of {', '.join(STATES)}")
    if sort not in COLUMNS:
        raise BadInput(f"sort {sort!r} is not a column: use one of {', '.join(COLUMNS)}")
    if not 1 <= limit <= MAX_PAGE:
        raise BadInput(f"limit {limit} is out of range: use 1 to {MAX_PAGE}")
    if offset < 0:
        raise BadInput(f"offset {offset} is negative: use 0 or more")


def _sort_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def filter_rows(
    rows: Sequence[FleetRow], *, states: Collection[str] = (), text: str = ""
) -> list[FleetRow]:
    """The rows with any of `states` as a problem (`ok`: rows with none) whose ticker holds
    `text` (case-insensitive), in problems-first order; empty filters keep every row."""
    wanted = set(states)
    needle = text.strip().upper()
    return [
        r
        for r in problems_first(rows)
        if (not wanted or wanted & set(r.problems) or ("ok" in wanted and r.state == "ok"))
        and needle in r.ticker
    ]


def sort_rows(rows: Sequence[FleetRow], *, sort: str, descending: bool = False) -> list[FleetRow]:
    """Rows (in problems-first order) sorted by a column of COLUMNS; missing values last
    either way, ties in the given order; `state` keeps (or reverses) the given order."""
    if sort == "state":
        return list(rows[::-1] if descending else rows)
    present = [r for r in rows if getattr(r, sort) is not None]
    missing = [r for r in rows if getattr(r, sort) is None]
    present.sort(key=lambda r: _sort_value(getattr(r, sort)), reverse=descending)
    return present + missing


def select_rows(
    rows: Sequence[FleetRow],
    *,
    states: Collection[str] = (),
    sort: str = "state",
    descending: bool = False,
    limit: int = PAGE,
    offset: int = 0,
) -> FleetPage:
    """Filter, sort and page the overview.

    Args:
        rows: Every row of the fleet.
        states: Keep rows with any of these problems (`ok`: rows with none); empty keeps all.
        sort: A column of COLUMNS; `state` is the problems-first order. Missing values sort
            last either way; ties keep the problems-first order.
        descending: Reverse the column's order.
        limit: Rows per page, 1 to MAX_PAGE.
        offset: Rows to skip.

    Returns:
        The page, the number of matching rows and the next page's offset.

    Raises:
        BadInput: An unknown state or column, or a limit or offset out of range.
    """
    _validate(states, sort, limit, offset)
    ordered = sort_rows(filter_rows(rows, states=states), sort=sort, descending=descending)
    page = ordered[offset : offset + limit]
    end = offset + len(page)
    return FleetPage(
        rows=tuple(page),
        total=len(ordered),
        offset=offset,
        next_offset=end if end < len(ordered) else None,
    )
