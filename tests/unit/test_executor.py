"""Executors run per-ticker tasks inline or in worker processes; failures come back as data."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor_tasks import square_or_fail
from stocky.adapters.executor import InlineExecutor
from stocky.config import Settings
from stocky.errors import BadInput
from stocky.wiring import check_shared_stores, make_executor


def test_inline_runs_in_order_and_isolates_failures() -> None:
    out = list(InlineExecutor().map(square_or_fail, [1, 2, 3, 4], 10))
    assert [o.item for o in out] == [1, 2, 3, 4]
    assert [o.value[0] for o in out if o.ok] == [11, 14, 26]
    failed = [o for o in out if not o.ok]
    assert len(failed) == 1 and failed[0].error == "no data for 3" and failed[0].exit_code == 3


def test_make_executor_picks_by_settings(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert isinstance(make_executor(settings, jobs=1), InlineExecutor)
    with pytest.raises(BadInput, match="--jobs 0"):
        make_executor(settings, jobs=0)


def test_a_remote_cluster_refuses_stores_one_machine_owns(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, dask_address="tcp://10.0.0.5:8786")
    with pytest.raises(BadInput, match="STOCKY_DATABASE_URL.*STOCKY_MLFLOW_TRACKING_URI"):
        check_shared_stores(settings)
    shared = Settings(
        home=tmp_path,
        dask_address="tcp://10.0.0.5:8786",
        database_url="postgresql+psycopg://u@db/stocky",
        mlflow_tracking_uri="http://mlflow:5000",
    )
    check_shared_stores(shared)  # no error
