"""`stocky train` over a small universe through the real CLI: worker processes, real SQLite and
MLflow stores, one ticker failing, a resumed run, and the same models whatever the job count.

The universe is SYNTHETIC: seeded random walks stored with source `synthetic` and trained with
`--no-pull` (worker processes build their own stores from Settings, so the data must be where
Settings point).
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
from stocky.pipelines.fleet import PARTIAL_EXIT
from support import make_settings, registry_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

runner = CliRunner()
GOOD = ["SYN0", "SYN1", "SYN2"]
SHORT = "SYN3"  # 60 sessions: fewer than the 160 training needs
FETCHED = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)


def _store_universe(home: Path) -> None:
    settings = make_settings(home)
    settings.ensure_home()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    repo = PriceRepository(engine)
    for i, ticker in enumerate([*GOOD, SHORT]):
        rng = np.random.default_rng(100 + i)
        n = 60 if ticker == SHORT else 300
        # SYNTHETIC: an AR(1) on returns so the order search has something to find
        returns = np.zeros(n)
        noise = rng.normal(0, 0.01, n)
        for t in range(1, n):
            returns[t] = 0.3 * returns[t - 1] + noise[t]
        frame = price_frame(50 * np.exp(np.cumsum(returns)), end=dt.date(2018, 12, 31))
        repo.upsert(ticker, frame, source="synthetic", fetched_at=FETCHED)
    engine.dispose()


@pytest.fixture
def universe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Point the CLI at a home of its own; returns a function that switches to another one."""

    def use(name: str) -> Path:
        home = tmp_path / name
        monkeypatch.setenv("STOCKY_HOME", str(home))
        get_settings.cache_clear()
        _store_universe(home)
        return home

    for var, value in {
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_ORDER": "auto",
        "STOCKY_TEST_SIZE": "40",
        "STOCKY_VALIDATION_SIZE": "20",
        "STOCKY_TRAIN_WINDOW": "200",
        "STOCKY_MIN_TRAIN_SIZE": "100",
    }.items():
        monkeypatch.setenv(var, value)
    yield use
    get_settings.cache_clear()


def _champions(home: Path) -> dict[str, tuple[str, str, dict[str, object]]]:
    registry = registry_for(make_settings(home))
    found = {}
    for ticker, version in sorted(registry.alias_map("champion").items()):
        spec = registry.load_version(ticker, version)
        found[ticker] = (spec.model_type, spec.label, dict(spec.params))
    return found


def test_pool_isolates_a_failure_resumes_and_matches_one_job(universe) -> None:  # type: ignore[no-untyped-def]
    pooled = universe("pooled")
    result = runner.invoke(app, ["train", "--all", "--no-pull", "--jobs", "2"])
    assert result.exit_code == PARTIAL_EXIT, result.output
    assert f"error: {SHORT}: only 60 price rows, at least 160 are needed" in result.output
    assert "trained 3, failed 1, skipped 0" in result.output
    registry = registry_for(make_settings(pooled))
    assert registry.alias_map("champion") == dict.fromkeys(GOOD, 1)
    run = registry.client.get_run(registry.alias_version("SYN0", "champion").run_id)  # type: ignore[union-attr]
    assert run.data.params["source"] == "synthetic"
    assert {"metrics.json", "walk_forward.csv", "forecast_vs_actual.png", "model"} == {
        a.path for a in registry.client.list_artifacts(run.info.run_id)
    }

    # resuming skips the three champions (one registry listing) and retries the short one
    again = runner.invoke(app, ["train", "--all", "--no-pull", "--if-missing", "--jobs", "2"])
    assert again.exit_code == 2, again.output  # every attempted ticker failed: its own code
    assert "a champion exists, skipped (--if-missing): SYN0, SYN1, SYN2" in (again.output)
    assert [v.version for v in registry.versions("SYN0")] == [1]

    inline = universe("inline")
    one = runner.invoke(
        app, ["train", "-t", "syn0", "-t", "SYN1", "-t", "SYN2", "--no-pull", "--jobs", "1"]
    )
    assert one.exit_code == 0, one.output
    pooled_models, inline_models = _champions(pooled), _champions(inline)
    assert list(inline_models) == GOOD
    assert inline_models == pooled_models  # same orders and parameters, bit for bit
    # the comparison covers fitted parameters (floats compared bit for bit), whichever family
    assert all(params for _kind, _label, params in inline_models.values())
