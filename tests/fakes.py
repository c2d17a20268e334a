"""The in-memory backend (`stocky.adapters.memory`) under the names the tests know, a fake
price source, and a Stack of them, for fast offline pipeline tests.

The backend itself is checked against SQLite, PostgreSQL and MLflow by tests/contract/;
`FakeRegistry` only adds a record of the calls made to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from stocky.adapters.memory import (
    MemoryAuditLog,
    MemoryLeaderboard,
    MemoryPredictionLog,
    MemoryPriceStore,
    MemoryRegistry,
)
from stocky.adapters.ports import ModelVersionInfo, RunRecord
from stocky.adapters.prices.base import select_range
from stocky.config import Settings
from stocky.core.sessions import TradingCalendar
from stocky.core.spec import ModelSpec
from stocky.errors import DataUnavailable
from stocky.wiring import Stack, drift_rule

__all__ = [
    "FakeAuditLog",
    "FakePredictionLog",
    "FakePriceStore",
    "FakeRegistry",
    "FakeSource",
    "fake_stack",
    "price_frame",
]


class FakeRegistry(MemoryRegistry):
    """The in-memory registry, recording what was asked of it (the backend keeps no log).

    `calls` lists writes ("log_run <name>", "register <ticker> v<n>", "alias <ticker>
    <alias>=v<n>", "alias_map <alias>"); `reads` lists reads ("alias <ticker>",
    "load <ticker> v<n>", "list <alias>").
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.reads: list[str] = []

    def log_run(self, record: RunRecord, *, spec: ModelSpec) -> str:
        run_id = super().log_run(record, spec=spec)
        self.calls.append(f"log_run {record.run_name}")
        return run_id

    def register(self, ticker: str, run_id: str, *, tags: Mapping[str, str]) -> ModelVersionInfo:
        info = super().register(ticker, run_id, tags=tags)
        self.calls.append(f"register {ticker} v{info.version}")
        return info

    def set_alias(self, ticker: str, alias: str, version: int) -> None:
        super().set_alias(ticker, alias, version)
        self.calls.append(f"alias {ticker} {alias}=v{version}")

    def alias_version(self, ticker: str, alias: str) -> ModelVersionInfo | None:
        self.reads.append(f"alias {ticker}")
        return super().alias_version(ticker, alias)

    def load_version(self, ticker: str, version: int) -> ModelSpec:
        self.reads.append(f"load {ticker} v{version}")
        return super().load_version(ticker, version)

    def champion_versions(self, alias: str = "champion") -> list[ModelVersionInfo]:
        self.reads.append(f"list {alias}")
        return super().champion_versions(alias)

    def aliased_versions(self) -> list[ModelVersionInfo]:
        self.reads.append("list aliased")
        return super().aliased_versions()

    def alias_map(self, alias: str = "champion") -> dict[str, int]:
        self.calls.append(f"alias_map {alias}")
        return super().alias_map(alias)


FakePredictionLog = MemoryPredictionLog
FakeAuditLog = MemoryAuditLog
FakePriceStore = MemoryPriceStore


class FakeSource:
    """A price source serving fixed frames; counts fetches."""

    name = "fake"

    def __init__(self, frames: Mapping[str, pd.DataFrame]) -> None:
        self.frames = dict(frames)
        self.fetches = 0

    def fetch(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        self.fetches += 1
        if ticker not in self.frames:
            raise DataUnavailable(f"fake source has no {ticker}")
        frame = select_range(self.frames[ticker], start, end)
        if frame.empty:
            raise DataUnavailable(f"fake source has no {ticker} between {start} and {end}")
        return frame

    def tickers(self) -> list[str]:
        return sorted(self.frames)


def price_frame(close: np.ndarray, *, end: dt.date) -> pd.DataFrame:
    """A price frame of `close` on the XNYS sessions ending at `end` (synthetic or real)."""
    calendar = TradingCalendar(start="1990-01-01")
    sessions: list[dt.date] = []
    day = end
    while len(sessions) < len(close):
        if calendar.is_session(day):
            sessions.append(day)
        day -= dt.timedelta(days=1)
    sessions.reverse()
    frame = pd.DataFrame({"date": pd.to_datetime(sessions).astype("datetime64[ns]")})
    for col in ("open", "high", "low", "close"):
        frame[col] = np.asarray(close, dtype=float)
    frame["volume"] = 0.0
    return frame


def fake_stack(settings: Settings, frames: Mapping[str, pd.DataFrame]) -> Stack:
    """A Stack of fakes with the configs of `settings` (no database, no MLflow)."""
    prices = MemoryPriceStore()
    return Stack(
        settings=settings,
        predictions=MemoryPredictionLog(prices=prices),
        audit=FakeAuditLog(),
        prices=prices,
        registry=FakeRegistry(),
        calendar=TradingCalendar(settings.exchange, start="1990-01-01"),
        drift=drift_rule(settings),
        leaderboard=MemoryLeaderboard(),
        _source=FakeSource(frames),
    )
