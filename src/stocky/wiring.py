"""The composition root: Settings in, a `Stack` of collaborators out.

This is the one place where engines, repositories, the registry, the price source, the
calendar, the alert targets, the executor and the server's limits are built from
configuration; adapters, pipelines and api/ modules take plain values. Everything heavy is
imported inside the function that needs it, so a server never pays for what it does not use. The API, every CLI command and the replay take a
Stack; pipelines take its parts as keyword arguments. A Stack is a context manager that
disposes what it opened, and it can be rebuilt from Settings alone in another process
(workers receive Settings, never live objects).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stocky.config import Settings

if TYPE_CHECKING:
    import sqlalchemy as sa

    from stocky.adapters.executor import ExecutorKind, TickerExecutor
    from stocky.adapters.notify.base import Notifier
    from stocky.adapters.ports import AuditLog, Leaderboard, PredictionLog, PriceStore, Registry
    from stocky.adapters.prices.base import PriceSource
    from stocky.adapters.store.alerts import AlertOutbox
    from stocky.adapters.store.fleet import FleetRepository
    from stocky.adapters.store.keys import ApiKeyStore
    from stocky.api.ratelimit import ClientRateLimiter
    from stocky.api.server import ServerLimits
    from stocky.core.alerts import DeliveryPolicy
    from stocky.core.drift import DriftRule
    from stocky.core.sessions import TradingCalendar
    from stocky.pipelines.alert_causes import AlertConfig
    from stocky.pipelines.retrain import RetrainConfig
    from stocky.pipelines.train import TrainConfig

__all__ = [
    "Stack",
    "alert_config",
    "build_stack",
    "memory_stack",
    "check_shared_stores",
    "delivery_policy",
    "drift_rule",
    "make_executor",
    "make_price_source",
    "alert_notifiers",
    "rate_limiter",
    "replay_settings",
    "retrain_config",
    "server_limits",
    "settings_with",
    "train_config",
    "worker_stack",
]


@dataclass
class Stack:
    """Every collaborator a pipeline, command or the API needs, built once from Settings."""

    settings: Settings
    predictions: PredictionLog
    audit: AuditLog
    prices: PriceStore
    registry: Registry
    calendar: TradingCalendar
    drift: DriftRule
    #: The database engine (None for the in-memory backend); disposed by `close`.
    engine: sa.Engine | None = None
    #: Every candidate of each training (`stocky leaderboard`, GET /leaderboard); None: not kept.
    leaderboard: Leaderboard | None = None
    #: Built on first use: a misconfigured source must not stop commands that never read it.
    source_factory: Callable[[], PriceSource] | None = field(default=None, repr=False)
    _source: PriceSource | None = field(default=None, repr=False)
    _closers: list[Callable[[], Any]] = field(default_factory=list, repr=False)

    # The training and retrain configurations live with the pipelines, which import the order
    # search, the walk-forward and scipy (~1 s of CPU): built on first read, so a server (which
    # never reads them) never pays for them. `build_stack` checks what they would reject.
    @cached_property
    def train(self) -> TrainConfig:
        """The training configuration of the stack's settings."""
        return train_config(self.settings)

    @cached_property
    def retrain(self) -> RetrainConfig:
        """The retrain configuration of the stack's settings."""
        return retrain_config(self.settings)

    @property
    def source(self) -> PriceSource:
        """The configured price source (built on first use)."""
        if self._source is None:
            if self.source_factory is None:
                from stocky.errors import BadInput

                raise BadInput("this stack has no price source: build it with build_stack")
            self._source = self.source_factory()
        return self._source

    def _engine_or_fail(self, what: str) -> sa.Engine:
        if self.engine is None:
            from stocky.errors import BadInput

            raise BadInput(f"{what} lives in the database: build the stack with build_stack")
        return self.engine

    @property
    def outbox(self) -> AlertOutbox:
        """The alerts outbox (same database as the audit log)."""
        from stocky.adapters.store.alerts import AlertOutbox

        return AlertOutbox(self._engine_or_fail("the alerts outbox"))

    @property
    def keys(self) -> ApiKeyStore:
        """The client API keys (hashes only)."""
        from stocky.adapters.store.keys import ApiKeyStore

        return ApiKeyStore(self._engine_or_fail("the API key store"))

    @property
    def fleet(self) -> FleetRepository:
        """Set-based reads of the whole fleet (overview, /monitoring/fleet)."""
        from stocky.adapters.store.fleet import FleetRepository

        return FleetRepository(self._engine_or_fail("the fleet view"))

    def close(self) -> None:
        """Release connections and engines opened for this stack (idempotent)."""
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def settings_with(settings: Settings, **overrides: Any) -> Settings:
    """A copy of `settings` with the non-None overrides applied (CLI options over env).

    Raises:
        TypeError: An override names no setting.
        BadInput: The copy breaks a rule of `Settings.problems` (the message names them).
    """
    updates = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(updates) - set(Settings.model_fields)
    if unknown:
        raise TypeError(f"unknown settings: {sorted(unknown)}")
    if not updates:
        return settings
    updated = settings.model_copy(update=updates)
    problems = updated.problems()  # a copy is not validated: check the whole again
    if problems:
        from stocky.errors import BadInput

        raise BadInput("; ".join(problems))
    return updated


