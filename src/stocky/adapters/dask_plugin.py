"""The Dask worker plugin stocky registers on every cluster it uses (imported only with Dask)."""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

__all__ = ["OneBlasThread", "StockyLogging"]


class OneBlasThread(WorkerPlugin):
    """One BLAS thread in every worker process (environment variables and threadpoolctl).

    Registered by `DaskExecutor` on whatever cluster it connects to, so workers started
    elsewhere (Kubernetes, HPC queues, hosted) are limited too, including workers that join
    later: statsmodels fits run ~20x slower when BLAS spreads over busy cores.
    """

    name = "stocky-one-blas-thread"

    def setup(self, worker: Any) -> None:
        from stocky.runtime import limit_blas_threads

        limit_blas_threads(1)


class StockyLogging(WorkerPlugin):
    """stocky's log format and level in every worker process (`LogSetup`), so the lines its
    tasks write are one JSON object each under `STOCKY_LOG_FORMAT=json`, as elsewhere."""

    name = "stocky-logging"

    def __init__(self, log_setup: Any) -> None:
        self.log_setup = log_setup

    def setup(self, worker: Any) -> None:
        self.log_setup.apply()
