"""The Dask executor on a real LocalCluster (2 worker processes): failures come back as data,
a killed worker's task reruns elsewhere, workers use one BLAS thread, and a universe trains
and retrains to the same champions as on the local process pool."""

from __future__ import annotations

import datetime as dt
import os
import signal
from pathlib import Path
from typing import Any

import dask
import distributed  # noqa: F401  (loads its config defaults before dask.config.set below)
import numpy as np
import pytest

from fakes import price_frame
from stocky.adapters.executor import DaskExecutor, Outcome
from stocky.config import Settings
from stocky.errors import DataUnavailable
from stocky.pipelines.retrain_many import retrain_many
from stocky.pipelines.tasks import train_task
from stocky.wiring import build_stack, make_executor

pytestmark = [pytest.mark.integration, pytest.mark.slow]

END = dt.date(2018, 12, 31)
NOW = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)
#: A small universe of SYNTHETIC random walks (seeded), labelled as such in the tickers.
UNIVERSE = ("SYN1", "SYN2", "SYN3")


def synthetic_universe(n: int = 420) -> dict[str, Any]:
    """Synthetic prices: geometric random walks with a little AR(1) in the returns."""
    frames = {}
    for i, ticker in enumerate(UNIVERSE):
        rng = np.random.default_rng(100 + i)
        shocks = rng.normal(0.0003, 0.012, n)
        returns = np.empty(n)
        returns[0] = shocks[0]
        for t in range(1, n):
            returns[t] = 0.15 * (i % 2) * returns[t - 1] + shocks[t]
        frames[ticker] = price_frame(50.0 * np.exp(np.cumsum(returns)), end=END)
    return frames


def small_settings(home: Path, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "price_source": "bundled",
        "order": "1,1,1",  # a fixed order: the parameters still come from a real fit
        "test_size": 40,
        "validation_size": 20,
        "train_window": 300,
        "min_train_size": 100,
        "holdout_size": 30,
        "reload_interval_seconds": 0,
    } | kw
    return Settings(**values)


def seed_prices(settings: Settings, frames: dict[str, Any]) -> None:
    settings.ensure_home()
    with build_stack(settings) as stack:
        for ticker, frame in frames.items():
            stack.prices.upsert(ticker, frame, source="synthetic", fetched_at=NOW)
        stack.registry.tickers()  # creates the MLflow store before workers race to it


def square_or_fail(item: int) -> tuple[int, int, str | None]:
    if item == 3:
        raise DataUnavailable("no data for 3")
    return item * item, os.getpid(), os.environ.get("OPENBLAS_NUM_THREADS")


def blas_threads(_item: int) -> int:
    from threadpoolctl import threadpool_info

    return max((p["num_threads"] for p in threadpool_info()), default=1)


def die_once(item: int, marker: str) -> int:
    """SIGKILL this worker process the first time item 2 runs (a worker lost mid-task)."""
    if item == 2 and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def die_always(item: int) -> int:
    if item == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return item


@pytest.fixture(scope="module")
def cluster() -> Any:
    # a task may lose its worker once and still be rerun; the second loss fails it (fast test)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        executor = DaskExecutor(None, workers=2)
    yield executor
    executor.close()


def test_failures_come_back_as_outcomes_and_workers_use_one_blas_thread(cluster: Any) -> None:
    out = {o.item: o for o in cluster.map(square_or_fail, list(range(6)))}
    assert {i for i, o in out.items() if o.ok} == {0, 1, 2, 4, 5}
    assert out[3].error == "no data for 3" and out[3].exit_code == 3
    assert os.getpid() not in {o.value[1] for o in out.values() if o.ok}
    assert {o.value[2] for o in out.values() if o.ok} == {"1"}
    assert {o.value for o in cluster.map(blas_threads, [0, 1, 2, 3])} == {1}


def test_a_killed_workers_task_reruns_and_a_task_that_always_kills_fails(
    cluster: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "killed"
    out = {o.item: o for o in cluster.map(die_once, [0, 1, 2, 3], str(marker))}
    assert all(o.ok for o in out.values()), out
    assert out[2].value != int(marker.read_text())  # finished by another worker process
    # alone, so no innocent task shares its worker's deaths
    (failed,) = cluster.map(die_always, [1])
    assert not failed.ok and "worker died" in (failed.error or "")
    assert [o.value for o in cluster.map(die_always, [5])] == [5]  # the cluster still works


def _champions(settings: Settings) -> dict[str, tuple[Any, ...]]:
    with build_stack(settings) as stack:
        found = {}
        for t in UNIVERSE:
            champ = stack.registry.champion(t)
            assert champ is not None, t
            found[t] = (champ.version, champ.spec.model_type, champ.spec.params, champ.spec.metrics)
        return found


def _train_all(settings: Settings, kind: str) -> list[Outcome]:
    executor = make_executor(settings, kind=kind, jobs=2)  # type: ignore[arg-type]
    try:
        return list(executor.map(train_task, list(UNIVERSE), settings.model_dump_json(), NOW, END))
    finally:
        executor.close()


def test_local_pool_and_dask_register_identical_champions(tmp_path: Path) -> None:
    frames = synthetic_universe()
    homes = {kind: small_settings(tmp_path / kind) for kind in ("local", "dask")}
    for settings in homes.values():
        seed_prices(settings, frames)
    trained = {kind: _train_all(s, kind) for kind, s in homes.items()}
    assert all(o.ok for outs in trained.values() for o in outs), trained
    first = {k: _champions(s) for k, s in homes.items()}
    assert first["local"] == first["dask"]
    models = {(kind, str(params)) for _v, kind, params, _m in first["local"].values()}
    assert len(models) >= 1
    for kind, settings in homes.items():
        executor = make_executor(settings, kind=kind, jobs=2)  # type: ignore[arg-type]
        try:
            outcomes = retrain_many(
                executor=executor,
                settings=settings,
                triggers=dict.fromkeys(UNIVERSE, "manual"),
                as_of=END,
                now=NOW,
                force=True,
            )
        finally:
            executor.close()
        assert all(o.ok and o.value.promoted for o in outcomes.values()), outcomes
    assert _champions(homes["local"]) == _champions(homes["dask"])
    assert {v for v, _k, _p, _m in _champions(homes["dask"]).values()} == {2}


def _study_cells(settings: Settings, kind: str, root: Path) -> list[dict[str, Any]]:
    from stocky.pipelines.study import parse_grid, result_rows, run_study

    executor = make_executor(settings, kind=kind, jobs=2)  # type: ignore[arg-type]
    try:
        run = run_study(
            executor=executor,
            settings=settings,
            tickers=["^GSPC", "MSFT"],
            policies=parse_grid(["retrain=never,monthly"]),
            start=dt.date(2016, 7, 1),
            end=dt.date(2016, 8, 31),
            root=root,
        )
    finally:
        executor.close()
    rows = result_rows(run.cells)
    for row in rows:
        row.pop("compute_seconds")
    return rows


def test_a_small_study_on_dask_equals_the_local_pool(tmp_path: Path) -> None:
    settings = small_settings(tmp_path / "home")  # bundled real closes, in-memory cells
    cells = {kind: _study_cells(settings, kind, tmp_path / kind) for kind in ("local", "dask")}
    assert all(c["error"] is None for c in cells["local"]), cells["local"]
    assert cells["dask"] == cells["local"]
    assert [c["retrains"] for c in cells["local"]] == [0, 2, 0, 2]  # July and August open
