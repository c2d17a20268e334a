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

__all__ = ["Services", "build_registry", "build_services"]


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
