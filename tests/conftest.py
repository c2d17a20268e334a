"""Shared fixtures (none autouse: a test asks for what it needs).

Every test run uses one BLAS thread and never touches the internet.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from stocky.config import get_settings  # noqa: E402
from stocky.runtime import limit_blas_threads  # noqa: E402
from support import make_settings, train_into  # noqa: E402

limit_blas_threads(1)


@pytest.fixture(scope="session")
def sp500_frame() -> pd.DataFrame:
    """Real S&P 500 daily prices, 1999-2018, shipped inside the `arch` package."""
    import arch.data.sp500

    return arch.data.sp500.load()


@pytest.fixture(scope="session")
def sp500_close(sp500_frame: pd.DataFrame) -> np.ndarray:
    return sp500_frame["Close"].to_numpy(dtype=float)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the CLI at a fresh state folder under tmp_path with the offline bundled prices.

    Yields the state folder; the cached Settings are cleared before and after.
    """
    home = tmp_path / "home"
    monkeypatch.setenv("STOCKY_HOME", str(home))
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "bundled")
    for var in list(os.environ):
        if var.startswith("STOCKY_") and var not in ("STOCKY_HOME", "STOCKY_PRICE_SOURCE"):
            monkeypatch.delenv(var)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


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
