"""The ports pipelines talk to, and the typed rows that cross them.

Pipelines depend on these Protocols, not on MLflow or SQLAlchemy: the SQL and MLflow
adapters (`adapters/registry.py`, `adapters/store/*`) satisfy them structurally, and so does
the in-memory backend (`adapters/memory/`). Each method's docstring states its contract; the
suites in tests/contract/ check every implementation against it.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from stocky.core.families.registry import LEGACY_MODEL_TYPE

if TYPE_CHECKING:
    import pandas as pd

    from stocky.core.alerts import Alert
    from stocky.core.fleet import TickerFacts
    from stocky.core.fleet_summary import CheckOutcome
    from stocky.core.spec import ModelSpec

__all__ = [
    "LEADERBOARD_STAGES",
    "RETRAIN_ACTIONS",
    "ActualUpdate",
    "AddOutcome",
    "AuditLog",
    "Champion",
    "DriftCheck",
    "DriftCheckRow",
    "FleetStore",
    "Leaderboard",
    "LeaderboardRow",
    "ModelVersionInfo",
    "PredictionLog",
    "PredictionRecord",
    "PriceStore",
    "PriceSummary",
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

    def log_run(self, record: RunRecord, *, spec: ModelSpec) -> str:
        """Store a finished run and its spec; a new run id each call. RegistryError on failure."""

    def register(self, ticker: str, run_id: str, *, tags: Mapping[str, str]) -> ModelVersionInfo:
        """Register the run as the next version (1, 2, ...) of `model_name(ticker)`, no aliases.

        Raises RegistryError when the run does not exist or the registry fails.
        """

    def set_alias(self, ticker: str, alias: str, version: int) -> None:
        """Point `alias` at `version` (a move; idempotent). RegistryError: no such model/version."""

    def alias_version(self, ticker: str, alias: str) -> ModelVersionInfo | None:
        """The version behind `alias` with its aliases, or None (no model or no alias)."""

    def alias_versions(self, tickers: Sequence[str], alias: str) -> list[ModelVersionInfo]:
        """`alias_version` of each ticker; tickers without the alias are left out."""

    def champion(self, ticker: str, alias: str = "champion") -> Champion | None:
        """The version behind `alias` and its spec as logged, or None (no model or no alias)."""

    def load_version(self, ticker: str, version: int) -> ModelSpec:
        """The spec of one version, equal to the one logged. RegistryError: no such version."""

    def versions(self, ticker: str) -> list[ModelVersionInfo]:
        """Every version, newest first, each with its aliases; [] without a model."""

    def find_version(self, ticker: str, tag: str, value: str) -> ModelVersionInfo | None:
        """The newest version whose tag `tag` is `value`, or None. BadInput: a quote in either."""

    def aliases(self, ticker: str) -> dict[str, int]:
        """Alias -> version of the ticker's model; {} without a model."""

    def tickers(self) -> list[str]:
        """Tickers with a registered model, sorted."""

    def champion_versions(self, alias: str = "champion") -> list[ModelVersionInfo]:
        """The version behind `alias` of every model that has it, sorted by ticker (one listing)."""

    def alias_map(self, alias: str = "champion") -> dict[str, int]:
        """Ticker -> version behind `alias`, for every model that has it."""

    def aliased_versions(self) -> list[ModelVersionInfo]:
        """Every version holding an alias, of every model, in one listing: by ticker, newest
        version first."""
        ...

    def run_artifact(self, run_id: str, path: str) -> bytes | None:
        """The bytes of artifact `path` of run `run_id` as logged (e.g. a training's
        `forecast_vs_actual.png`), or None when the run or the file does not exist.
        RegistryError: the registry failed."""
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
    #: "(p, d, q)" for ARIMA models, "-" for other families (the column predates them).
    arima_order: str
    history_len: int
    input_hash: str
    request_id: str
    source: str = "api"
    #: The client key the request carried (api_keys.id, never the key); None without one.
    api_key_id: int | None = None
    #: The model's family (`model_type`; rows from before families: LEGACY_MODEL_TYPE) and
    #: short label ("ETS(A,N,N)").
    model_type: str = LEGACY_MODEL_TYPE
    model_label: str = ""

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

    def insert(self, record: PredictionRecord) -> int:
        """Write one prediction durably; returns its id (ids increase). See `insert_many`."""

    def insert_many(self, records: list[PredictionRecord]) -> list[int]:
        """Write predictions all or none; ids in order. BadInput: not finite; StoreError: naive time."""

    def count(self, ticker: str | None = None) -> int:
        """Rows logged, for one ticker or all."""

    def get(self, prediction_id: int) -> dict[str, Any] | None:
        """One row (every column of the `predictions` table) as a dict, or None."""

    def iter_rows(
        self, *, ticker: str | None = None, batch: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Every row (of one ticker, or all) as a dict, oldest id first."""

    def attach_actuals(self, updates: list[ActualUpdate]) -> int:
        """Label rows all or none; returns rows labeled (labeled and unknown ids skipped: idempotent).

        Raises BadInput for an actual that is not finite, StoreError for a naive `actual_at`.
        """

    def labeled(
        self,
        ticker: str,
        *,
        up_to: dt.date | None = None,
        start: dt.date | None = None,
        foreign_windows: bool = False,
    ) -> pd.DataFrame:
        """Labeled rows in bounds, oldest target first (LABELED_COLUMNS); foreign windows left out."""

    def foreign_window_count(self, ticker: str) -> int:
        """Labeled rows `labeled` leaves out as foreign windows."""

    def tickers(self) -> list[str]:
        """Tickers with at least one row, sorted."""

    # any number of tickers at once (the daily job runs one path for one ticker or a fleet)

    def pending_many(self, tickers: Sequence[str], *, up_to: dt.date) -> pd.DataFrame:
        """Unlabeled rows with target_date <= up_to, by id: ticker, id, target_date, prediction,
        lower, upper, naive."""

    def pending_counts(self, tickers: Sequence[str]) -> dict[str, int]:
        """Rows of each ticker without an actual, due or not; tickers with none are left out."""

    def labeled_table(
        self,
        tickers: Sequence[str],
        *,
        up_to: dt.date | None = None,
        columns: Sequence[str] = ...,
    ) -> pd.DataFrame:
        """The rows `labeled` returns for many tickers in one frame: ticker, then `columns`; by ticker."""

    def find_many(self, tickers: Sequence[str], *, as_of: dt.date, source: str) -> dict[str, int]:
        """The lowest id logged for each (ticker, as_of, source); tickers without one left out."""


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


#: Promotion records a retrain writes (a rollback is not a retrain).
RETRAIN_ACTIONS = ("promote", "reject", "log-only")


class AddOutcome(enum.StrEnum):
    """What queueing an alert did."""

    ADDED = "added"
    DUPLICATE = "duplicate"  # the same (ticker, kind, session) is already in the outbox
    COOLDOWN = "cooldown"  # the same ticker and kind alerted recently


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

    def add_drift_checks(
        self, checks: Sequence[tuple[DriftCheckRow, Sequence[QueuedAlert]]]
    ) -> list[int]:
        """Store checks and their alerts all or none; ids in the order given. StoreError: naive
        time. One check per (ticker, session): a rerun of a session replaces its check."""

    def add_promotion(self, row: PromotionRow, *, alerts: Sequence[QueuedAlert] = ()) -> int:
        """Store a promotion record and its alerts together; returns its id (ids increase)."""

    def add_alerts(self, alerts: Sequence[QueuedAlert], *, now: dt.datetime) -> list[AddOutcome]:
        """Queue alerts; per alert COOLDOWN (checked first), DUPLICATE (same ticker, kind, session) or ADDED."""

    def latest_drift_check(self, ticker: str) -> DriftCheck | None:
        """The first of `drift_checks`, or None."""

    def drift_checks(self, ticker: str, *, limit: int | None = None) -> list[DriftCheck]:
        """Checks of `ticker`, newest session then highest id first; `report` as its JSON reads back."""

    def promotions(self, ticker: str, *, limit: int | None = None) -> list[Promotion]:
        """Records of `ticker`, latest `decided_at` then highest id first."""

    def latest_checks_before(
        self, tickers: Sequence[str], *, before: dt.date
    ) -> dict[str, DriftCheck]:
        """Each ticker's newest check of a session before `before`; tickers without one left out."""

    def promotions_many(self, tickers: Sequence[str]) -> dict[str, list[Promotion]]:
        """`promotions` of every ticker asked (empty lists included)."""

    def decided_on(self, tickers: Sequence[str], *, as_of: dt.date) -> set[str]:
        """The tickers with a retrain decision (promote, reject, log-only) for `as_of`."""
        ...

    def alert_counts(self, ticker: str) -> dict[str, int]:
        """How many alerts were queued for `ticker`, by kind (those a cooldown or a duplicate
        kept out are not counted); {} when none."""
        ...

    def alert_sessions(self, ticker: str) -> list[tuple[dt.date, str]]:
        """(session, kind) of every alert queued for `ticker` (those a cooldown or a duplicate
        kept out are not listed), by session, then in the order queued; [] when none."""
        ...

    def last_promotion_id(self) -> int:
        """The highest promotion id, 0 when there is none (a change-log mark)."""

    def promotions_after(self, after_id: int) -> list[Promotion]:
        """Records with an id above `after_id`, oldest first."""


# --- price store ------------------------------------------------------------------------


class PriceSummary(NamedTuple):
    """What the store holds for one ticker."""

    ticker: str
    first: dt.date
    last: dt.date
    rows: int
    source: str
    """Source name(s) of the stored rows, comma-separated when several."""


class PriceStore(Protocol):
    """Stored daily closes per ticker."""

    def upsert(
        self, ticker: str, frame: pd.DataFrame, *, source: str, fetched_at: dt.datetime
    ) -> int:
        """Insert rows, replacing those of the same date (idempotent); rows written."""

    def load(
        self,
        ticker: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        *,
        last: int | None = None,
    ) -> pd.DataFrame:
        """Rows with start <= date <= end (the newest `last` of them), oldest first; empty frame if none."""

    def replace(
        self, ticker: str, frame: pd.DataFrame, *, source: str, fetched_at: dt.datetime
    ) -> int:
        """Drop every stored row of `ticker`, then store the frame; rows written."""

    def store_many(
        self,
        frames: Mapping[str, pd.DataFrame],
        *,
        source: str,
        fetched_at: dt.datetime,
        replace: bool = False,
    ) -> int:
        """Upsert many tickers all or none (`replace`: drop what each had first); rows written."""

    def load_many(
        self,
        tickers: Sequence[str],
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> dict[str, pd.DataFrame]:
        """`load` of each ticker asked (empty frames included), in the order asked."""

    def last_date(self, ticker: str) -> dt.date | None:
        """The latest stored session of `ticker`, or None."""

    def last_dates(self) -> dict[str, dt.date]:
        """The latest stored session of every stored ticker."""

    def summary(self) -> list[PriceSummary]:
        """First, last, rows and sources (comma-joined, sorted) of every stored ticker, by ticker."""


# --- fleet overview ---------------------------------------------------------------------


class FleetStore(Protocol):
    """Every ticker's monitoring facts at once (a handful of set-based queries)."""

    def facts(self, *, window: int, lookback_days: int, extra: list[str]) -> list[TickerFacts]: ...

    def check_history(self, *, sessions: int) -> list[CheckOutcome]:
        """Every drift check of the latest `sessions` checked sessions, oldest first."""
        ...


# --- leaderboard ------------------------------------------------------------------------

#: The stages of a leaderboard row: the window the choice was made on, the period after it.
LEADERBOARD_STAGES = ("validation", "test")
_BOARD_FLOATS = (
    "rmse", "naive_rmse", "skill", "dm_pvalue", "interval_score", "naive_interval_score",
    "crps", "coverage", "direction_accuracy",
)  # fmt: skip


@dataclass(frozen=True)
class LeaderboardRow:
    """One candidate (family x interval method) of one training on one stage, next to naive.

    Every metric is a finite float or None (a non-finite value becomes None on construction,
    so no backend stores NaN). ``dm_pvalue`` is the one-sided Diebold-Mariano p-value of
    "better than naive" (None for naive itself); ``naive_interval_score`` is the random walk's
    with the candidate's interval. ``chosen`` marks the champion's family and interval method;
    ``reason`` says why it won (on chosen rows) or why a candidate was not chosen.
    """

    ticker: str
    version: int
    model_type: str
    label: str
    interval: str
    stage: str
    rmse: float | None
    naive_rmse: float | None
    skill: float | None
    dm_pvalue: float | None
    interval_score: float | None
    naive_interval_score: float | None
    crps: float | None
    coverage: float | None
    direction_accuracy: float | None
    chosen: bool
    reason: str
    trained_at: dt.datetime

    def __post_init__(self) -> None:
        if self.stage not in LEADERBOARD_STAGES:
            from stocky.errors import BadInput

            raise BadInput(
                f"stage={self.stage!r}: a leaderboard row is one of {', '.join(LEADERBOARD_STAGES)}"
            )
        for name in _BOARD_FLOATS:
            value = getattr(self, name)
            if value is not None:
                value = float(value)
                object.__setattr__(self, name, value if math.isfinite(value) else None)
        object.__setattr__(self, "chosen", bool(self.chosen))

    @classmethod
    def stored(cls, values: Sequence[Any]) -> LeaderboardRow:
        """A row from values in field order as a store wrote them (checked on the way in):
        built without the checks, which cost more than the read on a fleet's rows."""
        row = object.__new__(cls)
        row.__dict__.update(zip(_BOARD_FIELDS, values, strict=True))
        return row

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (the training time in ISO 8601)."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["trained_at"] = self.trained_at.isoformat()
        return out


_BOARD_FIELDS = tuple(LeaderboardRow.__dataclass_fields__)


class Leaderboard(Protocol):
    """Every candidate of each training, stored for the leaderboard (CLI, API, page)."""

    def replace(self, ticker: str, version: int, rows: Sequence[LeaderboardRow]) -> int:
        """Drop every row of (`ticker`, `version`), then store `rows`, all or none; rows stored.

        Idempotent: storing the same rows again leaves the same rows.

        Raises:
            BadInput: A row of another ticker or version, or two rows of the same candidate
                (model_type, interval, stage); nothing is written.
        """

    def tickers(self) -> list[str]:
        """Every ticker with rows, sorted."""

    def latest(
        self,
        tickers: Sequence[str] | None = None,
        *,
        stage: str | None = None,
        chosen_only: bool = False,
    ) -> list[LeaderboardRow]:
        """The rows of each ticker's newest version (of `tickers`; None: every ticker).

        Filtered to one `stage` and to the chosen rows when asked; ordered by ticker, stage
        ("test" before "validation"), model_type and interval. Unknown tickers give no rows.
        """
