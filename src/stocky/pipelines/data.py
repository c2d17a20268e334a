"""Bring stored prices up to date from a price source."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd

from stocky.adapters.ports import PriceStore
from stocky.adapters.prices.base import PriceSource
from stocky.errors import DataUnavailable

__all__ = ["PullResult", "load_or_pull", "pull_prices"]

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
    """

    ticker: str
    source_name: str
    rows_added: int
    first: dt.date | None
    last: dt.date | None


def pull_prices(
    *,
    source: PriceSource,
    repo: PriceStore,
    ticker: str,
    end: dt.date | None = None,
    start: dt.date | None = None,
    now: dt.datetime,
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

    Returns:
        A PullResult; `rows_added` is 0 when the store already reaches `end`.

    Raises:
        DataUnavailable: The source has nothing for the ticker and range.
        BadInput: The source sent invalid rows.
        StoreError: The database failed.
    """
    ticker = ticker.strip().upper()
    stored_last = repo.last_date(ticker)
    if stored_last is not None and end is not None and stored_last >= end:
        log.info("%s already stored through %s; nothing to pull", ticker, stored_last)
        return PullResult(ticker, source.name, 0, None, None)
    fetch_start = start
    if stored_last is not None:
        fetch_start = stored_last if start is None else max(start, stored_last)
    frame = source.fetch(ticker, fetch_start, end)
    repo.upsert(ticker, frame, source=source.name, fetched_at=now)
    added = frame["date"]
    if stored_last is not None:
        added = added[added > pd.Timestamp(stored_last)]
    first = added.iloc[0].date() if len(added) else None
    last = added.iloc[-1].date() if len(added) else None
    log.info("%s: %d new sessions from %s (%s .. %s)", ticker, len(added), source.name, first, last)
    return PullResult(ticker, source.name, len(added), first, last)


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
    ticker = ticker.strip().upper()
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
