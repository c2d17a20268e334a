"""The ports pipelines talk to, and the typed rows that cross them.

Pipelines depend on these Protocols, not on MLflow or SQLAlchemy: the real adapters
(`adapters/registry.py`, `adapters/store/*`) satisfy them structurally, and the unit tests
run every lifecycle pipeline against small in-memory fakes that do too.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from stocky.adapters.store.alerts import AddOutcome
    from stocky.adapters.store.prices import PriceSummary
    from stocky.core.alerts import Alert
    from stocky.core.fleet import TickerFacts
    from stocky.core.spec import ModelSpec

__all__ = [
    "ActualUpdate",
    "AuditLog",
    "Champion",
    "DriftCheck",
    "DriftCheckRow",
    "FleetStore",
    "ModelVersionInfo",
    "PredictionLog",
    "PredictionRecord",
    "PriceStore",
    "Promotion",
    "PromotionRow",
    "QueuedAlert",
    "Registry",
    "RunRecord",
]


# --- registry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """What one training or retraining run logs."""

    run_name: str
    params: Mapping[str, Any]
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    artifacts: Mapping[str, bytes]


@dataclass(frozen=True)
class ModelVersionInfo:
    """A registered model version as stocky sees it."""

    ticker: str
    name: str
    version: int
    aliases: tuple[str, ...]
    run_id: str | None
    tags: Mapping[str, str]


@dataclass(frozen=True)
class Champion:
    """The version behind a ticker's `champion` alias, with its parsed spec."""

    spec: ModelSpec
    info: ModelVersionInfo

    @property
    def ticker(self) -> str:
        return self.info.ticker

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def version(self) -> int:
        return self.info.version


class Registry(Protocol):
    """Runs, registered versions and aliases (MLflow in production)."""

    def log_run(self, record: RunRecord, *, spec: ModelSpec) -> str: ...

    def register(
        self, ticker: str, run_id: str, *, tags: Mapping[str, str]
    ) -> ModelVersionInfo: ...

    def set_alias(self, ticker: str, alias: str, version: int) -> None: ...

    def alias_version(self, ticker: str, alias: str) -> ModelVersionInfo | None: ...

    def alias_versions(self, tickers: Sequence[str], alias: str) -> list[ModelVersionInfo]: ...

    def champion(self, ticker: str, alias: str = "champion") -> Champion | None: ...

    def load_version(self, ticker: str, version: int) -> ModelSpec: ...

    def versions(self, ticker: str) -> list[ModelVersionInfo]: ...

    def find_version(self, ticker: str, tag: str, value: str) -> ModelVersionInfo | None: ...

    def aliases(self, ticker: str) -> dict[str, int]: ...

    def tickers(self) -> list[str]: ...

    def champion_versions(self, alias: str = "champion") -> list[ModelVersionInfo]: ...

    def alias_map(self, alias: str = "champion") -> dict[str, int]: ...

    def aliased_versions(self) -> list[ModelVersionInfo]:
        """Every version holding an alias, of every model, in one listing: by ticker, newest
        version first."""
        ...


# --- prediction log ---------------------------------------------------------------------


@dataclass(frozen=True)
class ActualUpdate:
    """The delayed label for one prediction."""

    id: int
    actual: float
    actual_at: dt.datetime


