"""Build the adapters a command needs from Settings (one place, so commands stay short)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stocky.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from stocky.adapters.prices.base import PriceSource
    from stocky.adapters.registry import ModelRegistry
    from stocky.adapters.store.prices import PriceRepository
    from stocky.pipelines.retrain import RetrainConfig
    from stocky.pipelines.train import TrainConfig

__all__ = ["Services", "build_registry", "build_services", "retrain_config", "train_config"]


@dataclass
class Services:
    """The adapters most commands use."""

    settings: Settings
    engine: Engine
    source: PriceSource
    prices: PriceRepository


def build_services(settings: Settings) -> Services:
    """Engine with schema, price source and price repository."""
    from stocky.adapters.prices import make_price_source
    from stocky.adapters.store import PriceRepository, create_schema, make_engine

    engine = make_engine(settings.db_url)
    create_schema(engine)
    return Services(settings, engine, make_price_source(settings), PriceRepository(engine))


def build_registry(settings: Settings) -> ModelRegistry:
    """The MLflow registry for these settings."""
    from stocky.adapters.registry import ModelRegistry

    return ModelRegistry(
        tracking_uri=settings.tracking_uri,
        experiment=settings.mlflow_experiment,
        artifact_root=settings.artifact_root,
    )


def train_config(
    settings: Settings,
    *,
    order: str | None = None,
    test_size: int | None = None,
    train_window: int | None = None,
    refit_every: int | None = None,
) -> TrainConfig:
    """The training configuration from Settings, with CLI overrides."""
    from stocky.pipelines.train import TrainConfig

    return TrainConfig(
        order=order or settings.order,
        test_size=settings.test_size if test_size is None else test_size,
        validation_size=settings.validation_size,
        train_window=settings.train_window if train_window is None else train_window,
        refit_every=settings.refit_every if refit_every is None else refit_every,
        min_train_size=settings.min_train_size,
        interval=settings.interval,
        interval_window=settings.max_prices,
    )


def retrain_config(
    settings: Settings,
    *,
    order: str | None = None,
    holdout: int | None = None,
    min_improvement: float | None = None,
    naive_tolerance: float | None = None,
    dm_alpha: float | None = None,
) -> RetrainConfig:
    """The retrain configuration and promotion policy from Settings, with CLI overrides."""
    from stocky.core.promotion import PromotionPolicy
    from stocky.pipelines.retrain import RetrainConfig

    size = holdout or settings.holdout_size
    return RetrainConfig(
        order=order or settings.order,
        holdout_size=size,
        validation_size=size,
        train_window=settings.train_window,
        min_train_size=settings.min_train_size,
        interval=settings.interval,
        interval_window=settings.max_prices,
        policy=PromotionPolicy(
            min_improvement=settings.min_improvement
            if min_improvement is None
            else min_improvement,
            naive_tolerance=settings.naive_tolerance
            if naive_tolerance is None
            else naive_tolerance,
            dm_alpha=settings.dm_alpha if dm_alpha is None else dm_alpha,
        ),
    )
