"""Every implementation of a port, as one parametrised fixture per port.

The in-memory backend runs everywhere; the real ones (SQLite, PostgreSQL from the embedded
server of the integration suite, MLflow over a local SQLite store) are marked `integration`.
A contract test asks for `stores` (prediction log, audit log and price store of one backend,
sharing a database as they do in a Stack) or `registry`, and asserts only what the port's
docstrings promise.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from integration.conftest import fresh_postgres_url, postgres_server  # noqa: F401 (fixtures)
from stocky.adapters.memory import (
    MemoryAuditLog,
    MemoryPredictionLog,
    MemoryPriceStore,
    MemoryRegistry,
)

STORE_BACKENDS = [
    "memory",
    pytest.param("sqlite", marks=pytest.mark.integration),
    pytest.param("postgresql", marks=pytest.mark.integration),
]
REGISTRY_BACKENDS = ["memory", pytest.param("mlflow", marks=pytest.mark.integration)]


@dataclass
class Stores:
    """The three database-backed ports of one backend."""

    name: str
    predictions: Any
    audit: Any
    prices: Any


@pytest.fixture(params=STORE_BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "memory":
        prices = MemoryPriceStore()
        yield Stores("memory", MemoryPredictionLog(prices=prices), MemoryAuditLog(), prices)
        return
    from stocky.adapters.store import PriceRepository, create_schema, make_engine
    from stocky.adapters.store.audit import AuditRepository
    from stocky.adapters.store.predictions import PredictionRepository

    url = (
        f"sqlite:///{tmp_path / 'stocky.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("fresh_postgres_url"))
    )
    engine = make_engine(url)
    create_schema(engine)
    predictions = PredictionRepository(engine)
    try:
        yield Stores(request.param, predictions, AuditRepository(engine), PriceRepository(engine))
    finally:
        predictions.close()
        engine.dispose()


@pytest.fixture(params=STORE_BACKENDS)
def board(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The leaderboard port of one backend."""
    if request.param == "memory":
        from stocky.adapters.memory import MemoryLeaderboard

        yield MemoryLeaderboard()
        return
    from stocky.adapters.store import create_schema, make_engine
    from stocky.adapters.store.leaderboard import LeaderboardRepository

    url = (
        f"sqlite:///{tmp_path / 'stocky.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("fresh_postgres_url"))
    )
    engine = make_engine(url)
    create_schema(engine)
    try:
        yield LeaderboardRepository(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _mlflow_registry(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One MLflow registry over a local SQLite store for the session (its migrations take
    seconds); tests keep apart by ticker."""
    from stocky.adapters.registry import ModelRegistry

    home = tmp_path_factory.mktemp("mlflow")
    return ModelRegistry(
        tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        experiment="contract",
        artifact_root=(home / "artifacts").as_uri(),
    )


@pytest.fixture(params=REGISTRY_BACKENDS)
def registry(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return MemoryRegistry()
    return request.getfixturevalue("_mlflow_registry")


_TICKERS = itertools.count(1)


@pytest.fixture
def ticker() -> str:
    """A ticker no other test of the session uses (the MLflow registry is shared)."""
    return f"CT{next(_TICKERS):04d}"
