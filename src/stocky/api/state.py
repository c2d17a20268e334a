"""Everything a request needs, built once by `create_app` and kept on `app.state.stocky`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import sqlalchemy as sa

from stocky.adapters.ports import AuditLog, PriceStore, Registry
from stocky.adapters.store.predictions import PredictionRepository
from stocky.api.auth import ClientGate
from stocky.api.champions import ChampionCache
from stocky.api.logwriter import GroupCommitLog
from stocky.api.telemetry import Telemetry
from stocky.config import Settings
from stocky.core.sessions import TradingCalendar
from stocky.wiring import Stack

__all__ = ["AppState", "Clock", "utc_now"]

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The wall clock, in UTC (the only place the API reads it)."""
    return dt.datetime.now(dt.UTC)


@dataclass
class AppState:
    """Collaborators of the API, shared by all requests of one app."""

    stack: Stack
    champions: ChampionCache
    telemetry: Telemetry
    #: /predict's group-committed writes to `predictions`.
    log: GroupCommitLog
    #: Client keys and rate limits of the forecast routes.
    gate: ClientGate
    clock: Clock = utc_now
    last_reload_error: str | None = None
    _next_session: Callable[[dt.date], dt.date] | None = field(default=None, repr=False)
    _session_on_or_before: Callable[[dt.date], dt.date] | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return self.stack.settings

    @property
    def engine(self) -> sa.Engine:
        engine = self.stack.engine
        assert engine is not None, "the API needs a stack with a database engine"
        return engine

    @property
    def registry(self) -> Registry:
        return self.stack.registry

    @property
    def predictions(self) -> PredictionRepository:
        # the API's hot path uses the SQL repository's group-commit insert and ping
        predictions = self.stack.predictions
        assert isinstance(predictions, PredictionRepository)
        return predictions

    @property
    def prices(self) -> PriceStore:
        return self.stack.prices

    @property
    def audit(self) -> AuditLog:
        return self.stack.audit

    @property
    def calendar(self) -> TradingCalendar:
        return self.stack.calendar

    def next_session(self, day: dt.date) -> dt.date:
        """Cached: the calendar look-up costs ~70 us, a cache hit well under 1 us."""
        if self._next_session is None:
            self._next_session = lru_cache(maxsize=4096)(self.calendar.next_session)
        return self._next_session(day)

    def warm_calendar(self) -> None:
        """Build the exchange calendar and fill the session caches for today (blocking: ~110 ms
        the first time), so the first request does not pay for it."""
        today = self.calendar.local_date(self.clock())
        self.next_session(self.session_on_or_before(today))
        self.next_session(today)

    def session_on_or_before(self, day: dt.date) -> dt.date:
        """`day` if it is a session, else the session before it (cached like next_session)."""
        if self._session_on_or_before is None:
            self._session_on_or_before = lru_cache(maxsize=4096)(self.calendar.session_on_or_before)
        return self._session_on_or_before(day)
