"""The daily job's steps for a fleet, set-based: a handful of queries per step, not several
per ticker.

- prices: one `last_dates` query, the missing sessions fetched per ticker, one transaction
  (`pull_many`);
- actuals: every ticker's pending rows in one query, their closes in one, one UPDATE batch;
  late labels from one `last_dates`, their alerts in one transaction;
- drift: champions from one registry listing (specs read by a few threads), labeled rows,
  promotion records and previous checks in one query each, every check and its alerts in
  one transaction;
- forecasts: existing forecasts in one query, every window in one, one `insert_many`.

One ticker is a fleet of one: `stocky daily`, replays and studies all run these steps. A
ticker whose source, champion or numbers fail is reported with its error and left out of the
later steps; the others go on.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd

from stocky.adapters.ports import Champion, ModelVersionInfo, PredictionRecord
from stocky.core.words import count
from stocky.errors import BadInput, StockyError
from stocky.pipelines.actuals import attach_actuals_many
from stocky.pipelines.alert_causes import queued
from stocky.pipelines.alerts import check_labels_late
from stocky.pipelines.daily import DailyDeps, TickerDay
from stocky.pipelines.data import pull_many
from stocky.pipelines.drift_fleet import check_drift_many
from stocky.pipelines.forecast import forecast_record
from stocky.pipelines.freshness import source_ends

__all__ = ["FleetDay", "Forecasts", "forecast_fleet", "load_champions", "run_daily_fleet"]

log = logging.getLogger(__name__)

#: Spec reads in flight at once (a remote registry answers each in tens of milliseconds).
LOAD_THREADS = 8


@dataclass
class FleetDay:
    """What the fleet steps did: a TickerDay per ticker that got through, an error per one
    that did not (nothing after the failed step was written for it)."""

    days: dict[str, TickerDay] = field(default_factory=dict)
    failed: dict[str, StockyError] = field(default_factory=dict)


@dataclass
class Forecasts:
    """Per ticker (forecast id, target) -- (id, None) when it was logged before, (None, None)
    without a champion or a close for the session -- or the error that stopped it."""

    logged: dict[str, tuple[int | None, dt.date | None]] = field(default_factory=dict)
    failed: dict[str, StockyError] = field(default_factory=dict)


def run_daily_fleet(
    deps: DailyDeps,
    *,
    tickers: Sequence[str],
    as_of: dt.date,
    now: dt.datetime,
    pull: bool = True,
    progress: Callable[[str], None] = lambda _m: None,
) -> FleetDay:
    """Pull, attach actuals, check late labels and drift for every ticker at once.

    Args:
        deps: Collaborators (`deps.champions` is filled from one registry listing).
        tickers: The tickers (normalised).
        as_of: The session whose close is the latest usable.
        now: The clock reading (recorded on rows).
        pull: Fetch missing prices from the source first.
        progress: Called with a short message per step.

    Returns:
        A FleetDay: each TickerDay has no retrain and no forecast yet.

    Raises:
        StoreError: The database failed (a step's writes are one transaction: all or none).
        RegistryError: The registry listing failed.
    """
    out = FleetDay()
    deps.no_champion.clear()  # listed again: a ticker may have been trained since
    pulled: dict[str, int] = dict.fromkeys(tickers, 0)
    if pull:
        progress(f"pulling prices for {count(len(tickers), 'ticker')}")
        report = pull_many(
            source=deps.source, repo=deps.prices, tickers=tickers, end=as_of, now=now
        )
        out.failed.update(report.failures)
        pulled.update({r.ticker: r.rows_added for r in report.results})
    live = [t for t in tickers if t not in out.failed]
    progress(f"attaching actuals for {count(len(live), 'ticker')}")
    actuals = attach_actuals_many(
        predictions=deps.predictions,
        prices=deps.prices,
        source=deps.source,
        tickers=live,
        as_of=as_of,
        now=now,
        failed=out.failed,
    )
    live = [t for t in live if t not in out.failed]
    _labels_late(deps, live, as_of=as_of, now=now)
    progress(f"checking drift for {count(len(live), 'ticker')}")
    champions = load_champions(deps, live, failed=out.failed)
    live = [t for t in live if t not in out.failed]
    checks = check_drift_many(
        predictions=deps.predictions,
        audit=deps.audit,
        calendar=deps.calendar,
        tickers=live,
        champions=champions,
        as_of=as_of,
        rule=deps.rule,
        now=now,
        detector=deps.detector,
        assessment=deps.assessment,
        alerts=deps.alerts,
    )
    out.failed.update(checks.failed)
    for t, drift in checks.outcomes.items():
        out.days[t] = TickerDay(t, as_of, pulled[t], actuals[t], drift, None, None, None)
    return out


def load_champions(
    deps: DailyDeps, tickers: Sequence[str], *, failed: dict[str, StockyError]
) -> dict[str, Champion]:
    """The champions of `tickers`: those held in `deps.champions`, the rest from one registry
    listing with their specs read by a few threads (added to `deps.champions`).

    A ticker whose spec cannot be read gets its error in `failed`; a ticker without a
    champion is left out (and remembered in `deps.no_champion` until the next run).

    Raises:
        RegistryError: The listing failed.
    """
    wanted = [t for t in tickers if t not in deps.champions and t not in deps.no_champion]
    if wanted:
        asked = set(wanted)
        infos = [i for i in deps.registry.champion_versions() if i.ticker in asked]
        deps.no_champion.update(asked - {i.ticker for i in infos})

        def load(info: ModelVersionInfo) -> Champion | StockyError:
            try:
                return Champion(deps.registry.load_version(info.ticker, info.version), info)
            except StockyError as exc:  # returned: reported for its ticker, the rest go on
                return exc

        if len(infos) > 1:
            with ThreadPoolExecutor(LOAD_THREADS, thread_name_prefix="stocky-spec") as pool:
                loaded = list(pool.map(load, infos))
        else:
            loaded = [load(i) for i in infos]
        for info, result in zip(infos, loaded, strict=True):
            if isinstance(result, StockyError):
                failed[info.ticker] = result
            else:
                deps.champions[info.ticker] = result
    return {t: deps.champions[t] for t in tickers if t in deps.champions}


class _LastDates:
    def __init__(self, dates: dict[str, dt.date]) -> None:
        self.dates = dates

    def last_date(self, ticker: str) -> dt.date | None:
        return self.dates.get(ticker)


def _labels_late(deps: DailyDeps, tickers: list[str], *, as_of: dt.date, now: dt.datetime) -> None:
    """`labels_late_alerts` for every ticker from one `last_dates` read, queued together."""
    found = check_labels_late(
        prices=_LastDates(deps.prices.last_dates()),
        calendar=deps.calendar,
        tickers=tickers,
        now=now,
        grace_hours=deps.alerts.labels_late_hours,
        pending=deps.predictions,
        source_end=source_ends(lambda: deps.source),
    )
    late = [
        queued(a, calendar=deps.calendar, config=deps.alerts) for a in found if a.session <= as_of
    ]
    if late:
        deps.audit.add_alerts(late, now=now)


def forecast_fleet(
    deps: DailyDeps,
    *,
    tickers: Sequence[str],
    as_of: dt.date,
    now: dt.datetime,
    source: str = "daily",
) -> Forecasts:
    """Log each champion's forecast for the session after `as_of` (once per day): existing
    forecasts and windows read in one query each, the new forecasts written in one transaction.

    Raises:
        StoreError: The database failed (no forecast of this call is stored then).
        RegistryError: The registry listing failed.
    """
    out = Forecasts()
    champions = load_champions(deps, tickers, failed=out.failed)
    with_champion = [t for t in tickers if t in champions]
    out.logged.update({t: (None, None) for t in tickers if t not in out.failed})
    existing = deps.predictions.find_many(with_champion, as_of=as_of, source=source)
    out.logged.update({t: (i, None) for t, i in existing.items()})
    todo = [t for t in with_champion if t not in existing]
    windows = _windows(deps, todo, as_of=as_of)
    target = deps.calendar.next_session(as_of) if todo else as_of
    records: list[PredictionRecord] = []
    for t in todo:
        frame, champ = windows[t], champions[t]
        if frame.empty or frame["date"].iloc[-1].date() != as_of:
            log.info("%s: no close stored for %s; no forecast logged", t, as_of)
            continue
        try:
            _forecast, record = forecast_record(
                forecaster=champ.spec.forecaster(),
                window=frame["close"].to_numpy(float),
                ticker=t,
                model_name=champ.name,
                model_version=champ.version,
                as_of=as_of,
                target=target,
                now=now,
                request_id=f"{source}-{uuid.uuid4().hex[:12]}",
                source=source,
            )
            record.validate()
        except StockyError as exc:
            out.failed[t] = exc
            out.logged.pop(t, None)
            continue
        records.append(record)
    for record, new_id in zip(records, _insert(deps, records, out), strict=True):
        if new_id is not None:
            out.logged[record.ticker] = (new_id, target)
    return out


def _windows(deps: DailyDeps, tickers: list[str], *, as_of: dt.date) -> dict[str, pd.DataFrame]:
    """Each ticker's last `max_prices` closes up to `as_of`, as `load(..., last=)` reads them.

    One range read from the session `max_prices - 1` sessions back: a ticker holding at least
    `max_prices` rows there has its window in it; one holding fewer (gaps) is read alone.
    """
    if not tickers:
        return {}
    n = deps.max_prices
    start = as_of
    for _ in range(n - 1):
        start = deps.calendar.previous_session(start)
    frames = deps.prices.load_many(tickers, start=start, end=as_of)
    return {
        t: f.tail(n).reset_index(drop=True)
        if len(f) >= n
        else deps.prices.load(t, end=as_of, last=n)
        for t, f in frames.items()
    }


def _insert(deps: DailyDeps, records: list[PredictionRecord], out: Forecasts) -> list[int | None]:
    """One transaction; when the database refuses a row's values, row by row (that ticker fails)."""
    if not records:
        return []
    try:
        return list(deps.predictions.insert_many(records))
    except BadInput:
        log.warning("a forecast was refused for its values: logging them one by one")
    ids: list[int | None] = []
    for record in records:
        try:
            ids.append(deps.predictions.insert(record))
        except BadInput as exc:
            out.failed[record.ticker] = exc
            out.logged.pop(record.ticker, None)
            ids.append(None)
    return ids