def train_config(settings: Settings) -> TrainConfig:
    """The training configuration of these settings."""
    from stocky.core.families.registry import parse_families
    from stocky.pipelines.train import TrainConfig

    return TrainConfig(
        order=settings.order,
        families=parse_families(settings.families),
        alpha=settings.selection_alpha,
        test_size=settings.test_size,
        validation_size=settings.validation_size,
        train_window=settings.train_window,
        refit_every=settings.refit_every,
        min_train_size=settings.min_train_size,
        interval=settings.interval,
        interval_window=settings.max_prices,
    )


def retrain_config(settings: Settings) -> RetrainConfig:
    """The retrain configuration and promotion policy of these settings.

    The order check of a retrain uses as many sessions as its holdout.
    """
    from stocky.core.families.registry import parse_families
    from stocky.core.promotion import PromotionPolicy
    from stocky.pipelines.retrain import RetrainConfig

    return RetrainConfig(
        order=settings.order,
        families=parse_families(settings.families),
        alpha=settings.selection_alpha,
        holdout_size=settings.holdout_size,
        validation_size=settings.holdout_size,
        train_window=settings.train_window,
        min_train_size=settings.min_train_size,
        interval=settings.interval,
        interval_window=settings.max_prices,
        policy=PromotionPolicy(
            min_improvement=settings.min_improvement,
            naive_tolerance=settings.naive_tolerance,
            dm_alpha=settings.dm_alpha,
            metric=settings.promotion_metric,
        ),
    )


def drift_rule(settings: Settings) -> DriftRule:
    """The drift rule configured by STOCKY_DRIFT_*."""
    from stocky.core.drift import DriftRule

    return DriftRule(
        window=settings.drift_window,
        threshold_multiplier=settings.drift_threshold_multiplier,
        consecutive_days=settings.drift_consecutive_days,
        metric=settings.drift_metric,
        cooldown_sessions=settings.drift_cooldown_sessions,
    )


def alert_config(settings: Settings, *, replay: bool = False) -> AlertConfig:
    """How pipelines raise alerts: `STOCKY_ALERT_COOLDOWN_SESSIONS`, `STOCKY_LABELS_LATE_HOURS`.

    Args:
        settings: The configuration.
        replay: The alerts come from a replay of history (stored marked, sent only when asked).
    """
    from stocky.pipelines.alert_causes import AlertConfig

    return AlertConfig(
        cooldown_sessions=settings.alert_cooldown_sessions,
        labels_late_hours=settings.labels_late_hours,
        replay=replay,
    )


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    """The alert retry policy of the `STOCKY_ALERT_*` settings."""
    from stocky.core.alerts import DeliveryPolicy

    return DeliveryPolicy(
        max_attempts=settings.alert_max_attempts,
        backoff_seconds=settings.alert_backoff_seconds,
        max_backoff_seconds=settings.alert_backoff_max_seconds,
        pass_seconds=settings.alert_pass_seconds,
        breaker_failures=settings.alert_breaker_failures,
    )


def alert_notifiers(settings: Settings) -> list[Notifier]:
    """One notifier per `STOCKY_ALERT_URLS` URL, plus the webhook when `STOCKY_WEBHOOK_URL` is set.

    Raises:
        BadInput: A URL Apprise does not know, a webhook without a secret (or the reverse).
    """
    from stocky.errors import BadInput

    built: list[Notifier] = []
    if settings.alert_urls is not None:
        from stocky.adapters.notify.human import AppriseNotifier, split_urls

        built.extend(
            AppriseNotifier(url, timeout_seconds=settings.alert_timeout_seconds)
            for url in split_urls(settings.alert_urls.get_secret_value())
        )
    url, secret = settings.webhook_url, settings.webhook_secret
    if url is not None and secret is None:
        raise BadInput(
            "STOCKY_WEBHOOK_URL is set but STOCKY_WEBHOOK_SECRET is not: set a long random "
            "secret (e.g. `openssl rand -hex 32`) so the receiver can verify the signature"
        )
    if url is None and secret is not None:
        raise BadInput(
            "STOCKY_WEBHOOK_SECRET is set but STOCKY_WEBHOOK_URL is not: set the receiver's URL"
        )
    if url is not None and secret is not None:
        from stocky.adapters.notify.webhook import WebhookNotifier

        built.append(
            WebhookNotifier(
                url.get_secret_value(),
                secret.get_secret_value(),
                timeout_seconds=settings.alert_timeout_seconds,
            )
        )
    return built


