"""Training a universe on fakes: failures isolated, exit codes, resuming from one listing.

Prices are SYNTHETIC (seeded random walks) except where named.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakes import FakeRegistry, FakeSource, fake_stack, price_frame
from stocky.adapters.executor import InlineExecutor, Outcome
from stocky.config import Settings
from stocky.errors import BadInput
from stocky.pipelines.fleet import (
    PARTIAL_EXIT,
    FleetResult,
    TrainFailure,
    TrainOptions,
    TrainTask,
    missing_champions,
    split_test_size,
    train_fleet,
)

END = dt.date(2018, 12, 31)
NOW = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)


def synthetic(seed: int, n: int = 260) -> pd.DataFrame:
    """A SYNTHETIC seeded random walk of n closes on the XNYS sessions ending at END."""
    rng = np.random.default_rng(seed)
    return price_frame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), end=END)


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        order="0,1,1",
        test_size=40,
        validation_size=20,
        train_window=200,
        min_train_size=100,
    )


def test_one_failing_ticker_never_stops_the_rest(tmp_path: Path) -> None:
    frames = {f"SYN{i}": synthetic(i) for i in range(3)} | {"SHORT": synthetic(9, n=50)}
    stack = fake_stack(_settings(tmp_path), frames)
    seen: list[Outcome] = []
    result = train_fleet(
        stack=stack,
        tasks=[TrainTask(t) for t in ["SHORT", "SYN0", "SYN1", "SYN2", "NOPE"]],
        options=TrainOptions(now=NOW),
        executor=InlineExecutor(),
        on_outcome=seen.append,
    )
    assert [s.ticker for s in result.trained] == ["SYN0", "SYN1", "SYN2"]
    assert all(s.alias == "champion" and s.version == 1 for s in result.trained)
    assert all(s.source == "fake" and s.model == "ARIMA(0,1,1)" for s in result.trained)
    failed = {f.ticker: f for f in result.failed}
    assert set(failed) == {"NOPE", "SHORT"}
    assert (
        "only 50 price rows, at least 160" in failed["SHORT"].error
        and failed["SHORT"].exit_code == 2
    )
    assert "no NOPE" in failed["NOPE"].error and failed["NOPE"].exit_code == 3
    assert result.exit_code == PARTIAL_EXIT
    assert len(seen) == 5
    assert stack.registry.alias_map("champion") == {f"SYN{i}": 1 for i in range(3)}


class CrashingSource(FakeSource):
    """Serves its frames, but one ticker's fetch fails the way a numeric library can."""

    def fetch(self, ticker: str, start=None, end=None):  # type: ignore[no-untyped-def]
        if ticker == "BOOM":
            raise np.linalg.LinAlgError("LU decomposition error.")
        return super().fetch(ticker, start, end)


def test_an_unexpected_error_is_isolated_inline_too(tmp_path: Path) -> None:
    stack = fake_stack(_settings(tmp_path), {})
    stack._source = CrashingSource({"SYN0": synthetic(0)})
    result = train_fleet(
        stack=stack,
        tasks=[TrainTask("BOOM"), TrainTask("SYN0")],
        options=TrainOptions(now=NOW),
        executor=InlineExecutor(),
    )
    assert [s.ticker for s in result.trained] == ["SYN0"]
    assert result.failed == (TrainFailure("BOOM", "LinAlgError: LU decomposition error.", 1),)
    assert result.exit_code == PARTIAL_EXIT


def test_exit_code_ok_partial_or_the_first_failure() -> None:
    assert FleetResult(trained=(), failed=(), skipped=("A",)).exit_code == 0
    fail = (TrainFailure("A", "a", 3), TrainFailure("B", "b", 2))
    assert FleetResult(trained=(), failed=fail).exit_code == 3
    trained = (object(),)
    assert FleetResult(trained=trained, failed=fail[1:]).exit_code == PARTIAL_EXIT  # type: ignore[arg-type]


def test_if_missing_asks_the_registry_once_for_the_whole_universe(tmp_path: Path) -> None:
    registry = FakeRegistry()
    stack = fake_stack(_settings(tmp_path), {"A": synthetic(1), "B": synthetic(2)})
    stack.registry = registry
    train_fleet(
        stack=stack,
        tasks=[TrainTask("A")],
        options=TrainOptions(now=NOW),
        executor=InlineExecutor(),
    )
    # B has a version but no champion (a run stopped between register and the alias move)
    registry.log_run(registry.runs["run-1"][0], spec=registry.runs["run-1"][1])
    registry.register("B", "run-2", tags={})
    registry.calls.clear()
    todo, skipped = missing_champions(registry, ["A", "B", "C"])
    assert (todo, skipped) == (["B", "C"], ["A"])
    assert registry.calls == ["alias_map champion"]


def test_split_date_sets_the_test_size_or_says_how_to_fix_it() -> None:
    frame = synthetic(3)
    assert split_test_size(frame, dt.date(2018, 11, 29)) == 20
    with pytest.raises(BadInput, match="only 1 sessions after --split-date 2018-12-28"):
        split_test_size(frame, dt.date(2018, 12, 28))
