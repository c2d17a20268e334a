"""Daily prices from Yahoo Finance through `yfinance.download`.

Choices made explicit:

- `auto_adjust=False` and the `Close` column: stocky forecasts the price a user sees quoted
  for the session. Adjusted closes are rewritten backwards after every dividend or split, so
  stored history and logged predictions would silently stop matching the source; raw closes
  never change once the session is over. (`Adj Close` is ignored.)
- yfinance's `end` is exclusive; this source's `end` is inclusive, so it asks for `end + 1 day`.
- Retries: yfinance swallows most network and rate-limit failures and returns an empty frame
  instead, so an empty frame is retried like `ConnectionError`/`TimeoutError`/`OSError` (and
  yfinance's own exceptions), with exponential backoff `backoff * 2**attempt`. An unknown
  symbol therefore costs the full backoff before DataUnavailable; that is the price of not
  mistaking a rate limit for a missing ticker.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from stocky.adapters.prices.base import normalise_frame, select_range
from stocky.core.tickers import normalize_ticker
from stocky.errors import DataUnavailable

__all__ = ["STALE_AFTER_DAYS", "YahooSource"]

log = logging.getLogger(__name__)

STALE_AFTER_DAYS = 5
"""The last bar may trail the asked-for `end` by at most this many calendar days."""

_FIELDS = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume"}
_OFFLINE_HINT = "or use STOCKY_PRICE_SOURCE=bundled to work offline"


def _is_transient(exc: BaseException) -> bool:
    """Network-ish failures worth retrying (yfinance's own errors included, by module)."""
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return True
    return type(exc).__module__.startswith("yfinance")


class YahooSource:
    """Fetch daily prices from Yahoo Finance.

    Args:
        timeout: Seconds yfinance waits for each HTTP response.
        retries: Extra attempts after the first one fails or comes back empty.
        backoff: Seconds before the first retry; doubled before each further retry.
        download: Replacement for `yfinance.download` (tests pass a fake).
        sleep: Replacement for `time.sleep` (tests pass a recorder).
    """

    name = "yahoo"

    def __init__(
        self,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 1.0,
        download: Callable[..., pd.DataFrame | None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._download = download
        self._sleep = sleep

    def tickers(self) -> list[str]:
        """Yahoo cannot list its symbols: always empty."""
        return []

    def ends(self, ticker: str) -> None:
        """None: Yahoo is live, its prices grow with the calendar."""
        return None

    def fetch(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        """Daily raw prices for `ticker` with `start <= date <= end`.

        Raises:
            DataUnavailable: Yahoo was unreachable after every retry, returned nothing, or
                its data stops more than `STALE_AFTER_DAYS` before `end`.
            BadInput: Yahoo returned rows that fail validation.
        """
        symbol = normalize_ticker(ticker)
        span = f"{start or 'the first session'} .. {end or 'the latest session'}"
        raw = self._download_with_retries(symbol, start, end, span)
        frame = normalise_frame(_flatten(raw, symbol), ticker=symbol, source=self.name)
        frame = select_range(frame, start, end)
        if frame.empty:
            raise DataUnavailable(
                f"Yahoo has no prices for {symbol} in {span}: check the range, {_OFFLINE_HINT}"
            )
        last = frame["date"].iloc[-1].date()
        if end is not None and last < end - dt.timedelta(days=STALE_AFTER_DAYS):
            raise DataUnavailable(
                f"Yahoo prices for {symbol} stop at {last}, more than {STALE_AFTER_DAYS} days "
                f"before the asked end {end} (span {span}): the symbol may be delisted or "
                f"Yahoo is lagging; try again later, {_OFFLINE_HINT}"
            )
        return frame

    def _download_with_retries(
        self, symbol: str, start: dt.date | None, end: dt.date | None, span: str
    ) -> pd.DataFrame:
        download = self._download or _yfinance_download()
        kwargs: dict[str, Any] = {
            "interval": "1d",
            "auto_adjust": False,
            "actions": False,
            "progress": False,
            "multi_level_index": True,
            "threads": False,
            "timeout": self.timeout,
            "end": None if end is None else end + dt.timedelta(days=1),
        }
        if start is None:
            kwargs["period"] = "max"
        else:
            kwargs["start"] = start
        attempts = self.retries + 1
        failure = "an empty frame"
        for attempt in range(attempts):
            if attempt:
                delay = self.backoff * 2 ** (attempt - 1)
                log.info("Yahoo retry %d/%d for %s in %.1fs", attempt, self.retries, symbol, delay)
                self._sleep(delay)
            try:
                raw = download(symbol, **kwargs)
            except Exception as exc:
                if not _is_transient(exc):
                    raise
                failure = f"{type(exc).__name__}: {exc}"
                log.warning("Yahoo download of %s failed: %s", symbol, failure)
                continue
            if raw is not None and not raw.dropna(how="all").empty:
                return raw
            failure = "an empty frame"
        raise DataUnavailable(
            f"Yahoo gave no prices for {symbol} ({span}) after {attempts} attempt(s); last "
            f"result: {failure}. Check the symbol is spelled as on Yahoo (e.g. ^GSPC, BRK-B) "
            f"and the network is up, {_OFFLINE_HINT}"
        )


def _yfinance_download() -> Callable[..., pd.DataFrame | None]:
    import yfinance

    download: Callable[..., pd.DataFrame | None] = yfinance.download
    return download


def _flatten(raw: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """Turn yfinance's columns (flat, or MultiIndex Price x Ticker) into OHLCV + date."""
    frame = raw
    if isinstance(frame.columns, pd.MultiIndex):
        price_level = next(
            (i for i in range(frame.columns.nlevels) if "Close" in frame.columns.levels[i]),
            0,
        )
        other = [i for i in range(frame.columns.nlevels) if i != price_level]
        if len(other) == 1:
            names = list(dict.fromkeys(map(str, frame.columns.get_level_values(other[0]))))
            if symbol not in names:
                raise DataUnavailable(
                    f"Yahoo answered for {', '.join(names)}, not {symbol}: "
                    f"check the symbol, {_OFFLINE_HINT}"
                )
            frame = frame.xs(symbol, axis=1, level=other[0])
        else:
            frame = frame.droplevel(other, axis=1)
    missing = [c for c in ("Close",) if c not in frame.columns]
    if missing:
        raise DataUnavailable(
            f"Yahoo's answer for {symbol} has no Close column (columns: "
            f"{', '.join(map(str, frame.columns))}): try again later, {_OFFLINE_HINT}"
        )
    out = pd.DataFrame(index=frame.index)
    for source_col, col in _FIELDS.items():
        out[col] = frame[source_col] if source_col in frame.columns else frame["Close"]
    if "Volume" not in frame.columns:
        out["volume"] = float("nan")
    out.index = pd.DatetimeIndex(out.index)
    return out.rename_axis("date").reset_index()
