"""Per-ticker monitoring gauges for /metrics, from one snapshot query cached for 30 s.

The snapshot (`stocky.adapters.store.monitor`) is read in a worker thread at most once per
`ttl_seconds`, however many scrapes arrive (the data behind it changes once a day, when the
daily job labels, checks and forecasts); the samples are computed and rendered from it once
(calendar look-ups included) and served until the next refresh. A failed refresh keeps the
previous samples, counts the failure and logs it; `stocky_monitor_snapshot_timestamp_seconds`
tells how old the samples are.

Values that are not finite are left out (a missing sample, never NaN or Infinity).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.concurrency import run_in_threadpool

from stocky.adapters.store.monitor import TickerMonitor
from stocky.core.sessions import TradingCalendar
from stocky.errors import StoreError

__all__ = ["LOOKBACK_DAYS", "MonitorGauges", "monitor_families", "render_families"]

log = logging.getLogger(__name__)

#: Calendar days of the prediction log the snapshot reads (labels later than this look on time).
LOOKBACK_DAYS = 60

_GAUGES: dict[str, str] = {
    "stocky_drift_rolling_error": "Rolling error of the champion over the drift window (latest drift check; label metric).",
    "stocky_drift_naive_rolling_error": "Rolling error of the naive random walk over the same window.",
    "stocky_drift_threshold": "Rolling error above which a session breaches the drift rule.",
    "stocky_drift_skill_vs_naive": "1 - model error / naive error over the drift window (< 0: worse than naive).",
    "stocky_drift_breach_streak": "Breaching sessions in a row ending at the latest check.",
    "stocky_model_degraded": "1 when the latest drift check decided the model degraded (drift), else 0.",
    "stocky_volatility_regime_changed": "1 when the latest drift check saw the volatility regime change, else 0.",
    "stocky_drift_check_timestamp_seconds": "When the latest drift check ran (Unix seconds).",
    "stocky_interval_coverage_ratio": "Share of actual closes inside the 95% interval over the drift window.",
    "stocky_interval_coverage_sessions": "Labeled sessions behind stocky_interval_coverage_ratio.",
    "stocky_last_forecast_logged_timestamp_seconds": "When the newest forecast was logged (Unix seconds).",
    "stocky_forecast_sessions_behind": "Sessions between the newest logged forecast's target and the next session to forecast (0: up to date).",
    "stocky_last_label_timestamp_seconds": "When the newest actual close was attached to a prediction (Unix seconds).",
    "stocky_label_lag_seconds": "Seconds since the close of the oldest session still waiting for its label (0: none overdue).",
    "stocky_label_lag_sessions": "Closed sessions still waiting for their label, counted from the oldest (0: none).",
}
_WITH_METRIC = {
    "stocky_drift_rolling_error",
    "stocky_drift_naive_rolling_error",
    "stocky_drift_threshold",
}


class _Sessions:
    """Calendar look-ups shared by all tickers of one snapshot (few distinct dates)."""

    def __init__(self, calendar: TradingCalendar, now: dt.datetime) -> None:
        self.calendar = calendar
        self.now = now
        self.last_closed = calendar.last_closed_session(now)
        self.next_target = calendar.next_session(self.last_closed)
        # the bounds are pandas look-ups of ~0.2 ms each: read once, not per ticker
        self._first, self._last = calendar.first_session, calendar.last_session
        self._closes: dict[dt.date, dt.datetime] = {}
        self._counts: dict[tuple[dt.date, dt.date], int] = {}

    def known(self, day: dt.date) -> bool:
        return self._first <= day <= self._last

    def close(self, day: dt.date) -> dt.datetime:
        if day not in self._closes:
            session = self.calendar.session_on_or_before(day)
            self._closes[day] = self.calendar.session_close(session)
        return self._closes[day]

    def count(self, first: dt.date, last: dt.date) -> int:
        """Sessions in [first, last] (0 when first > last)."""
        if first > last:
            return 0
        key = (first, last)
        if key not in self._counts:
            self._counts[key] = len(self.calendar.sessions_in_range(first, last))
        return self._counts[key]


def _samples(m: TickerMonitor, s: _Sessions) -> Iterator[tuple[str, float | None]]:
    """(gauge, value) pairs of one ticker; None or a non-finite value means no sample."""
    yield "stocky_drift_rolling_error", m.latest_value
    yield "stocky_drift_naive_rolling_error", m.naive_latest_value
    yield "stocky_drift_threshold", m.threshold
    model, naive = m.latest_value, m.naive_latest_value
    if model is not None and naive and math.isfinite(model) and math.isfinite(naive):
        yield "stocky_drift_skill_vs_naive", 1.0 - model / naive
    if m.checked_at is not None:
        yield "stocky_drift_breach_streak", float(m.breach_streak or 0)
        yield "stocky_model_degraded", float(m.drifted)
        yield "stocky_volatility_regime_changed", float(m.volatility_changed)
        yield "stocky_drift_check_timestamp_seconds", m.checked_at.timestamp()
    if m.coverage is not None and m.coverage_sessions:
        yield "stocky_interval_coverage_ratio", m.coverage
        yield "stocky_interval_coverage_sessions", float(m.coverage_sessions)
    if m.last_logged_at is not None:
        yield "stocky_last_forecast_logged_timestamp_seconds", m.last_logged_at.timestamp()
    if m.last_target is not None and s.known(m.last_target):
        # sessions after the newest target, up to the one that should be forecast by now
        behind = s.count(m.last_target + dt.timedelta(days=1), s.next_target)
        yield "stocky_forecast_sessions_behind", float(max(behind, 0))
    if m.last_labeled_at is not None:
        yield "stocky_last_label_timestamp_seconds", m.last_labeled_at.timestamp()
    pending = m.oldest_pending_target
    if pending is None or (s.known(pending) and pending > s.last_closed):
        yield "stocky_label_lag_seconds", 0.0
        yield "stocky_label_lag_sessions", 0.0
    elif s.known(pending):
        yield "stocky_label_lag_seconds", max((s.now - s.close(pending)).total_seconds(), 0.0)
        yield "stocky_label_lag_sessions", float(s.count(pending, s.last_closed))


def monitor_families(
    rows: Iterable[TickerMonitor], *, calendar: TradingCalendar, now: dt.datetime
) -> list[Metric]:
    """The per-ticker gauges for `rows` as of `now` (pure: no I/O, no clock)."""
    families = {
        name: GaugeMetricFamily(
            name, text, labels=["ticker", "metric"] if name in _WITH_METRIC else ["ticker"]
        )
        for name, text in _GAUGES.items()
    }
    sessions = _Sessions(calendar, now)
    for m in rows:
        for name, value in _samples(m, sessions):
            if value is None or not math.isfinite(value):
                continue
            labels = [m.ticker, m.metric or ""] if name in _WITH_METRIC else [m.ticker]
            families[name].add_metric(labels, value)
    return list(families.values())


Snapshot = Callable[[], list[TickerMonitor]]


def render_families(families: list[Metric]) -> bytes:
    """Prometheus text exposition of `families` (prometheus_client's own renderer)."""

    class _Fixed:
        def collect(self) -> list[Metric]:
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed())
    return generate_latest(registry)


