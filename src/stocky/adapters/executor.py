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

from stocky.errors import BadInput, StockyError

__all__ = [
    "DaskExecutor",
    "ExecutorKind",
    "InlineExecutor",
    "LogSetup",
    "Outcome",
    "PoolExecutor",
    "TickerExecutor",
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
            except Exception as exc:  # an Outcome with the reason, logged: as in the pools
                yield _failure(item, exc)

    def close(self) -> None:
        return None


#: How often a worker checks that its parent is still alive (the fallback to PDEATHSIG).
WATCHDOG_SECONDS = 0.5


@dataclass(frozen=True)
class LogSetup:
    """How a worker process logs (STOCKY_LOG_LEVEL, _LOG_FORMAT, _LOG_REPEAT_SECONDS): a
    spawned worker starts with logging unconfigured, and would print bare warnings only."""

    level: str = "INFO"
    format: str = "text"
    repeat_seconds: float = 10.0

    def apply(self) -> None:
        from stocky.runtime import configure_logging

        configure_logging(self.level, repeat_seconds=self.repeat_seconds, log_format=self.format)


def _init_worker(parent_pid: int, death_signal: bool, log_setup: LogSetup | None = None) -> None:
    """Set up one pool worker: one BLAS thread, its logging, and exit when the parent dies.

    A worker whose parent was killed (kill -9 of `stocky train`) would otherwise be adopted by
    PID 1 and keep registering models. On Linux the kernel sends SIGKILL at the parent's death
    (prctl PR_SET_PDEATHSIG); everywhere a daemon thread also polls the parent's pid.
    """
    from stocky.runtime import exit_with_parent, limit_blas_threads, terminate_on_sigterm

    limit_blas_threads(1)
    if log_setup is not None:
        log_setup.apply()
    terminate_on_sigterm()
    exit_with_parent(parent_pid, death_signal=death_signal, poll_seconds=WATCHDOG_SECONDS)


class PoolExecutor:
    """A local pool of worker processes (spawned, one BLAS thread each) that exit when this
    process dies.

    Build it on the thread that uses it: on Linux a worker gets SIGKILL when the thread that
    started it ends, so the kernel's signal is asked for only when that is the main thread
    (the parent-pid watchdog covers the other cases within `WATCHDOG_SECONDS`).
    """

    name = "local"

    def __init__(self, workers: int, *, log_setup: LogSetup | None = None) -> None:
        import multiprocessing
        import threading

        self.workers = max(1, workers)
        main = threading.current_thread() is threading.main_thread()
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(os.getpid(), main, log_setup),
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


def _task_key(fn: Callable[..., Any], item: Any) -> str:
    import uuid

    return f"{getattr(fn, '__name__', 'task')}-{item}-{uuid.uuid4().hex[:8]}"


def _dask_failure(item: Any, future: Any) -> Outcome:
    """The Outcome of a Dask future that did not finish: the task raised, lost its worker
    too many times, or was cancelled when the scheduler went away."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker

    try:
        exc = future.exception()
    except CancelledError as lost:  # the future has no result to give
        return Outcome(
            item,
            error=f"cancelled ({type(lost).__name__}): the Dask scheduler or the connection to "
            "it was lost; rerun (finished tickers are not published twice)",
            exit_code=1,
        )
    if isinstance(exc, KilledWorker):
        return Outcome(
            item,
            error="its worker died every time it ran (killed or out of memory, "
            f"{exc}): give workers more memory or rerun",
            exit_code=1,
        )
    return _failure(item, exc)


class DaskExecutor:
    """A Dask cluster: the one at `address`, or a LocalCluster of worker processes.

    A worker that dies mid-task (killed, out of memory, its node gone) loses its tasks; the
    scheduler reruns them on other workers (up to `distributed.scheduler.allowed-failures`
    times, 3 by default) and publishing is idempotent, so a rerun registers nothing twice.
    A task that raises is not retried: stocky's errors are deterministic and come back as the
    Outcome's error.
    """

    name = "dask"

    def __init__(
        self, address: str | None, *, workers: int, log_setup: LogSetup | None = None
    ) -> None:
        from distributed import Client, LocalCluster

        self._cluster = None
        if address:
            try:
                self._client = Client(address, timeout="30s")
            except (OSError, TimeoutError) as exc:
                raise BadInput(
                    f"cannot reach the Dask scheduler at {address} ({exc}): start it, or fix "
                    "STOCKY_DASK_ADDRESS (tcp://host:8786)"
                ) from exc
        else:
            self._cluster = LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
            )
            self._client = Client(self._cluster)
        from stocky.adapters.dask_plugin import OneBlasThread

        self._client.register_plugin(OneBlasThread(), name=OneBlasThread.name)
        if log_setup is not None:
            from stocky.adapters.dask_plugin import StockyLogging

            self._client.register_plugin(StockyLogging(log_setup), name=StockyLogging.name)
        info = self._client.scheduler_info()
        self.address = str(info.get("address", address or ""))
        self.workers = max(1, len(info.get("workers", {})))

    @property
    def client(self) -> Any:
        return self._client

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any) -> Iterator[Outcome]:
        from distributed import as_completed as dask_completed

        if not items:
            return
        futures = [
            self._client.submit(fn, item, *args, key=_task_key(fn, item), pure=False)
            for item in items
        ]
        by_key = {f.key: item for f, item in zip(futures, items, strict=True)}
        for future in dask_completed(futures):
            item = by_key[future.key]
            if future.status == "finished":
                yield Outcome(item, future.result())
            else:
                yield _dask_failure(item, future)
            future.release()

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
