"""The local process pool runs tasks in spawned workers; failures come back as Outcomes."""

from __future__ import annotations

import os

import pytest

from executor_tasks import square_or_fail
from stocky.adapters.executor import PoolExecutor

pytestmark = pytest.mark.integration


def test_pool_runs_in_other_processes_and_isolates_failures() -> None:
    pool = PoolExecutor(2)
    try:
        out = {o.item: o for o in pool.map(square_or_fail, list(range(6)), 1)}
    finally:
        pool.close()
    assert {i for i, o in out.items() if o.ok} == {0, 1, 2, 4, 5}
    assert out[5].value[0] == 26 and out[3].error == "no data for 3"
    assert os.getpid() not in {o.value[1] for o in out.values() if o.ok}