@dataclass(frozen=True)
class PredictionRecord:
    """One forecast as logged: what was predicted, by which model, from which input."""

    ticker: str
    created_at: dt.datetime
    as_of: dt.date
    target_date: dt.date
    prediction: float
    lower: float
    upper: float
    naive: float
    model_name: str
    model_version: int
    arima_order: str
    history_len: int
    input_hash: str
    request_id: str
    source: str = "api"
    #: The client key the request carried (api_keys.id, never the key); None without one.
    api_key_id: int | None = None

    def validate(self) -> None:
        """Refuse a row the log must never hold: a number that is not finite.

        Raises:
            BadInput: Naming the field and its value.
        """
        from stocky.errors import BadInput

        for name in ("prediction", "lower", "upper", "naive"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise BadInput(
                    f"{name} is {value!r}: a logged prediction needs finite numbers; "
                    "send prices of one instrument"
                )


class PredictionLog(Protocol):
    """The `predictions` table: forecasts written before they are answered, labeled later."""

    def insert(self, record: PredictionRecord) -> int: ...

    def insert_many(self, records: list[PredictionRecord]) -> list[int]: ...

    def find(self, *, ticker: str, as_of: dt.date, source: str) -> int | None: ...

    def count(self, ticker: str | None = None) -> int: ...

    def get(self, prediction_id: int) -> dict[str, Any] | None: ...

    def iter_rows(
        self, *, ticker: str | None = None, batch: int = 1000
    ) -> Iterator[dict[str, Any]]: ...

    def pending(self, ticker: str, *, up_to: dt.date) -> pd.DataFrame: ...

    def pending_count(self, ticker: str) -> int: ...

    def attach_actuals(self, updates: list[ActualUpdate]) -> int: ...

    def labeled(
        self,
        ticker: str,
        *,
        up_to: dt.date | None = None,
        start: dt.date | None = None,
        foreign_windows: bool = False,
    ) -> pd.DataFrame: ...

    def foreign_window_count(self, ticker: str) -> int: ...

    def tickers(self) -> list[str]: ...

    # many tickers at once (the daily job over a fleet): the same rows as the reads above

    def pending_many(self, tickers: Sequence[str], *, up_to: dt.date) -> pd.DataFrame: ...

    def pending_counts(self, tickers: Sequence[str]) -> dict[str, int]: ...

    def labeled_many(
        self, tickers: Sequence[str], *, up_to: dt.date | None = None
    ) -> dict[str, pd.DataFrame]: ...

    def labeled_table(
        self,
        tickers: Sequence[str],
        *,
        up_to: dt.date | None = None,
        columns: Sequence[str] = ...,
    ) -> pd.DataFrame: ...

    def find_many(
        self, tickers: Sequence[str], *, as_of: dt.date, source: str
    ) -> dict[str, int]: ...


# --- audit log --------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftCheckRow:
    """A drift check to store."""

    ticker: str
    checked_at: dt.datetime
    as_of: dt.date
    metric: str
    window: int
    threshold_multiplier: float
    consecutive_days: int
    baseline: float | None
    baseline_source: str
    threshold: float | None
    latest_value: float | None
    naive_latest_value: float | None
    breach_streak: int
    drifted: bool
    decision: str
    model_version: int | None
    report: dict[str, Any]


@dataclass(frozen=True)
class DriftCheck(DriftCheckRow):
    """A stored drift check (the row plus its id)."""

    id: int = 0


@dataclass(frozen=True)
class PromotionRow:
    """A retrain decision or rollback to store."""

    ticker: str
    model_name: str
    action: str  # promote | reject | rollback | failed
    from_version: int | None
    to_version: int | None
    decided_at: dt.datetime
    as_of: dt.date | None
    reason: str
    triggered_by: str  # drift | schedule | manual | replay | force
    champion_rmse: float | None = None
    challenger_rmse: float | None = None
    naive_rmse: float | None = None
    dm_pvalue: float | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class Promotion(PromotionRow):
    """A stored promotion record (the row plus its id)."""

    id: int = 0


@dataclass(frozen=True)
class QueuedAlert:
    """An alert to write with its cause.

    Attributes:
        alert: The alert (`stocky.core.alert_messages` builds them).
        cooldown_since: Suppress it when the same ticker and kind alerted for a session on or
            after this date (conditions only; None: deduplication only).
        replay: Raised by a replay of history: stored marked, sent only when asked.
    """

    alert: Alert
    cooldown_since: dt.date | None = None
    replay: bool = False


class AuditLog(Protocol):
    """Drift checks, promotion decisions, and the alerts they raise.

    An alert passed with its cause is written in the same transaction: both are stored, or
    neither.
    """

    def add_drift_check(self, row: DriftCheckRow, *, alerts: Sequence[QueuedAlert] = ()) -> int: ...

    def add_drift_checks(
        self, checks: Sequence[tuple[DriftCheckRow, Sequence[QueuedAlert]]]
    ) -> list[int]: ...

    def add_promotion(self, row: PromotionRow, *, alerts: Sequence[QueuedAlert] = ()) -> int: ...

    def add_alerts(
        self, alerts: Sequence[QueuedAlert], *, now: dt.datetime
    ) -> list[AddOutcome]: ...

    def latest_drift_check(self, ticker: str) -> DriftCheck | None: ...

    def drift_checks(self, ticker: str, *, limit: int | None = None) -> list[DriftCheck]: ...

    def promotions(self, ticker: str, *, limit: int | None = None) -> list[Promotion]: ...

    def latest_checks_before(
        self, tickers: Sequence[str], *, before: dt.date
    ) -> dict[str, DriftCheck]: ...

    def promotions_many(self, tickers: Sequence[str]) -> dict[str, list[Promotion]]: ...

    def last_promotion_id(self) -> int: ...

    def promotions_after(self, after_id: int) -> list[Promotion]: ...


# --- price store ------------------------------------------------------------------------


class PriceStore(Protocol):
    """Stored daily closes per ticker."""

    def upsert(
        self, ticker: str, frame: pd.DataFrame, *, source: str, fetched_at: dt.datetime
    ) -> int: ...

    def load(
        self,
        ticker: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        *,
        last: int | None = None,
    ) -> pd.DataFrame: ...

    def replace(
        self, ticker: str, frame: pd.DataFrame, *, source: str, fetched_at: dt.datetime
    ) -> int: ...

    def store_many(
        self,
        frames: Mapping[str, pd.DataFrame],
        *,
        source: str,
        fetched_at: dt.datetime,
        replace: bool = False,
    ) -> int: ...

    def load_many(
        self,
        tickers: Sequence[str],
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> dict[str, pd.DataFrame]: ...

    def last_date(self, ticker: str) -> dt.date | None: ...

    def last_dates(self) -> dict[str, dt.date]: ...

    def summary(self) -> list[PriceSummary]: ...


# --- fleet overview ---------------------------------------------------------------------


class FleetStore(Protocol):
    """Every ticker's monitoring facts at once (a handful of set-based queries)."""

    def facts(self, *, window: int, lookback_days: int, extra: list[str]) -> list[TickerFacts]: ...
