"""In-memory fakes of the ports (adapters/ports.py), for fast offline pipeline tests.

They keep the behaviour pipelines rely on (ids, ordering, "only unlabeled rows get an
actual", alias moves) and nothing else. The integration tests run the same pipelines on real
SQLite, PostgreSQL and MLflow.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from stocky.adapters.ports import (
    ActualUpdate,
    Champion,
    DriftCheck,
    DriftCheckRow,
    ModelVersionInfo,
    PredictionRecord,
    Promotion,
    PromotionRow,
    QueuedAlert,
    RunRecord,
)
from stocky.adapters.prices.base import PRICE_COLUMNS, empty_price_frame, select_range
from stocky.adapters.registry import model_name
from stocky.adapters.store.alerts import AddOutcome
from stocky.adapters.store.prediction_bulk import DRIFT_COLUMNS
from stocky.adapters.store.prediction_reads import LABELED_COLUMNS
from stocky.adapters.store.prices import PriceSummary
from stocky.config import Settings
from stocky.core.sessions import TradingCalendar
from stocky.core.spec import ModelSpec
from stocky.errors import DataUnavailable, ModelNotFound
from stocky.wiring import Stack, drift_rule


class FakeRegistry:
    """Runs, versions and aliases in dicts."""

    def __init__(self) -> None:
        self.runs: dict[str, tuple[RunRecord, ModelSpec]] = {}
        self._versions: dict[str, list[ModelVersionInfo]] = {}
        self._specs: dict[tuple[str, int], ModelSpec] = {}
        self._aliases: dict[str, dict[str, int]] = {}
        self.calls: list[str] = []
        #: Read calls: "alias <ticker>", "load <ticker> v<n>", "list <alias>".
        self.reads: list[str] = []
        self._ids = itertools.count(1)

    def log_run(self, record: RunRecord, *, spec: ModelSpec) -> str:
        run_id = f"run-{next(self._ids)}"
        self.runs[run_id] = (record, spec)
        self.calls.append(f"log_run {record.run_name}")
        return run_id

    def register(self, ticker: str, run_id: str, *, tags: Mapping[str, str]) -> ModelVersionInfo:
        versions = self._versions.setdefault(ticker, [])
        info = ModelVersionInfo(
            ticker, model_name(ticker), len(versions) + 1, (), run_id, dict(tags)
        )
        versions.append(info)
        self._specs[(ticker, info.version)] = self.runs[run_id][1]
        self.calls.append(f"register {ticker} v{info.version}")
        return info

    def set_alias(self, ticker: str, alias: str, version: int) -> None:
        self._aliases.setdefault(ticker, {})[alias] = version
        self.calls.append(f"alias {ticker} {alias}=v{version}")

    def alias_version(self, ticker: str, alias: str) -> ModelVersionInfo | None:
        self.reads.append(f"alias {ticker}")
        return self._alias_version(ticker, alias)

    def alias_versions(self, tickers: Sequence[str], alias: str) -> list[ModelVersionInfo]:
        found = (self.alias_version(t, alias) for t in tickers)
        return [info for info in found if info is not None]

    def _alias_version(self, ticker: str, alias: str) -> ModelVersionInfo | None:
        version = self._aliases.get(ticker, {}).get(alias)
        if version is None:
            return None
        return self._with_aliases(ticker, self._versions[ticker][version - 1])

    def champion(self, ticker: str, alias: str = "champion") -> Champion | None:
        info = self.alias_version(ticker, alias)
        return None if info is None else Champion(self.load_version(ticker, info.version), info)

    def load_spec(self, ticker: str, alias: str = "champion") -> tuple[ModelSpec, ModelVersionInfo]:
        champion = self.champion(ticker, alias)
        if champion is None:
            raise ModelNotFound(f"no {alias!r} model for {ticker}")
        return champion.spec, champion.info

    def load_version(self, ticker: str, version: int) -> ModelSpec:
        self.reads.append(f"load {ticker} v{version}")
        return self._specs[(ticker, version)]

    def versions(self, ticker: str) -> list[ModelVersionInfo]:
        return [self._with_aliases(ticker, v) for v in reversed(self._versions.get(ticker, []))]

    def find_version(self, ticker: str, tag: str, value: str) -> ModelVersionInfo | None:
        found = [v for v in self._versions.get(ticker, []) if v.tags.get(tag) == value]
        return self._with_aliases(ticker, found[-1]) if found else None

    def aliases(self, ticker: str) -> dict[str, int]:
        return dict(self._aliases.get(ticker, {}))

    def tickers(self) -> list[str]:
        return sorted(self._versions)

    def champion_versions(self, alias: str = "champion") -> list[ModelVersionInfo]:
        self.reads.append(f"list {alias}")
        found = (self._alias_version(t, alias) for t in self.tickers())
        return [info for info in found if info is not None]

    def alias_map(self, alias: str = "champion") -> dict[str, int]:
        self.calls.append(f"alias_map {alias}")
        return {t: a[alias] for t, a in sorted(self._aliases.items()) if alias in a}

    def aliased_versions(self) -> list[ModelVersionInfo]:
        self.reads.append("list aliased")
        return [v for t in self.tickers() for v in self.versions(t) if v.aliases]

    def _with_aliases(self, ticker: str, info: ModelVersionInfo) -> ModelVersionInfo:
        names = tuple(
            sorted(a for a, v in self._aliases.get(ticker, {}).items() if v == info.version)
        )
        return dataclasses.replace(info, aliases=names)


class FakePredictionLog:
    """The prediction log as a list of dicts (foreign windows are not detected here)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def insert(self, record: PredictionRecord) -> int:
        return self.insert_many([record])[0]

    def insert_many(self, records: list[PredictionRecord]) -> list[int]:
        ids = []
        for record in records:
            row = dataclasses.asdict(record) | {"id": len(self.rows) + 1, "actual": None}
            row |= {"error": None, "naive_error": None, "actual_at": None}
            self.rows.append(row)
            ids.append(row["id"])
        return ids

    def find(self, *, ticker: str, as_of: dt.date, source: str) -> int | None:
        for row in self.rows:
            if (row["ticker"], row["as_of"], row["source"]) == (ticker, as_of, source):
                return int(row["id"])
        return None

    def count(self, ticker: str | None = None) -> int:
        return sum(1 for r in self.rows if ticker is None or r["ticker"] == ticker)

    def get(self, prediction_id: int) -> dict[str, Any] | None:
        return dict(self.rows[prediction_id - 1]) if 0 < prediction_id <= len(self.rows) else None

    def iter_rows(
        self, *, ticker: str | None = None, batch: int = 1000
    ) -> Iterator[dict[str, Any]]:
        return (dict(r) for r in self.rows if ticker is None or r["ticker"] == ticker)

    def pending(self, ticker: str, *, up_to: dt.date) -> pd.DataFrame:
        rows = [
            r
            for r in self.rows
            if r["ticker"] == ticker and r["actual"] is None and r["target_date"] <= up_to
        ]
        frame = pd.DataFrame(
            rows, columns=["id", "target_date", "prediction", "lower", "upper", "naive"]
        )
        frame["target_date"] = pd.to_datetime(frame["target_date"])
        return frame

    def pending_count(self, ticker: str) -> int:
        return sum(1 for r in self.rows if r["ticker"] == ticker and r["actual"] is None)

    def attach_actuals(self, updates: list[ActualUpdate]) -> int:
        done = 0
        for u in updates:
            row = self.rows[u.id - 1]
            if row["actual"] is None:
                row |= {
                    "actual": u.actual,
                    "error": u.actual - row["prediction"],
                    "naive_error": u.actual - row["naive"],
                    "actual_at": u.actual_at,
                }
                done += 1
        return done

    def labeled(
        self,
        ticker: str,
        *,
        up_to: dt.date | None = None,
        start: dt.date | None = None,
        foreign_windows: bool = False,
    ) -> pd.DataFrame:
        rows = [
            r
            for r in self.rows
            if r["ticker"] == ticker
            and r["actual"] is not None
            and (up_to is None or r["target_date"] <= up_to)
            and (start is None or r["target_date"] >= start)
        ]
        rows.sort(key=lambda r: (r["target_date"], r["created_at"], r["id"]))
        frame = pd.DataFrame(
            [{k: r[k] for k in LABELED_COLUMNS} for r in rows], columns=LABELED_COLUMNS
        )
        for col in ("target_date", "as_of"):
            frame[col] = pd.to_datetime(frame[col])
        return frame

    def foreign_window_count(self, ticker: str) -> int:
        return 0

    def pending_many(self, tickers: Sequence[str], *, up_to: dt.date) -> pd.DataFrame:
        wanted = set(tickers)
        cols = ["ticker", "id", "target_date", "prediction", "lower", "upper", "naive"]
        rows = [
            {k: r[k] for k in cols}
            for r in self.rows
            if r["ticker"] in wanted and r["actual"] is None and r["target_date"] <= up_to
        ]
        frame = pd.DataFrame(rows, columns=cols)
        frame["target_date"] = pd.to_datetime(frame["target_date"])
        return frame

    def pending_counts(self, tickers: Sequence[str]) -> dict[str, int]:
        return {t: n for t in tickers if (n := self.pending_count(t))}

    def labeled_many(
        self, tickers: Sequence[str], *, up_to: dt.date | None = None
    ) -> dict[str, pd.DataFrame]:
        return {t: self.labeled(t, up_to=up_to) for t in tickers}

    def labeled_table(
        self,
        tickers: Sequence[str],
        *,
        up_to: dt.date | None = None,
        columns: Sequence[str] = DRIFT_COLUMNS,
    ) -> pd.DataFrame:
        frames = [
            self.labeled(t, up_to=up_to).assign(ticker=t)[["ticker", *columns]]
            for t in dict.fromkeys(tickers)
        ]
        frame = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(columns=["ticker", *columns])
        )
        frame.attrs["unusable"] = {}
        return frame

    def find_many(self, tickers: Sequence[str], *, as_of: dt.date, source: str) -> dict[str, int]:
        return {t: i for t in tickers if (i := self.find(ticker=t, as_of=as_of, source=source))}

    def tickers(self) -> list[str]:
        return sorted({r["ticker"] for r in self.rows})


