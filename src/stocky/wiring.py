"""The composition root: Settings in, a `Stack` of collaborators out.

This is the one place where engines, repositories, the registry, the price source and the
calendar are built from configuration. The API, every CLI command and the replay take a
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

    from stocky.adapters.ports import AuditLog, PredictionLog, PriceStore, Registry
    from stocky.adapters.prices.base import PriceSource
    from stocky.adapters.store.alerts import AlertOutbox
    from stocky.adapters.store.fleet import FleetRepository
    from stocky.adapters.store.keys import ApiKeyStore
    from stocky.core.drift import DriftRule
    from stocky.core.sessions import TradingCalendar
    from stocky.pipelines.retrain import RetrainConfig
    from stocky.pipelines.train import TrainConfig

__all__ = [
    "Stack",
    "worker_stack",
    "build_stack",
    "drift_rule",
    "replay_settings",
    "retrain_config",
    "settings_with",
    "train_config",
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
    from stocky.core.volatility import validate_interval_method

    if settings.order != "auto":
        ArimaOrder.parse(settings.order)
    parse_families(settings.families)
    validate_interval_method(settings.interval)


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
    from stocky.adapters.prices import make_price_source
    from stocky.adapters.registry import ModelRegistry
    from stocky.adapters.store import PriceRepository, create_schema, make_engine
    from stocky.adapters.store.audit import AuditRepository
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
