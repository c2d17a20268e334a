"""Group commit of the prediction log on SQLite (inline) and PostgreSQL (thread pool)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import math
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.predictions import PredictionRecord, PredictionRepository
from stocky.api.logwriter import GroupCommitLog
from stocky.errors import BadInput, StoreError

NOW = dt.datetime(2018, 12, 28, 21, 0, tzinfo=dt.UTC)


def record(i: int) -> PredictionRecord:
    return PredictionRecord(
        ticker="^GSPC",
        created_at=NOW,
        as_of=dt.date(2018, 12, 28),
        target_date=dt.date(2018, 12, 31),
        prediction=2500.0 + i,
        lower=2400.0,
        upper=2600.0,
        naive=2485.74,
        model_name="stocky-gspc",
        model_version=1,
        arima_order="(0, 1, 0)",
        history_len=30,
        input_hash=f"h{i}",
        request_id=f"r{i}",
    )


@pytest.fixture
def repo(db_url: str) -> PredictionRepository:
    engine = make_engine(db_url)
    create_schema(engine)
    return PredictionRepository(engine)


def _log(repo: PredictionRepository, batches: list[int]) -> GroupCommitLog:
    now = functools.partial(repo.insert_many, wait=False)
    return GroupCommitLog(
        repo.insert_many,
        write_now=now if repo.engine.dialect.name == "sqlite" else None,
        on_batch=batches.append,
    )


def test_concurrent_writes_share_commits_and_each_gets_its_own_row(repo):
    batches: list[int] = []
    log = _log(repo, batches)

    async def burst() -> list[int]:
        return list(await asyncio.gather(*(log.write(record(i)) for i in range(40))))

    ids = asyncio.run(burst())
    assert len(set(ids)) == 40
    assert sum(batches) == 40
    assert len(batches) < 40  # rows were grouped, not committed one by one
    with repo.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, request_id FROM predictions")).all()
    assert {row.id: row.request_id for row in rows} == {ids[i]: f"r{i}" for i in range(40)}


def test_a_failed_batch_fails_every_request_in_it_and_keeps_nothing(repo):
    log = _log(repo, [])

    async def write(n: int) -> list[int | BaseException]:
        return list(
            await asyncio.gather(*(log.write(record(i)) for i in range(n)), return_exceptions=True)
        )

    assert all(isinstance(i, int) for i in asyncio.run(write(3)))
    with repo.engine.begin() as conn:  # a real failure: the table is gone
        conn.exec_driver_sql("ALTER TABLE predictions RENAME TO predictions_away")
    failed = asyncio.run(write(5))
    assert all(isinstance(e, StoreError) for e in failed), failed
    assert "could not log the prediction for ^GSPC" in str(failed[0])
    with repo.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE predictions_away RENAME TO predictions")
    assert repo.count() == 3  # the failed batch left no row behind
    assert all(isinstance(i, int) for i in asyncio.run(write(2)))  # and the writer recovers
    assert repo.count() == 5


def test_a_cancelled_request_does_not_break_the_batch(repo):
    log = _log(repo, [])

    async def scenario() -> tuple[list[int], bool]:
        doomed = asyncio.ensure_future(log.write(record(99)))
        others = [asyncio.ensure_future(log.write(record(i))) for i in range(3)]
        await asyncio.sleep(0)  # every write has queued its row
        doomed.cancel()
        ids = list(await asyncio.gather(*others))
        return ids, doomed.cancelled()

    ids, cancelled = asyncio.run(scenario())
    assert cancelled
    assert len(set(ids)) == 3
    assert repo.count() == 4  # a row queued before its request was cancelled is still logged


# the closed loop never starts the PostgreSQL drain task: Python warns about exactly that
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_a_flush_lost_with_its_closed_event_loop_does_not_stall_later_writes(repo):
    log = _log(repo, [])
    old = asyncio.new_event_loop()
    orphan = old.create_task(log.write(record(7)))
    old.call_soon(old.stop)
    old.run_forever()  # one turn: the row is queued and a flush scheduled, never run
    old.close()
    assert not orphan.done()
    orphan._log_destroy_pending = False  # type: ignore[attr-defined]  # it can never finish

    async def later() -> int:
        return await asyncio.wait_for(log.write(record(8)), timeout=10)

    assert isinstance(asyncio.run(later()), int)
    assert repo.count() == 2  # the orphaned row was written with the next batch


def test_a_row_that_is_not_finite_is_refused_before_it_is_queued(repo):
    log = _log(repo, [])
    hostile = dataclasses.replace(record(1), lower=-math.inf, upper=math.inf)

    async def scenario() -> list[int | BaseException]:
        return list(
            await asyncio.gather(
                log.write(record(0)),
                log.write(hostile),
                log.write(record(2)),
                return_exceptions=True,
            )
        )

    ok0, refused, ok2 = asyncio.run(scenario())
    assert isinstance(refused, BadInput)
    assert "lower is -inf: a logged prediction needs finite numbers" in str(refused)
    assert isinstance(ok0, int) and isinstance(ok2, int)
    assert repo.count() == 2


def test_a_row_the_database_refuses_fails_alone_and_its_batch_commits(repo, monkeypatch):
    # as if the check before queueing had missed it: the CHECK constraint is the last line
    monkeypatch.setattr(PredictionRecord, "validate", lambda self: None)
    batches: list[int] = []
    log = _log(repo, batches)
    hostile = dataclasses.replace(record(99), upper=math.inf)

    async def burst() -> list[int | BaseException]:
        writes = [log.write(record(i)) for i in range(10)]
        writes.insert(5, log.write(hostile))
        return list(await asyncio.gather(*writes, return_exceptions=True))

    results = asyncio.run(burst())
    refused = results.pop(5)
    assert isinstance(refused, BadInput), refused
    assert "ck_predictions_upper_finite" in str(refused)
    assert all(isinstance(i, int) for i in results), results
    assert repo.count() == 10 and sum(batches) == 10
    assert log.failure is None  # one bad row says nothing about the database


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_write_lock_held_elsewhere_never_stalls_the_event_loop(repo):
    path = repo.engine.url.database
    assert path is not None
    log = _log(repo, [])
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write transaction
    released = threading.Timer(0.6, holder.rollback)

    async def scenario() -> tuple[int, float]:
        stall = 0.0

        async def ticker() -> None:
            nonlocal stall
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.002)
                now = time.perf_counter()
                stall, last = max(stall, now - last), now

        ticks = asyncio.create_task(ticker())
        await asyncio.sleep(0.05)
        released.start()
        row_id = await asyncio.wait_for(log.write(record(1)), timeout=10)
        ticks.cancel()
        return row_id, stall

    try:
        row_id, stall = asyncio.run(scenario())
    finally:
        released.cancel()
        holder.close()
    assert isinstance(row_id, int)  # written once the lock was released
    assert stall < 0.3  # the loop waited neither the 0.6 s lock nor the 5 s busy timeout
    assert repo.count() == 1
