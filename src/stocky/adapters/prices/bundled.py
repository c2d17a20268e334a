"""Real daily prices that ship inside installed packages, so stocky works fully offline.

- `^GSPC` (S&P 500) and `^IXIC` (NASDAQ Composite), 1999-01-04 .. 2018-12-31, from `arch`.
- `MSFT`, 1986-03-13 .. 2017-11-10, from `pmdarima`.

`close` is each dataset's `Close` column, never `Adj Close`. For the two indices that is the
raw close, as the Yahoo source serves; pmdarima's MSFT file ships split-adjusted prices only
(its 1986 closes are about $0.07), so no split-like jumps appear in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd

from stocky.adapters.prices.base import normalise_frame, select_range
from stocky.errors import DataUnavailable

__all__ = ["BUNDLED_TICKERS", "BundledSource"]


def _load_sp500() -> pd.DataFrame:
    from arch.data import sp500

    frame: pd.DataFrame = sp500.load()
    return frame


def _load_nasdaq() -> pd.DataFrame:
    from arch.data import nasdaq

    frame: pd.DataFrame = nasdaq.load()
    return frame


def _load_msft() -> pd.DataFrame:
    from pmdarima.datasets import load_msft

    frame: pd.DataFrame = load_msft()
    return frame


_LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    "^GSPC": _load_sp500,
    "^IXIC": _load_nasdaq,
    "MSFT": _load_msft,
}
BUNDLED_TICKERS: tuple[str, ...] = tuple(_LOADERS)


class BundledSource:
    """Serve the bundled datasets; each is loaded once per instance, on first use."""

    name = "bundled"

    def __init__(self) -> None:
        self._cache: dict[str, pd.DataFrame] = {}

    def tickers(self) -> list[str]:
        """The bundled tickers."""
        return list(BUNDLED_TICKERS)

    def fetch(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        """Bundled prices for `ticker` with `start <= date <= end`.

        Raises:
            DataUnavailable: The ticker is not bundled, or no session falls in the range.
        """
        full = self._full(ticker)
        frame = select_range(full, start, end)
        if frame.empty:
            first, last = full["date"].iloc[[0, -1]]
            raise DataUnavailable(
                f"bundled prices for {ticker} cover {first:%Y-%m-%d} .. {last:%Y-%m-%d}, "
                f"nothing between {start or 'the start'} and {end or 'the end'}: ask for a "
                "range inside that span, or use STOCKY_PRICE_SOURCE=yahoo for recent prices"
            )
        return frame

    def describe(self) -> list[tuple[str, dt.date, dt.date, int]]:
        """One `(ticker, first date, last date, rows)` per bundled ticker."""
        rows = []
        for ticker in BUNDLED_TICKERS:
            full = self._full(ticker)
            first, last = full["date"].iloc[[0, -1]]
            rows.append((ticker, first.date(), last.date(), len(full)))
        return rows

    def _full(self, ticker: str) -> pd.DataFrame:
        key = ticker.strip().upper()
        if key not in _LOADERS:
            raise DataUnavailable(
                f"{ticker!r} is not bundled; bundled tickers are {', '.join(BUNDLED_TICKERS)}: "
                "use one of those, or STOCKY_PRICE_SOURCE=yahoo (online) or csv for others"
            )
        if key not in self._cache:
            raw = _LOADERS[key]()
            if "Date" in raw.columns:
                raw = raw.set_index("Date")
            raw = raw.loc[:, ["Open", "High", "Low", "Close", "Volume"]].rename_axis("date")
            self._cache[key] = normalise_frame(raw, ticker=key, source=self.name)
        return self._cache[key]
