"""Where per-ticker work runs: inline, a local process pool, or a Dask cluster.

The unit of work is one ticker. A task is a plain function of picklable arguments; workers
receive Settings (as JSON), never live objects, and build their own Stack from them
(`stocky.wiring.worker_stack`). Results come back as `Outcome`s in completion order; a task
that raised is an Outcome with its error text, so one ticker's failure never stops the rest
and is never lost.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from stocky.config import Settings
from stocky.errors import BadInput, StockyError

__all__ = [
    "DaskExecutor",
    "ExecutorKind",
    "InlineExecutor",
    "Outcome",
    "PoolExecutor",
    "TickerExecutor",
    "check_shared_stores",
    "make_executor",
]

log = logging.getLogger(__name__)

ExecutorKind = Literal["local", "dask"]


@dataclass(frozen=True)
class Outcome:
    """One item's result, or why it failed (`error` is None on success)."""

    item: Any
    value: Any = None
    error: str | None = None
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


class TickerExecutor(Protocol):
    """Runs `fn(item, *args)` for every item and yields Outcomes as they finish."""

    name: str
    workers: int

    def map(
        self, fn: Callable[..., Any], items: Sequence[Any], *args: Any
    ) -> Iterator[Outcome]: ...

    def close(self) -> None: ...


def _failure(item: Any, exc: BaseException) -> Outcome:
    if isinstance(exc, StockyError):
        return Outcome(item, error=str(exc), exit_code=exc.exit_code)
    log.error("task for %s failed with an unexpected error", item, exc_info=exc)
    return Outcome(item, error=f"{type(exc).__name__}: {exc}", exit_code=1)


class InlineExecutor:
    """Runs every item in this process, one after another (`--jobs 1`)."""

    name = "inline"
    workers = 1

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any) -> Iterator[Outcome]:
        for item in items:
            try:
                yield Outcome(item, fn(item, *args))
            except Exception as exc:  # as in the pool: an Outcome, unexpected ones logged
                yield _failure(item, exc)

    def close(self) -> None:
        return None


def _init_worker() -> None:
    from stocky.runtime import limit_blas_threads

    limit_blas_threads(1)


class PoolExecutor:
    """A local pool of worker processes (spawned, one BLAS thread each)."""

    name = "local"

    def __init__(self, workers: int) -> None:
        import multiprocessing

        self.workers = max(1, workers)
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
        )

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any) -> Iterator[Outcome]:
        futures: dict[Future[Any], Any] = {
            self._pool.submit(fn, item, *args): item for item in items
        }
        for future in as_completed(futures):
            item = futures[future]
            exc = future.exception()
            yield Outcome(item, future.result()) if exc is None else _failure(item, exc)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """A Dask cluster: the one at `address`, or a LocalCluster of worker processes."""

    name = "dask"

    def __init__(self, address: str | None, *, workers: int) -> None:
        from distributed import Client, LocalCluster

        self._cluster = None
        if address:
            self._client = Client(address, timeout="30s")
        else:
            self._cluster = LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
            )
            self._client = Client(self._cluster)
        self.address = str(self._client.scheduler_info().get("address", address or ""))
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))

    @property
    def client(self) -> Any:
        return self._client

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any) -> Iterator[Outcome]:
        from distributed import as_completed as dask_completed

        futures = [self._client.submit(fn, item, *args, pure=False, retries=2) for item in items]
        by_key = {f.key: item for f, item in zip(futures, items, strict=True)}
        for future in dask_completed(futures):
            item = by_key[future.key]
            if future.status == "finished":
                yield Outcome(item, future.result())
            else:
                yield _failure(item, future.exception())

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def check_shared_stores(settings: Settings) -> None:
    """Refuse stores only one machine can reach when workers may run on other machines.

    Raises:
        BadInput: The database is SQLite or the MLflow store is a local file or SQLite.
    """
    problems = []
    if settings.db_url.startswith("sqlite"):
        problems.append("the database is a SQLite file: set STOCKY_DATABASE_URL to PostgreSQL")
    if not settings.tracking_uri.startswith(("http://", "https://")):
        problems.append(
            "the MLflow store is local: set STOCKY_MLFLOW_TRACKING_URI to a tracking server "
            "(http://host:5000)"
        )
    if problems:
        raise BadInput(
            f"a Dask cluster at {settings.dask_address} runs workers on other machines, and "
            + "; ".join(problems)
        )


def make_executor(
    settings: Settings, *, kind: ExecutorKind | None = None, jobs: int | None = None
) -> TickerExecutor:
    """The executor the settings (or CLI options) ask for.

    Args:
        settings: Uses executor, dask_address and jobs.
        kind: `local` or `dask`; default STOCKY_EXECUTOR.
        jobs: Worker processes for `local` (1 runs inline) and for a LocalCluster; default
            STOCKY_JOBS, or the CPU count when that is 0.

    Raises:
        BadInput: Unknown kind, or a remote cluster with stores it cannot reach.
    """
    chosen = kind or settings.executor
    n = jobs if jobs is not None else (settings.jobs or os.cpu_count() or 1)
    if n < 1:
        raise BadInput(f"--jobs {n}: give 1 or more worker processes")
    if chosen == "local":
        return InlineExecutor() if n == 1 else PoolExecutor(n)
    if chosen == "dask":
        if settings.dask_address:
            check_shared_stores(settings)
        return DaskExecutor(settings.dask_address, workers=n)
    raise BadInput(f"--executor {chosen!r}: use local or dask")