def make_price_source(settings: Settings) -> PriceSource:
    """Build the price source named by `settings.price_source`.

    Args:
        settings: Uses price_source, csv_path, the synthetic_* settings,
            yahoo_timeout_seconds and yahoo_retries.

    Returns:
        An AutoSource, BundledSource, YahooSource, SyntheticSource, or for csv the file
        source `open_price_file` picks (one-ticker CSV, long CSV or Parquet, or a folder).

    Raises:
        BadInput: price_source is csv but no csv_path is set.
    """
    from stocky.adapters.prices import (
        AutoSource,
        BundledSource,
        SyntheticSource,
        YahooSource,
        open_price_file,
    )

    kind = settings.price_source
    if kind == "bundled":
        return BundledSource()
    if kind == "csv":
        if settings.csv_path is None:
            from stocky.errors import BadInput

            raise BadInput(
                "STOCKY_PRICE_SOURCE=csv needs a file: set STOCKY_CSV_PATH to a CSV with "
                "Date and Close columns (add a Ticker column for many tickers), a Parquet "
                "file, or a folder of <TICKER>.csv files"
            )
        return open_price_file(settings.csv_path)
    if kind == "synthetic":
        return SyntheticSource(
            settings.synthetic_tickers,
            sessions=settings.synthetic_sessions,
            seed=settings.synthetic_seed,
            end=settings.synthetic_end,
            exchange=settings.exchange,
            regime_shifts=settings.synthetic_regime_shifts,
            splits=settings.synthetic_splits,
        )
    yahoo = YahooSource(settings.yahoo_timeout_seconds, settings.yahoo_retries)
    if kind == "yahoo":
        return yahoo
    return AutoSource(yahoo, BundledSource())


def check_shared_stores(settings: Settings) -> None:
    """Refuse stores only one machine can reach when workers may run on other machines.

    Raises:
        BadInput: The database is SQLite or the MLflow store is a local file or SQLite.
    """
    problems = []
    if settings.db_url.startswith("sqlite"):
        problems.append("the database is a SQLite file: set STOCKY_DATABASE_URL to PostgreSQL")
    if not settings.tracking_uri.startswith(("http://", "https://")):
        problems.append(
            "the MLflow store is local: set STOCKY_MLFLOW_TRACKING_URI to a tracking server "
            "(http://host:5000)"
        )
    if problems:
        from stocky.errors import BadInput

        raise BadInput(
            f"a Dask cluster at {settings.dask_address} runs workers on other machines, and "
            + "; ".join(problems)
        )


def make_executor(
    settings: Settings, *, kind: ExecutorKind | None = None, jobs: int | None = None
) -> TickerExecutor:
    """The executor the settings (or CLI options) ask for.

    Args:
        settings: Uses executor, dask_address and jobs.
        kind: `local` or `dask`; default STOCKY_EXECUTOR.
        jobs: Worker processes for `local` (1 runs inline) and for a LocalCluster; default
            STOCKY_JOBS, or the CPU count when that is 0.

    Raises:
        BadInput: Unknown kind, or a remote cluster with stores it cannot reach.
    """
    import os

    from stocky.adapters.executor import DaskExecutor, InlineExecutor, LogSetup, PoolExecutor
    from stocky.errors import BadInput

    chosen = kind or settings.executor
    log_setup = LogSetup(settings.log_level, settings.log_format, settings.log_repeat_seconds)
    n = jobs if jobs is not None else (settings.jobs or os.cpu_count() or 1)
    if n < 1:
        raise BadInput(f"--jobs {n}: give 1 or more worker processes")
    if chosen == "local":
        return InlineExecutor() if n == 1 else PoolExecutor(n, log_setup=log_setup)
    if chosen == "dask":
        if settings.dask_address:
            check_shared_stores(settings)
        return DaskExecutor(settings.dask_address, workers=n, log_setup=log_setup)
    raise BadInput(f"--executor {chosen!r}: use local or dask")


def rate_limiter(settings: Settings) -> ClientRateLimiter | None:
    """The per-client limiter STOCKY_RATE_LIMIT* configure, or None when no limit is set."""
    if not settings.rate_limit:
        return None
    from limits import parse_many

    from stocky.api.ratelimit import ClientRateLimiter

    return ClientRateLimiter(
        parse_many(settings.rate_limit),
        storage_url=settings.rate_limit_storage,
        strategy=settings.rate_limit_strategy,
    )