class FakeAuditLog:
    """Drift checks, promotions and queued alerts in lists, read back newest first like the
    real one. Alerts are deduplicated per (ticker, kind, session) and cooled down like the
    outbox does; `alerts` holds the ones added, `alert_outcomes` every outcome in order."""

    def __init__(self) -> None:
        self.checks: list[DriftCheck] = []
        self.decisions: list[Promotion] = []
        self.alerts: list[QueuedAlert] = []
        self.alert_outcomes: list[tuple[str, AddOutcome]] = []

    def add_drift_check(self, row: DriftCheckRow, *, alerts: Sequence[QueuedAlert] = ()) -> int:
        self.checks.append(DriftCheck(**dataclasses.asdict(row), id=len(self.checks) + 1))
        self.add_alerts(alerts, now=row.checked_at)
        return len(self.checks)

    def add_drift_checks(
        self, checks: Sequence[tuple[DriftCheckRow, Sequence[QueuedAlert]]]
    ) -> list[int]:
        return [self.add_drift_check(row, alerts=alerts) for row, alerts in checks]

    def add_promotion(self, row: PromotionRow, *, alerts: Sequence[QueuedAlert] = ()) -> int:
        self.decisions.append(Promotion(**dataclasses.asdict(row), id=len(self.decisions) + 1))
        self.add_alerts(alerts, now=row.decided_at)
        return len(self.decisions)

    def add_alerts(self, alerts: Sequence[QueuedAlert], *, now: dt.datetime) -> list[AddOutcome]:
        outcomes = [self._add(queued) for queued in alerts]
        self.alert_outcomes.extend((q.alert.kind, o) for q, o in zip(alerts, outcomes, strict=True))
        return outcomes

    def _add(self, queued: QueuedAlert) -> AddOutcome:
        new = queued.alert
        same = [
            q.alert for q in self.alerts if (q.alert.ticker, q.alert.kind) == (new.ticker, new.kind)
        ]
        if any(a.session == new.session for a in same):
            return AddOutcome.DUPLICATE
        since = queued.cooldown_since
        if since is not None and any(a.session >= since for a in same):
            return AddOutcome.COOLDOWN
        self.alerts.append(queued)
        return AddOutcome.ADDED

    def kinds(self, ticker: str | None = None) -> list[str]:
        """Kinds of the alerts added, oldest first."""
        return [q.alert.kind for q in self.alerts if ticker is None or q.alert.ticker == ticker]

    def latest_drift_check(self, ticker: str) -> DriftCheck | None:
        found = self.drift_checks(ticker, limit=1)
        return found[0] if found else None

    def drift_checks(self, ticker: str, *, limit: int | None = None) -> list[DriftCheck]:
        rows = sorted(
            (c for c in self.checks if c.ticker == ticker),
            key=lambda c: (c.as_of, c.id),
            reverse=True,
        )
        return rows[:limit] if limit is not None else rows

    def promotions(self, ticker: str, *, limit: int | None = None) -> list[Promotion]:
        rows = sorted(
            (p for p in self.decisions if p.ticker == ticker),
            key=lambda p: (p.decided_at, p.id),
            reverse=True,
        )
        return rows[:limit] if limit is not None else rows

    def latest_checks_before(
        self, tickers: Sequence[str], *, before: dt.date
    ) -> dict[str, DriftCheck]:
        found = {}
        for t in tickers:
            older = [c for c in self.drift_checks(t) if c.as_of < before]
            if older:
                found[t] = older[0]
        return found

    def promotions_many(self, tickers: Sequence[str]) -> dict[str, list[Promotion]]:
        return {t: self.promotions(t) for t in tickers}

    def last_promotion_id(self) -> int:
        return len(self.decisions)

    def promotions_after(self, after_id: int) -> list[Promotion]:
        return [p for p in self.decisions if p.id > after_id]


