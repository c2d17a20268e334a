"""The fleet overview's rows for the API, read at most once per `ttl_seconds` per window.

`GET /monitoring/fleet` and `GET /dashboard` share them. The facts behind them change when the
daily job or a reload runs, not per request, and paging through 1,000 tickers should see one
consistent ordering, so a snapshot is kept briefly (30 s by default, like /metrics' gauges).
Champion versions and orders come from the served models (the ChampionCache).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.requests import Request

from stocky.api.state import AppState
from stocky.core.fleet import ChampionInfo, FleetRow
from stocky.core.fleet_summary import SessionStates, state_history
from stocky.pipelines.fleet_view import FLEET_WINDOW, fleet_overview
from stocky.pipelines.freshness import source_ends

__all__ = ["FleetCache", "FleetSnapshot", "fleet_cache"]


@dataclass(frozen=True)
class FleetSnapshot:
    """Every ticker's row, problems first, as of `taken_at`."""

    rows: tuple[FleetRow, ...]
    window: int
    taken_at: dt.datetime


#: Windows kept besides the default one (least recently used dropped first).
MAX_WINDOWS = 16


class FleetCache:
    """Snapshots by window, each kept `ttl_seconds`; one reader at a time.

    A bounded LRU of windows, the default window (the dashboard's) pinned: a client stepping
    through `?window=1..252` recomputes its own windows but never evicts the dashboard's.
    """

    def __init__(self, ttl_seconds: float = 30.0, max_windows: int = MAX_WINDOWS) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_windows = max_windows
        self._items: OrderedDict[int, tuple[float, FleetSnapshot]] = OrderedDict()
        self._history: tuple[float, int, list[SessionStates]] | None = None
        self._lock = threading.Lock()

    def history(self, state: AppState, sessions: int) -> list[SessionStates]:
        """Drift-check states over the latest `sessions` sessions, read again after the TTL."""
        with self._lock:
            held = self._history
            if (
                held is not None
                and held[1] == sessions
                and time.monotonic() - held[0] < self.ttl_seconds
            ):
                return held[2]
            counts = state_history(
                state.stack.fleet.check_history(sessions=sessions), sessions=sessions
            )
            self._history = (time.monotonic(), sessions, counts)
            return counts

    def windows(self) -> list[int]:
        """The windows held, least recently used first."""
        return list(self._items)

    def get(self, state: AppState, window: int) -> FleetSnapshot:
        """The snapshot of `window`, read again when older than the TTL (blocking: a thread)."""
        with self._lock:
            held = self._items.get(window)
            if held is not None and time.monotonic() - held[0] < self.ttl_seconds:
                self._items.move_to_end(window)
                return held[1]
            now = state.clock()
            champions = {
                m.ticker: ChampionInfo(m.version, m.order, m.walk_forward)
                for m in state.champions.all()
            }
            rows = fleet_overview(
                store=state.stack.fleet,
                champions=champions,
                calendar=state.calendar,
                now=now,
                grace=dt.timedelta(hours=state.settings.labels_late_hours),
                window=window,
                source_end=source_ends(lambda: state.stack.source),
            )
            snapshot = FleetSnapshot(tuple(rows), window, now)
            self._items[window] = (time.monotonic(), snapshot)
            self._items.move_to_end(window)
            others = [w for w in self._items if w != FLEET_WINDOW]
            for old in others[: max(0, len(others) - self.max_windows)]:
                del self._items[old]
            return snapshot


def fleet_cache(request: Request) -> FleetCache:
    """The app's cache, made on first use (a duplicate made by a race only costs a read)."""
    cache = getattr(request.app.state, "fleet_cache", None)
    if cache is None:
        cache = request.app.state.fleet_cache = FleetCache()
    return cache
