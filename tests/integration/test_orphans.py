"""A killed `stocky train` leaves nothing behind: its pool workers exit with it, and MLflow runs
it left RUNNING are ended (FAILED on an error, KILLED by the next train's sweep).

The universe is SYNTHETIC (seeded random walks stored with source `synthetic`)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from fakes import price_frame
from stocky.adapters.ports import RunRecord
from stocky.adapters.store import PriceRepository, create_schema, make_engine
from support import make_settings, registry_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FETCHED = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[2]


def _store_universe(home: Path, count: int) -> None:
    settings = make_settings(home)
    settings.ensure_home()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    repo = PriceRepository(engine)
    for i in range(count):
        rng = np.random.default_rng(500 + i)
        closes = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))  # SYNTHETIC random walk
        frame = price_frame(closes, end=dt.date(2018, 12, 31))
        repo.upsert(f"SYN{i}", frame, source="synthetic", fetched_at=FETCHED)
    engine.dispose()


def test_kill_9_of_train_leaves_no_worker_behind(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _store_universe(home, 40)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "STOCKY_HOME": str(home),
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_ORDER": "0,1,1",
        "STOCKY_TEST_SIZE": "40",
        "STOCKY_VALIDATION_SIZE": "20",
        "STOCKY_TRAIN_WINDOW": "200",
        "STOCKY_MIN_TRAIN_SIZE": "100",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "stocky", "train", "--all", "--no-pull", "--jobs", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    parent = psutil.Process(proc.pid)
    left: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 90
        children: list[psutil.Process] = []
        while time.monotonic() < deadline and proc.poll() is None:
            children = parent.children(recursive=True)
            workers = [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]
            if len(workers) >= 2:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "train finished before it could be killed: grow the universe"
        assert len(children) >= 2, "the pool never started its workers"
        time.sleep(1.0)  # let the workers take their first tickers
        children = parent.children(recursive=True)

        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        _, left = psutil.wait_procs(children, timeout=10)
        assert left == [], [(p.pid, p.cmdline()) for p in left]
    finally:
        for process in left:
            process.kill()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_a_run_that_fails_while_logging_is_ended_as_failed(tmp_path: Path) -> None:
    from stocky.core.spec import ModelSpec

    registry = registry_for(make_settings(tmp_path / "home"))
    record = RunRecord(
        run_name="broken",
        params={},
        metrics={"rmse": "not a number"},  # type: ignore[dict-item]
        tags={"ticker": "SYN0"},
        artifacts={},
    )
    with pytest.raises(ValueError):
        registry.log_run(record, spec=ModelSpec.__new__(ModelSpec))
    (run,) = registry.client.search_runs([registry.experiment_id()])
    assert run.info.status == "FAILED"


def test_the_next_train_ends_stale_running_runs_as_killed(tmp_path: Path) -> None:
    registry = registry_for(make_settings(tmp_path / "home"))
    now = dt.datetime(2025, 1, 2, 12, 0, tzinfo=dt.UTC)
    at = int((now - dt.timedelta(hours=2)).timestamp() * 1000)
    old = registry.client.create_run(registry.experiment_id(), start_time=at).info.run_id
    recent_at = int((now - dt.timedelta(minutes=1)).timestamp() * 1000)
    recent = registry.client.create_run(registry.experiment_id(), start_time=recent_at).info.run_id

    ended = registry.end_stale_runs(now=now, older_than=dt.timedelta(minutes=30))

    assert ended == [old]
    assert registry.client.get_run(old).info.status == "KILLED"
    assert registry.client.get_run(recent).info.status == "RUNNING"  # may still be logging