class FakePriceStore:
    """Price frames per ticker; an upsert replaces rows with the same date."""

    def __init__(self) -> None:
        self.frames: dict[str, pd.DataFrame] = {}

    def upsert(
        self, ticker: str, frame: pd.DataFrame, *, source: str, fetched_at: dt.datetime
    ) -> int:
        if frame.empty:
            return 0
        old = self.frames.get(ticker, empty_price_frame())
        both = pd.concat(
            [old, frame[list(PRICE_COLUMNS)]] if len(old) else [frame[list(PRICE_COLUMNS)]]
        )
        self.frames[ticker] = (
            both.drop_duplicates("date", keep="last").sort_values("date").reset_index(drop=True)
        )
        return len(frame)

    def replace(
        self, ticker: str, frame: pd.DataFrame, *, source: str, fetched_at: dt.datetime
    ) -> int:
        self.frames.pop(ticker, None)
        return self.upsert(ticker, frame, source=source, fetched_at=fetched_at)

    def store_many(
        self,
        frames: Mapping[str, pd.DataFrame],
        *,
        source: str,
        fetched_at: dt.datetime,
        replace: bool = False,
    ) -> int:
        write = self.replace if replace else self.upsert
        return sum(write(t, f, source=source, fetched_at=fetched_at) for t, f in frames.items())

    def last_dates(self) -> dict[str, dt.date]:
        return {t: d for t in self.frames if (d := self.last_date(t)) is not None}

    def load(
        self,
        ticker: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        *,
        last: int | None = None,
    ) -> pd.DataFrame:
        frame = select_range(self.frames.get(ticker, empty_price_frame()), start, end)
        return frame.tail(last).reset_index(drop=True) if last is not None else frame

    def load_many(
        self,
        tickers: Sequence[str],
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> dict[str, pd.DataFrame]:
        return {t: self.load(t, start, end) for t in tickers}

    def last_date(self, ticker: str) -> dt.date | None:
        frame = self.frames.get(ticker)
        return None if frame is None or frame.empty else frame["date"].iloc[-1].date()

    def summary(self) -> list[PriceSummary]:
        return [
            PriceSummary(t, f["date"].iloc[0].date(), f["date"].iloc[-1].date(), len(f), "fake")
            for t, f in sorted(self.frames.items())
            if not f.empty
        ]


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
    return Stack(
        settings=settings,
        predictions=FakePredictionLog(),
        audit=FakeAuditLog(),
        prices=FakePriceStore(),
        registry=FakeRegistry(),
        calendar=TradingCalendar(settings.exchange, start="1990-01-01"),
        drift=drift_rule(settings),
        _source=FakeSource(frames),
    )
