"""Executors run per-ticker tasks inline or in worker processes; failures come back as data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stocky.adapters.executor import (
    InlineExecutor,
    PoolExecutor,
    check_shared_stores,
    make_executor,
)
from stocky.config import Settings
from stocky.errors import BadInput, DataUnavailable


def square_or_fail(item: int, offset: int) -> tuple[int, int]:
    if item == 3:
        raise DataUnavailable(f"no data for {item}")
    return item * item + offset, os.getpid()


def test_inline_runs_in_order_and_isolates_failures() -> None:
    out = list(InlineExecutor().map(square_or_fail, [1, 2, 3, 4], 10))
    assert [o.item for o in out] == [1, 2, 3, 4]
    assert [o.value[0] for o in out if o.ok] == [11, 14, 26]
    failed = [o for o in out if not o.ok]
    assert len(failed) == 1 and failed[0].error == "no data for 3" and failed[0].exit_code == 3


def test_pool_runs_in_other_processes_and_isolates_failures() -> None:
    pool = PoolExecutor(2)
    try:
        out = {o.item: o for o in pool.map(square_or_fail, list(range(6)), 1)}
    finally:
        pool.close()
    assert {i for i, o in out.items() if o.ok} == {0, 1, 2, 4, 5}
    assert out[5].value[0] == 26 and out[3].error == "no data for 3"
    assert os.getpid() not in {o.value[1] for o in out.values() if o.ok}


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
