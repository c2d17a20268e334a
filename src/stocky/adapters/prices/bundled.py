"""Real daily prices that ship inside installed packages, so stocky works fully offline.

- `^GSPC` (S&P 500) and `^IXIC` (NASDAQ Composite), 1999-01-04 .. 2018-12-31, from `arch`.
- `MSFT`, 1986-03-13 .. 2017-11-10, from `pmdarima`.
- `AAPL`, `IBM` (2000-03-01 .. 2013-03-01), `GOOG` (2004-08-19 ..) and `FB` (2012-05-18 ..,
  196 sessions: too short to train with the default sizes), from `bokeh_sampledata.stocks`
  (Quandl WIKI prices, public domain). That package also has an MSFT series (2000-2013); the
  pmdarima one wins the name `MSFT` because it is longer (1986-2017) and already split-adjusted.

Which close is modelled: for the indices, `Close` (an index has no splits or dividends, so raw
and adjusted are the same). For the bokeh stocks, the split- and dividend-adjusted close
(`adj_close`), with open, high and low scaled by the same factor per day: a returns model needs
a series in which a 2:1 split is not a -50% day (raw AAPL halves on 2005-02-28 and on
2000-06-21), and adjusted history is what a stock's chart shows today. pmdarima's MSFT ships
split-adjusted already (its 1986 closes are about $0.07). Volume is kept as traded.
`BundledSource(closes="raw")` serves the raw bokeh closes instead (stored under the source name
`bundled-raw`), e.g. to see the quality gate flag AAPL's splits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Literal

import pandas as pd

from stocky.adapters.prices.base import normalise_frame, select_range
from stocky.core.tickers import normalize_ticker
from stocky.errors import BadInput, DataUnavailable

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


def _load_bokeh(ticker: str, *, adjusted: bool) -> pd.DataFrame:
    from bokeh_sampledata import stocks

    raw = pd.DataFrame(getattr(stocks, ticker))
    frame = pd.DataFrame(
        {
            "Date": pd.to_datetime(raw["date"]),
            "Open": raw["open"],
            "High": raw["high"],
            "Low": raw["low"],
            "Close": raw["close"],
            "Volume": raw["volume"],
        }
    )
    if adjusted:
        factor = raw["adj_close"] / raw["close"]
        for col in ("Open", "High", "Low"):
            frame[col] = frame[col] * factor
        frame["Close"] = raw["adj_close"]
    return frame.set_index("Date")


_BOKEH_TICKERS = ("AAPL", "GOOG", "IBM", "FB")
_LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    "^GSPC": _load_sp500,
    "^IXIC": _load_nasdaq,
    "MSFT": _load_msft,
    **{t: partial(_load_bokeh, t, adjusted=True) for t in _BOKEH_TICKERS},
}
_RAW_LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    t: partial(_load_bokeh, t, adjusted=False) for t in _BOKEH_TICKERS
}
BUNDLED_TICKERS: tuple[str, ...] = tuple(_LOADERS)


class BundledSource:
    """Serve the bundled datasets; each is loaded once per instance, on first use.

    Args:
        closes: "adjusted" (default) serves split- and dividend-adjusted stock prices; "raw"
            serves the stocks' prices as traded (the indices and MSFT are the same either way).
    """

    def __init__(self, closes: Literal["adjusted", "raw"] = "adjusted") -> None:
        if closes not in ("adjusted", "raw"):
            raise BadInput(f"closes={closes!r}: pass 'adjusted' or 'raw'")
        self.closes = closes
        self.name = "bundled" if closes == "adjusted" else "bundled-raw"
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

    def ends(self, ticker: str) -> dt.date:
        """The last bundled session of `ticker` (the data ends there: ^GSPC on 2018-12-31).

        Raises:
            DataUnavailable: The ticker is not bundled.
        """
        last: pd.Timestamp = self._full(ticker)["date"].iloc[-1]
        return last.date()

    def describe(self) -> list[tuple[str, dt.date, dt.date, int]]:
        """One `(ticker, first date, last date, rows)` per bundled ticker."""
        rows = []
        for ticker in BUNDLED_TICKERS:
            full = self._full(ticker)
            first, last = full["date"].iloc[[0, -1]]
            rows.append((ticker, first.date(), last.date(), len(full)))
        return rows

    def _full(self, ticker: str) -> pd.DataFrame:
        key = normalize_ticker(ticker)
        if key not in _LOADERS:
            raise DataUnavailable(
                f"{ticker!r} is not bundled; bundled tickers are {', '.join(BUNDLED_TICKERS)}: "
                "use one of those, or STOCKY_PRICE_SOURCE=yahoo (online) or csv for others"
            )
        if key not in self._cache:
            loader = _RAW_LOADERS.get(key) if self.closes == "raw" else None
            raw = (loader or _LOADERS[key])()
            if "Date" in raw.columns:
                raw = raw.set_index("Date")
            raw = raw.loc[:, ["Open", "High", "Low", "Close", "Volume"]].rename_axis("date")
            self._cache[key] = normalise_frame(raw, ticker=key, source=self.name)
        return self._cache[key]
