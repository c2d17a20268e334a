"""The daily job's one set-based path on the in-memory backend: each ticker run alone (a fleet
of one) stores the same drift checks, alerts, labels and forecasts as the whole fleet run
together, day after day; a failing ticker is isolated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import daily_scenario as sc
from fakes import FakeAuditLog, FakePredictionLog, FakePriceStore, FakeRegistry
from stocky.cli.daily import attention

pytestmark = pytest.mark.integration  # six tickers x 30 sessions, alone and together


def _fakes() -> tuple[FakePredictionLog, FakeAuditLog, FakePriceStore]:
    return FakePredictionLog(), FakeAuditLog(), FakePriceStore()


def test_a_fleet_stores_what_its_tickers_store_run_alone(
    tmp_path: Path, sp500_close: np.ndarray
) -> None:
    old = sc.build(tmp_path / "old", sp500_close, _fakes)
    new = sc.build(tmp_path / "new", sp500_close, _fakes)
    old_days = sc.run_days(old, alone=True)
    new_days = sc.run_days(new)
    assert sc.outcome_facts(new_days) == sc.outcome_facts(old_days)
    before, after = sc.stored_rows(old), sc.stored_rows(new)
    assert after == before
    # the scenario reaches the states it was built for (else the comparison proves little)
    decisions = {(c[0], c[2]) for c in after["checks"]}
    assert ("VOL", "volatility_changed") in decisions and ("NEW", "no_champion") in decisions
    kinds = {(a[0], a[1]) for a in after["alerts"]}
    assert {("VOL", "volatility_changed"), ("LAG", "labels_late")} <= kinds
    assert any(c[2] in ("model_degraded", "cooldown") for c in after["checks"] if c[0] == "FLIP")
    # GONE's source fails: listed failed every day, nothing stored for it, the rest go on
    last = {o.ticker: o for o in new_days[-1]}
    assert last["GONE"].day is None and "fake source has no GONE" in (last["GONE"].error or "")
    assert all(last[t].error is None for t in ("AAA", "FLIP", "LAG", "NEW", "VOL"))
    assert not [c for c in after["checks"] if c[0] == "GONE"]
    # the summary lists what needs attention first: the failure, then the degraded model
    ranked = [attention(o) for o in sorted(new_days[-1], key=attention)]
    assert sorted(new_days[-1], key=attention)[0].ticker == "GONE" and ranked == sorted(ranked)
    flip = [o for day in new_days for o in day if o.ticker == "FLIP" and o.day is not None]
    assert any(attention(o) == 1 for o in flip)
    labeled = [p for p in after["predictions"] if p[10] != "None"]
    assert {p[0] for p in labeled} == {"AAA", "FLIP", "LAG", "VOL"}


def test_fleet_path_reads_the_registry_once_for_every_champion(
    tmp_path: Path, sp500_close: np.ndarray
) -> None:
    stack = sc.build(tmp_path, sp500_close, _fakes)
    assert isinstance(stack.registry, FakeRegistry)
    stack.registry.reads.clear()
    sc.run_days(stack)
    # one listing a day (NEW has no champion: asked again each run, not each step); the
    # specs are read once and held; no alias look-up per ticker
    assert stack.registry.reads.count("list champion") == sc.DAYS
    assert sorted(r for r in stack.registry.reads if r.startswith("load")) == [
        "load AAA v1",
        "load FLIP v1",
        "load LAG v1",
        "load VOL v1",
    ]
    assert not [r for r in stack.registry.reads if r.startswith("alias")]
