"""Retrain and promotion against a real MLflow store: aliases, audit rows, rollback, kill safety."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest

from stocky.adapters.prices.bundled import BundledSource
from stocky.adapters.store import make_engine
from stocky.adapters.store.audit import AuditRepository
from stocky.core.promotion import PromotionPolicy
from stocky.pipelines.retrain import RetrainConfig, retrain_ticker, rollback
from support import make_settings, registry_for

pytestmark = pytest.mark.integration

AS_OF = dt.date(2018, 12, 31)
NOW = dt.datetime(2019, 1, 1, 12, 0, tzinfo=dt.UTC)
FAST = RetrainConfig(
    order="1,1,1", holdout_size=63, validation_size=63, train_window=500, min_train_size=100
)


@pytest.fixture
def home(fresh_trained_home):
    return fresh_trained_home()


def _deps(home):
    settings = make_settings(home)
    return settings, registry_for(settings), AuditRepository(make_engine(settings.db_url))


def test_promote_moves_aliases_and_audits(home):
    settings, registry, audit = _deps(home)
    prices = BundledSource().fetch("^GSPC")
    result = retrain_ticker(
        ticker="^GSPC",
        prices=prices,
        registry=registry,
        audit=audit,
        config=FAST,
        as_of=AS_OF,
        now=NOW,
        triggered_by="manual",
        force=True,
    )
    assert result.promoted and result.from_version == 1 and result.to_version == 2
    assert registry.alias_version("^GSPC", "champion").version == 2  # type: ignore[union-attr]
    assert registry.alias_version("^GSPC", "previous").version == 1  # type: ignore[union-attr]
    spec, _ = registry.load_spec("^GSPC")
    assert spec.train_end == "2018-12-31"  # refitted on everything up to as_of
    assert spec.arima_params.order.p == 1 and spec.arima_params.order.q == 1
    row = audit.promotions("^GSPC")[0]
    assert row.action == "promote" and row.from_version == 1 and row.to_version == 2
    assert row.challenger_rmse == pytest.approx(result.decision.challenger_rmse)
    assert row.naive_rmse == pytest.approx(result.decision.naive_rmse)
    run = registry.client.get_run(result.run_id)
    assert {"champion_rmse", "challenger_rmse", "naive_rmse", "promoted"} <= set(run.data.metrics)
    assert run.data.params["decision"] == "promote"
    assert result.holdout == ("2018-10-01", "2018-12-31")

    back = rollback(ticker="^GSPC", registry=registry, audit=audit, now=NOW, as_of=None)
    assert back == (2, 1)
    assert registry.alias_version("^GSPC", "champion").version == 1  # type: ignore[union-attr]
    assert audit.promotions("^GSPC")[0].action == "rollback"


def test_rejected_challenger_leaves_champion(home):
    settings, registry, audit = _deps(home)
    prices = BundledSource().fetch("^GSPC")
    strict = RetrainConfig(**{**FAST.__dict__, "policy": PromotionPolicy(min_improvement=0.5)})
    result = retrain_ticker(
        ticker="^GSPC",
        prices=prices,
        registry=registry,
        audit=audit,
        config=strict,
        as_of=AS_OF,
        now=NOW,
        triggered_by="manual",
    )
    assert not result.promoted and result.to_version is None
    assert "at least 50.0% lower" in result.decision.reason
    assert registry.alias_version("^GSPC", "champion").version == 1  # type: ignore[union-attr]
    assert [v.version for v in registry.versions("^GSPC")] == [
        1
    ]  # a rejected challenger is not registered
    assert audit.promotions("^GSPC")[0].action == "reject"
    run = registry.client.get_run(result.run_id)
    assert run.data.metrics["promoted"] == 0.0


def test_rollback_without_previous_says_why(home):
    settings, registry, audit = _deps(home)
    from stocky.errors import ModelNotFound

    with pytest.raises(ModelNotFound, match="no 'previous' version"):
        rollback(ticker="^GSPC", registry=registry, audit=audit, now=NOW, as_of=None)


def test_cli_exit_codes(home, monkeypatch):
    from typer.testing import CliRunner

    from stocky.cli.main import app
    from stocky.config import get_settings

    monkeypatch.setenv("STOCKY_HOME", str(home))
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "bundled")
    monkeypatch.setenv("STOCKY_TRAIN_WINDOW", "500")
    get_settings.cache_clear()
    runner = CliRunner()
    rejected = runner.invoke(
        app, ["retrain", "--as-of", "2018-12-31", "--order", "1,1,1", "--min-improvement", "0.5"]
    )
    assert rejected.exit_code == 20, rejected.output
    assert "REJECTED, champion stays v1" in rejected.output
    promoted = runner.invoke(
        app, ["retrain", "--as-of", "2018-12-31", "--order", "1,1,1", "--force"]
    )
    assert promoted.exit_code == 0, promoted.output
    assert "PROMOTED v2 (was v1)" in promoted.output
    back = runner.invoke(app, ["rollback"])
    assert back.exit_code == 0 and "from v2 to v1" in back.output
    get_settings.cache_clear()


def test_killed_retrain_leaves_a_loadable_champion(home):
    """Kill `stocky retrain --force` at several moments; champion must always load."""
    settings = make_settings(home)
    env = {
        **os.environ,
        "STOCKY_HOME": str(home),
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_TRAIN_WINDOW": "500",
    }
    cmd = [
        sys.executable,
        "-m",
        "stocky",
        "retrain",
        "--as-of",
        "2018-12-31",
        "--order",
        "1,1,1",
        "--force",
    ]
    # a full run first, to know how long one takes on this machine
    t0 = time.monotonic()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    full = time.monotonic() - t0
    for fraction in (0.3, 0.6, 0.8, 0.9, 0.95):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(full * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        registry = registry_for(settings)  # a fresh client, as a restarted server would have
        spec, info = registry.load_spec("^GSPC")
        assert spec.forecaster().forecast([100.0 + i for i in range(30)]).mean > 0
        assert info.version >= 1
