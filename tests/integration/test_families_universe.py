"""A small universe where different families win, trained through the real CLI (worker
processes, real SQLite and MLflow stores, the global LightGBM fitted once on the universe).

SYNTHETIC prices, one kind per ticker, on real XNYS session dates:
- RW: a pure random walk (naive must be kept);
- AR: AR(1) log returns, phi 0.5 (something other than naive must win);
- TREND: a strong steady drift with little noise (a trending family must win);
- LEVEL: a random walk seen through heavy noise (a smoothing family must win).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fakes import price_frame
from stocky.adapters.store import PriceRepository, create_schema, make_engine
from stocky.cli.main import app
from stocky.config import get_settings
from support import make_settings, registry_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

runner = CliRunner()
FETCHED = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)
N = 800


def _series(kind: str, rng: np.random.Generator) -> np.ndarray:
    e = rng.normal(0.0, 0.01, N)
    if kind == "RW":
        return 100 * np.exp(np.cumsum(e))
    if kind == "AR":
        r = np.zeros(N)
        for t in range(1, N):
            r[t] = 0.5 * r[t - 1] + e[t]
        return 100 * np.exp(np.cumsum(r))
    if kind == "TREND":
        return 100 + np.cumsum(0.5 + rng.normal(0.0, 0.2, N))
    level = 100 * np.exp(np.cumsum(rng.normal(0.0, 0.003, N)))
    return level + rng.normal(0.0, 1.0, N)


def test_different_families_win_on_different_series(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    monkeypatch.setenv("STOCKY_HOME", str(home))
    for var in ("STOCKY_FAMILIES", "STOCKY_ORDER"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    settings = make_settings(home)
    settings.ensure_home()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    repo = PriceRepository(engine)
    for i, kind in enumerate(("RW", "AR", "TREND", "LEVEL")):
        frame = price_frame(_series(kind, np.random.default_rng(40 + i)), end=dt.date(2018, 12, 31))
        repo.upsert(kind, frame, source="synthetic", fetched_at=FETCHED)
    engine.dispose()
    try:
        result = runner.invoke(
            app,
            [
                "train",
                "--all",
                "--no-pull",
                "--jobs",
                "2",
                "--test-size",
                "150",
                "--train-window",
                "500",
            ],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    registry = registry_for(settings)
    champions = {}
    for ticker in ("RW", "AR", "TREND", "LEVEL"):
        champ = registry.champion(ticker)
        assert champ is not None, ticker
        champions[ticker] = champ.spec.model_type
    assert champions["RW"] == "naive", champions
    assert champions["AR"] != "naive", champions
    assert champions["TREND"] in ("drift", "ets", "theta", "arima"), champions
    assert champions["LEVEL"] in ("ets", "arima", "theta"), champions
    assert len(set(champions.values())) >= 3, champions
    # the global model was fitted once for the universe and shared
    assert len(list((home / "globals").glob("*.json"))) == 1