def server_limits(settings: Settings) -> ServerLimits:
    """Per-worker connection limits: STOCKY_HEADER/BODY/KEEP_ALIVE_TIMEOUT_SECONDS and
    STOCKY_MAX_CONNECTIONS."""
    from stocky.api.server import ServerLimits

    return ServerLimits(
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
        keep_alive_timeout=settings.keep_alive_timeout_seconds,
        max_connections=settings.max_connections,
    )


def replay_settings(settings: Settings, folder: Path) -> Settings:
    """Settings of a replay: a private state folder with its own SQLite and MLflow store."""
    return settings.model_copy(
        update={
            "home": folder,
            "database_url": None,
            "mlflow_tracking_uri": None,
            "mlflow_artifact_root": None,
            "mlflow_experiment": "stocky-replay",
            "reload_interval_seconds": 0,
        }
    )


_WORKER_STACKS: dict[str, Stack] = {}


def worker_stack(settings_json: str) -> Stack:
    """The Stack of a worker process for these settings (JSON), built once per process.

    Executors ship Settings as JSON; each worker builds its own engine and registry from them
    on first use and keeps them for the next task.
    """
    stack = _WORKER_STACKS.get(settings_json)
    if stack is None:
        stack = build_stack(Settings.model_validate_json(settings_json))
        _WORKER_STACKS[settings_json] = stack
    return stack


def _check_configs(settings: Settings) -> None:
    """What the training and retrain configurations reject, checked before anything opens
    (the Stack builds them on first read)."""
    from stocky.core.arima import ArimaOrder
    from stocky.core.families.registry import parse_families
    from stocky.core.intervals import validate_interval_setting

    if settings.order != "auto":
        ArimaOrder.parse(settings.order)
    parse_families(settings.families)
    validate_interval_setting(settings.interval)


def build_stack(
    settings: Settings,
    *,
    registry: Registry | None = None,
    source: PriceSource | None = None,
    migrate: bool = True,
) -> Stack:
    """Build every collaborator from `settings`.

    Args:
        settings: The configuration.
        registry: A registry to use instead of the MLflow one the settings name.
        source: A price source to use instead of the one the settings name.
        migrate: Bring the database to the newest schema now (the API does it in its lifespan).

    Returns:
        A Stack; use it as a context manager so its engine is disposed.

    Raises:
        BadInput: The order or interval method is invalid.
        StoreError: The database URL is unusable or the migration failed.
    """
    _check_configs(settings)
    from stocky.adapters.registry import ModelRegistry
    from stocky.adapters.store import PriceRepository, create_schema, make_engine
    from stocky.adapters.store.audit import AuditRepository
    from stocky.adapters.store.leaderboard import LeaderboardRepository
    from stocky.adapters.store.predictions import PredictionRepository
    from stocky.core.sessions import TradingCalendar

    engine = make_engine(settings.db_url)
    predictions = PredictionRepository(engine)
    stack = Stack(
        settings=settings,
        predictions=predictions,
        audit=AuditRepository(engine),
        prices=PriceRepository(engine),
        registry=registry
        or ModelRegistry(
            tracking_uri=settings.tracking_uri,
            experiment=settings.mlflow_experiment,
            artifact_root=settings.artifact_root,
        ),
        calendar=TradingCalendar(settings.exchange),
        drift=drift_rule(settings),
        engine=engine,
        leaderboard=LeaderboardRepository(engine),
        source_factory=lambda: make_price_source(settings),
        _source=source,
    )
    stack._closers.extend([engine.dispose, predictions.close])
    if migrate:
        try:
            create_schema(engine)
        except BaseException:
            stack.close()
            raise
    return stack


def memory_stack(settings: Settings, *, source: PriceSource | None = None) -> Stack:
    """A Stack on the in-memory backend (`stocky.adapters.memory`): no database, no MLflow.

    Everything lives in this process and is gone when it ends: for replays and study cells
    (`--backend memory`), which export their state only when asked
    (`pipelines.replay_state.export_state`).

    Args:
        settings: The configuration (its stores' URLs are not used).
        source: A price source to use instead of the one the settings name.

    Raises:
        BadInput: The order or interval method is invalid.
    """
    _check_configs(settings)
    from stocky.adapters.memory import (
        MemoryAuditLog,
        MemoryPredictionLog,
        MemoryPriceStore,
        MemoryRegistry,
    )
    from stocky.core.sessions import TradingCalendar

    prices = MemoryPriceStore()
    return Stack(
        settings=settings,
        predictions=MemoryPredictionLog(prices=prices),
        audit=MemoryAuditLog(),
        prices=prices,
        registry=MemoryRegistry(),
        calendar=TradingCalendar(settings.exchange),
        drift=drift_rule(settings),
        source_factory=lambda: make_price_source(settings),
        _source=source,
    )
