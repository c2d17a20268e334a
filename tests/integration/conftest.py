"""Fixtures with real SQLite files and a real MLflow store under tmp folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from support import make_settings, train_into


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with ^GSPC prices stored and a champion ARIMA(0,1,1) registered (read-only use)."""
    home = tmp_path_factory.mktemp("trained") / "home"
    train_into(make_settings(home))
    return home


@pytest.fixture
def fresh_trained_home(tmp_path: Path) -> Callable[[], Path]:
    """A home of the test's own, trained on demand (for tests that move aliases)."""

    def build() -> Path:
        home = tmp_path / "home"
        train_into(make_settings(home))
        return home

    return build
