"""Bring stored prices up to date from a price source, one ticker or many at once.

Prices are validated by the source before anything is stored (see `adapters.prices.base`: a
bad or implausible row is an error naming it), and each store call is one transaction, so a
failed load leaves none of its rows behind. `replace=True` swaps a ticker's stored history for
the source's in one transaction: the way to repair a store loaded before a fix to the file.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from stocky.adapters.ports import PriceStore
from stocky.adapters.prices.base import PriceSource
from stocky.core.tickers import normalize_ticker
from stocky.errors import DataUnavailable, StockyError

__all__ = ["PullReport", "PullResult", "load_or_pull", "pull_many", "pull_prices"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PullResult:
    """What one pull did.

    Attributes:
        ticker: The ticker pulled.
        source_name: The source that served the rows (`yahoo`, `bundled`, `csv`), or the
            configured name when nothing had to be fetched.
        rows_added: Sessions that were not stored before.
        first: First newly added session, None when nothing was added.
        last: Last newly added session, None when nothing was added.
        replaced: True when the ticker's stored rows were replaced (then `rows_added`
            counts every row now stored, and first/last span them).
        through: Latest stored session after the pull, when known.
    """

    ticker: str
    source_name: str
    rows_added: int
    first: dt.date | None
    last: dt.date | None
    replaced: bool = False
    through: dt.date | None = None


@dataclass(frozen=True)
class PullReport:
    """What a pull of many tickers did: one result per stored ticker, one error per failure.

    Attributes:
        results: Per-ticker results, in the order asked.
        failures: Ticker -> the error that stopped it (nothing of it was stored).
    """

    results: list[PullResult] = field(default_factory=list)
    failures: dict[str, StockyError] = field(default_factory=dict)


def pull_prices(
    *,
    source: PriceSource,
    repo: PriceStore,
    ticker: str,
    end: dt.date | None = None,
    start: dt.date | None = None,
    now: dt.datetime,
    replace: bool = False,
) -> PullResult:
    """Fetch the sessions missing after the last stored one and store them.

    With nothing stored, the full history from `start` (or the source's first session) is
    fetched. Otherwise the fetch starts at the last stored session: re-fetching that one bar
    means an up-to-date store still gets a non-empty answer, and a bar stored while its
    session was still open is replaced by the final one.

    Args:
        source: Where prices come from.
        repo: Where prices are stored.
        ticker: The ticker (upper-cased).
        end: Last session wanted (inclusive); None means the latest the source has.
        start: First session wanted when nothing is stored yet (ignored otherwise, unless
            it is after the last stored session).
        now: When the pull happens, stored as `fetched_at`.
        replace: Fetch the whole history from `start` and replace every stored row of the
            ticker with it, in one transaction (the stored rows stay if anything fails).

    Returns:
        A PullResult; `rows_added` is 0 when the store already reaches `end`.

    Raises:
        DataUnavailable: The source has nothing for the ticker and range.
        BadInput: The source sent invalid rows.
        StoreError: The database failed.
    """
    ticker = normalize_ticker(ticker)
    if replace:
        frame = source.fetch(ticker, start, end)
        repo.replace(ticker, frame, source=source.name, fetched_at=now)
        return _replaced(ticker, source.name, frame)
    stored_last = repo.last_date(ticker)
    if stored_last is not None and end is not None and stored_last >= end:
        log.info("%s already stored through %s; nothing to pull", ticker, stored_last)
        return PullResult(ticker, source.name, 0, None, None, through=stored_last)
    frame = source.fetch(ticker, _fetch_start(start, stored_last), end)
    repo.upsert(ticker, frame, source=source.name, fetched_at=now)
    return _added(ticker, source.name, frame, stored_last)


def pull_many(
    *,
    source: PriceSource,
    repo: PriceStore,
    tickers: Iterable[str],
    end: dt.date | None = None,
    start: dt.date | None = None,
    now: dt.datetime,
    replace: bool = False,
) -> PullReport:
    """Pull many tickers: one query for what is stored, one transaction to store them all.

    Each ticker is fetched (and so validated) on its own; a ticker whose fetch fails is
    reported in `failures` and the rest are stored. The rows of every fetched ticker are then
    written set-based in one transaction (`PriceStore.store_many`).

    Args:
        source: Where prices come from.
        repo: Where prices are stored.
        tickers: Tickers to pull (normalised; repeats are pulled once).
        end: Last session wanted (inclusive); None means the latest the source has.
        start: First session wanted when a ticker has nothing stored (or with `replace`).
        now: When the pull happens, stored as `fetched_at`.
        replace: Replace each fetched ticker's stored rows (see `pull_prices`).

    Returns:
        A PullReport.

    Raises:
        StoreError: The database failed (nothing of this pull is stored then).
    """
    report = PullReport()
    stored = {} if replace else repo.last_dates()
    frames: dict[str, pd.DataFrame] = {}
    pending: list[PullResult] = []
    for name in dict.fromkeys(tickers):
        try:
            ticker = normalize_ticker(name)
            stored_last = stored.get(ticker)
            if stored_last is not None and end is not None and stored_last >= end:
                pending.append(PullResult(ticker, source.name, 0, None, None, through=stored_last))
                continue
            frame = source.fetch(
                ticker, start if replace else _fetch_start(start, stored_last), end
            )
        except StockyError as exc:
            log.warning("%s: not pulled: %s", name, exc)
            report.failures[name] = exc
            continue
        frames[ticker] = frame
        pending.append(
            _replaced(ticker, source.name, frame)
            if replace
            else _added(ticker, source.name, frame, stored_last)
        )
    repo.store_many(frames, source=source.name, fetched_at=now, replace=replace)
    report.results.extend(pending)
    return report


def _fetch_start(start: dt.date | None, stored_last: dt.date | None) -> dt.date | None:
    """Refetch the last stored bar (a bar stored mid-session is replaced by the final one)."""
    if stored_last is None:
        return start
    return stored_last if start is None else max(start, stored_last)


def _added(
    ticker: str, source_name: str, frame: pd.DataFrame, stored_last: dt.date | None
) -> PullResult:
    added = frame["date"]
    if stored_last is not None:
        added = added[added > pd.Timestamp(stored_last)]
    first = added.iloc[0].date() if len(added) else None
    last = added.iloc[-1].date() if len(added) else None
    through = frame["date"].iloc[-1].date() if len(frame) else stored_last
    if stored_last is not None and through is not None:
        through = max(through, stored_last)
    if len(added):
        log.info(
            "%s: %d new sessions from %s (%s .. %s)", ticker, len(added), source_name, first, last
        )
    else:
        log.debug("%s: no new sessions from %s (stored through %s)", ticker, source_name, through)
    return PullResult(ticker, source_name, len(added), first, last, through=through)


def _replaced(ticker: str, source_name: str, frame: pd.DataFrame) -> PullResult:
    first, last = frame["date"].iloc[0].date(), frame["date"].iloc[-1].date()
    log.info("%s: stored prices replaced by %d rows from %s", ticker, len(frame), source_name)
    return PullResult(ticker, source_name, len(frame), first, last, replaced=True, through=last)


def load_or_pull(
    *,
    source: PriceSource,
    repo: PriceStore,
    ticker: str,
    end: dt.date | None = None,
    now: dt.datetime,
) -> pd.DataFrame:
    """Stored prices for `ticker` through `end`, pulling first when the store falls short.

    A pull happens when nothing is stored, when `end` is None (the latest is wanted) or when
    the last stored session is before `end`.

    Args:
        source: Where missing prices come from.
        repo: Where prices are stored.
        ticker: The ticker (upper-cased).
        end: Last session wanted (inclusive); None means the latest.
        now: When the pull happens.

    Returns:
        The stored price frame up to `end`.

    Raises:
        DataUnavailable: Nothing is stored and the source has nothing either.
        BadInput: The source sent invalid rows.
        StoreError: The database failed.
    """
    ticker = normalize_ticker(ticker)
    stored_last = repo.last_date(ticker)
    if stored_last is None or end is None or stored_last < end:
        pull_prices(source=source, repo=repo, ticker=ticker, end=end, now=now)
    frame = repo.load(ticker, end=end)
    if frame.empty:
        raise DataUnavailable(
            f"no stored prices for {ticker} up to {end or 'today'}: run `stocky data pull "
            f"--ticker {ticker}` or choose another STOCKY_PRICE_SOURCE"
        )
    return frame
