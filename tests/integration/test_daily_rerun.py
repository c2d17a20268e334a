"""A rerun of `stocky daily` for a session adds nothing already done (real SQLite and MLflow):
one drift check per (ticker, session), one retrain decision per (ticker, session), no second
promotion, no second registered version.

Prices come from `STOCKY_PRICE_SOURCE=synthetic` (seeded random walks, labelled synthetic).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from stocky.adapters.store import make_engine
from stocky.adapters.store.tables import drift_checks, promotions
from stocky.cli.main import app as cli
from stocky.config import get_settings
from support import registry_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 4
DAY = dt.date(2024, 12, 31)
SMALL = {
    "STOCKY_PRICE_SOURCE": "synthetic",
    "STOCKY_SYNTHETIC_TICKERS": str(N),
    "STOCKY_SYNTHETIC_SESSIONS": "300",
    "STOCKY_SYNTHETIC_END": DAY.isoformat(),
    "STOCKY_ORDER": "0,1,1",
    "STOCKY_TEST_SIZE": "20",
    "STOCKY_VALIDATION_SIZE": "20",
    "STOCKY_TRAIN_WINDOW": "200",
    "STOCKY_MIN_TRAIN_SIZE": "100",
    "STOCKY_HOLDOUT_SIZE": "20",
    "STOCKY_RELOAD_INTERVAL_SECONDS": "0",
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "home"
    for var in list(os.environ):
        if var.startswith("STOCKY_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("STOCKY_HOME", str(path))
    for key, value in SMALL.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def _counts(home: Path) -> tuple[dict[str, int], dict[str, list[str]], dict[str, int]]:
    engine = make_engine(f"sqlite:///{home / 'stocky.db'}")
    with engine.connect() as conn:
        checks = dict(
            conn.execute(
                sa.select(drift_checks.c.ticker, sa.func.count())
                .where(drift_checks.c.as_of == DAY)
                .group_by(drift_checks.c.ticker)
            ).all()
        )
        decisions: dict[str, list[str]] = {}
        for ticker, action in conn.execute(
            sa.select(promotions.c.ticker, promotions.c.action)
            .where(promotions.c.as_of == DAY)
            .order_by(promotions.c.id)
        ).all():
            decisions.setdefault(ticker, []).append(action)
    engine.dispose()
    registry = registry_for(get_settings())
    versions = {t: len(registry.versions(t)) for t in registry.tickers()}
    return checks, decisions, versions


def test_rerunning_a_session_with_retrain_always_adds_nothing(home: Path) -> None:
    runner = CliRunner()
    trained = runner.invoke(cli, ["train", "--all", "--jobs", "1"])
    assert trained.exit_code == 0, trained.output
    args = ["daily", "--as-of", DAY.isoformat(), "--retrain", "always", "--no-report"]

    first = runner.invoke(cli, [*args, "--jobs", "1"])
    assert first.exit_code == 0, first.output
    checks, decisions, versions = _counts(home)
    assert len(checks) == N and set(checks.values()) == {1}
    assert len(decisions) == N and all(len(d) == 1 for d in decisions.values()), decisions

    again = runner.invoke(cli, [*args, "--jobs", "1"])
    assert again.exit_code == 0, again.output
    assert "already retrained" not in again.output  # progress goes to the log, not stdout
    assert _counts(home) == (checks, decisions, versions)
    promoted = [t for t, d in decisions.items() if d.count("promote") > 1]
    assert promoted == []