class MonitorGauges:
    """The per-ticker gauges' text, rendered once per snapshot; `refresh` re-reads when stale.

    Rendering ~15 samples per ticker costs far more than the app's other metrics together (a
    few hundred ms for 1,000 tickers on a busy 2-core machine), so it happens once per refresh
    in a worker thread and scrapes in between append the bytes kept here (`exposition`).
    """

    def __init__(self, registry: CollectorRegistry, *, ttl_seconds: float = 30.0) -> None:
        self.ttl_seconds = ttl_seconds
        self.exposition = b""
        self._taken_at = -math.inf  # monotonic time of the last successful snapshot
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.errors = Counter(
            "stocky_monitor_snapshot_errors_total",
            "Failed reads of the per-ticker monitoring snapshot (the previous gauges are kept).",
            registry=registry,
        )
        self.stamp = Gauge(
            "stocky_monitor_snapshot_timestamp_seconds",
            "When the per-ticker monitoring gauges were last read from the database (Unix seconds).",
            registry=registry,
        )
        self.duration = Gauge(
            "stocky_monitor_snapshot_duration_seconds",
            "Time the last monitoring snapshot took (query, calendar work, rendering).",
            registry=registry,
        )

    def fresh(self) -> bool:
        return time.monotonic() - self._taken_at < self.ttl_seconds

    async def refresh(
        self, snapshot: Snapshot, *, calendar: TradingCalendar, now: dt.datetime
    ) -> None:
        """Re-read the snapshot unless a fresh one is held; one reader at a time."""
        if self.fresh():
            return
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:  # a lock serves one event loop
            self._lock, self._lock_loop = asyncio.Lock(), loop
        async with self._lock:
            if self.fresh():  # another scrape refreshed while this one waited
                return
            started = time.perf_counter()
            try:
                rows = await run_in_threadpool(snapshot)
            except StoreError as exc:
                self.errors.inc()
                log.error("monitoring gauges not refreshed (serving the previous ones): %s", exc)
                return
            families = await run_in_threadpool(monitor_families, rows, calendar=calendar, now=now)
            self.exposition = await run_in_threadpool(render_families, families)
            self._taken_at = time.monotonic()
            self.stamp.set(now.timestamp())
            self.duration.set(time.perf_counter() - started)
