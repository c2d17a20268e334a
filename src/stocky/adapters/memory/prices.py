"""The price store port in DataFrames: one frame per ticker, one row per session.

Rows are stored as the SQL store stores them (a date without its time, volume rounded to a
whole number), so a frame loads back the same from either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from stocky.adapters.ports import PriceSummary
from stocky.adapters.prices.base import PRICE_COLUMNS, empty_price_frame, select_range

__all__ = ["MemoryPriceStore"]

_STORED = [*PRICE_COLUMNS, "source"]


class MemoryPriceStore:
    """Daily prices per ticker in one process (see `ports.PriceStore`)."""

    def __init__(self) -> None:
        self._frames: dict[str, pd.DataFrame] = {}
        self._closes: dict[str, dict[dt.date, float]] = {}  # built on read, dropped on write

    def upsert(
        self, ticker: str, frame: pd.DataFrame, *, source: str, fetched_at: dt.datetime
    ) -> int:
        return self.store_many({ticker: frame}, source=source, fetched_at=fetched_at)

    def replace(
        self, ticker: str, frame: pd.DataFrame, *, source: str, fetched_at: dt.datetime
    ) -> int:
        return self.store_many({ticker: frame}, source=source, fetched_at=fetched_at, replace=True)

    def store_many(
        self,
        frames: Mapping[str, pd.DataFrame],
        *,
        source: str,
        fetched_at: dt.datetime,
        replace: bool = False,
    ) -> int:
        rows = {t: _stored(f, source) for t, f in frames.items()}  # all checked, then written
        for ticker, new in rows.items():
            self._closes.pop(ticker, None)
            old = None if replace else self._frames.get(ticker)
            both = new if old is None or old.empty else pd.concat([old, new], ignore_index=True)
            both = both.drop_duplicates("date", keep="last").sort_values("date", kind="stable")
            if both.empty:
                self._frames.pop(ticker, None)
            else:
                self._frames[ticker] = both.reset_index(drop=True)
        return sum(len(f) for f in frames.values())

    def load(
        self,
        ticker: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        *,
        last: int | None = None,
    ) -> pd.DataFrame:
        stored = self._frames.get(ticker)
        if stored is None:
            return empty_price_frame()
        frame = select_range(stored[list(PRICE_COLUMNS)], start, end)
        if last is not None:
            frame = frame.tail(last).reset_index(drop=True)
        return empty_price_frame() if frame.empty else frame

    def load_many(
        self,
        tickers: Sequence[str],
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> dict[str, pd.DataFrame]:
        return {t: self.load(t, start, end) for t in tickers}

    def last_date(self, ticker: str) -> dt.date | None:
        frame = self._frames.get(ticker)
        return None if frame is None else frame["date"].iloc[-1].date()

    def last_dates(self) -> dict[str, dt.date]:
        return {t: f["date"].iloc[-1].date() for t, f in self._frames.items()}

    def summary(self) -> list[PriceSummary]:
        return [
            PriceSummary(
                t,
                f["date"].iloc[0].date(),
                f["date"].iloc[-1].date(),
                len(f),
                ",".join(sorted(set(f["source"]))),
            )
            for t, f in sorted(self._frames.items())
        ]

    def closes(self, ticker: str) -> Mapping[dt.date, float]:
        """Session -> stored close of `ticker` (the prediction log's window check reads it)."""
        found = self._closes.get(ticker)
        if found is None:
            frame = self._frames.get(ticker)
            found = (
                {}
                if frame is None
                else dict(zip(frame["date"].dt.date, frame["close"].tolist(), strict=True))
            )
            self._closes[ticker] = found
        return found


def _stored(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """The rows as the SQL store keeps them: date only, whole volumes, the source."""
    out = frame[list(PRICE_COLUMNS)].copy()
    out["date"] = pd.to_datetime(out["date"]).dt.normalize().astype("datetime64[ns]")
    for col in PRICE_COLUMNS[1:]:
        out[col] = pd.to_numeric(out[col]).astype("float64")
    out["volume"] = np.round(out["volume"].to_numpy())  # BigInteger; NaN stays unknown
    out["source"] = source
    return out[_STORED].reset_index(drop=True)
