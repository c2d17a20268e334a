"""Real `dask scheduler` and `dask worker` processes on loopback with PostgreSQL and an MLflow
tracking server: a universe trains through STOCKY_DASK_ADDRESS while one worker process is
killed (SIGKILL) after the first results arrive. Every ticker ends with exactly one registered
version and a champion, and every ticker has an Outcome."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_dask import END, NOW, UNIVERSE, small_settings, synthetic_universe

import stocky
from stocky.adapters.executor import DaskExecutor
from stocky.pipelines.tasks import train_task
from stocky.wiring import build_stack, make_executor

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def tracking_uri(start_server, tmp_path: Path) -> str:
    store = tmp_path / "mlflow-server"
    store.mkdir()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return str(
        start_server(
            "mlflow",
            lambda port: [
                sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
                "--port", str(port), "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
                "--artifacts-destination", str(store / "artifacts"), "--workers", "1",
            ],
            env,
        )
    )  # fmt: skip


@pytest.fixture
def dask_cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A scheduler and two single-threaded workers without nannies (a killed one stays dead)."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(Path(stocky.__file__).resolve().parents[1])}
    dask = [sys.executable, "-m", "distributed.cli"]
    procs = []

    def spawn(name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        procs.append(proc)
        return proc

    spawn("scheduler", [*dask[:2], "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                        "--port", str(port), "--no-dashboard"])  # fmt: skip
    workers = [
        spawn(
            f"worker{i}",
            [
                *dask[:2],
                "distributed.cli.dask_worker",
                address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
            ],
        )  # fmt: skip
        for i in range(2)
    ]
    yield address, workers
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_worker_killed_mid_run_loses_no_ticker_and_duplicates_no_version(
    tmp_path: Path, fresh_postgres_url: str, tracking_uri: str, dask_cluster
) -> None:
    address, workers = dask_cluster
    settings = small_settings(
        tmp_path / "home",
        order="0,1,1",
        database_url=fresh_postgres_url,
        mlflow_tracking_uri=tracking_uri,
        dask_address=address,
    )
    settings.ensure_home()
    with build_stack(settings) as stack:
        for ticker, frame in synthetic_universe().items():
            stack.prices.upsert(ticker, frame, source="synthetic", fetched_at=NOW)
    deadline = time.monotonic() + 60
    executor = make_executor(settings, kind="dask")
    assert isinstance(executor, DaskExecutor)
    while len(executor.client.scheduler_info()["workers"]) < 2:
        assert time.monotonic() < deadline, "workers did not join"
        time.sleep(0.2)
    outcomes = []
    t0 = time.monotonic()
    try:
        for outcome in executor.map(
            train_task, [*UNIVERSE, "SYN9"], settings.model_dump_json(), NOW, END
        ):
            outcomes.append(outcome)
            if len(outcomes) == 1:
                os.kill(workers[0].pid, signal.SIGKILL)  # a worker lost mid-run
            assert time.monotonic() - t0 < 240
    finally:
        executor.close()
    assert workers[0].wait(timeout=10) == -signal.SIGKILL
    by_ticker = {o.item: o for o in outcomes}
    assert set(by_ticker) == {*UNIVERSE, "SYN9"}  # the summary is complete
    assert all(by_ticker[t].ok for t in UNIVERSE), by_ticker
    missing = by_ticker["SYN9"]
    assert not missing.ok and "SYN9" in (missing.error or "") and missing.exit_code == 3
    with build_stack(settings) as stack:
        for ticker in UNIVERSE:
            versions = stack.registry.versions(ticker)
            assert len(versions) == 1, (ticker, versions)
            assert stack.registry.aliases(ticker) == {"champion": versions[0].version}
