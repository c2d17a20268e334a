"""Replay the whole loop over 2008-2009 on real S&P 500 closes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from stocky.adapters.store import make_engine
from stocky.adapters.store.audit import AuditRepository
from stocky.adapters.store.predictions import PredictionRepository
from stocky.cli.main import app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_replay_2008_2009_drifts_retrains_and_only_promotes_better_models(cli_env, monkeypatch):
    # the rolling-error rule (STOCKY_DRIFT_DETECTOR=rule): the 2008 volatility trips it
    monkeypatch.setenv("STOCKY_DRIFT_DETECTOR", "rule")
    result = CliRunner().invoke(
        app, ["replay", "-t", "^GSPC", "--start", "2008-01-02", "--end", "2009-12-31"]
    )
    assert result.exit_code == 0, result.output
    folder = cli_env / "replays" / "gspc-2008-01-02-2009-12-31"
    assert "replay of ^GSPC 2008-01-02..2009-12-31: 505 sessions" in result.output

    engine = make_engine(f"sqlite:///{folder / 'stocky.db'}")
    audit = AuditRepository(engine)
    checks = audit.drift_checks("^GSPC")
    assert len(checks) == 505
    assert sum(c.drifted for c in checks) >= 1  # the 2008 crash raises drift
    decisions = audit.promotions("^GSPC")
    assert decisions, "drift must lead to at least one promotion decision"
    for d in decisions:
        assert d.triggered_by == "drift"
        if d.action == "promote":
            # a promotion never raises the champion's holdout RMSE
            assert d.challenger_rmse < d.champion_rmse
            assert d.challenger_rmse <= d.naive_rmse
    labeled = PredictionRepository(engine).labeled("^GSPC")
    assert len(labeled) == 504 and set(labeled["source"]) == {"replay"}
    assert f"drift checks fired {sum(c.drifted for c in checks)}" in result.output
    kinds = audit.alert_counts("^GSPC")
    expected = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"
    assert f"alerts             {expected}" in result.output
    assert (folder / "report" / "index.html").exists()

    # the user's live state was not touched
    live = cli_env / "stocky.db"
    if live.exists():
        assert PredictionRepository(make_engine(f"sqlite:///{live}")).count() == 0
    assert not (cli_env / "mlflow.db").exists()
