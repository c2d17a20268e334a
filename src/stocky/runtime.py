"""Process set-up shared by every entrypoint (CLI, API, benchmarks, tests)."""

from __future__ import annotations

import logging
import os

__all__ = ["configure_logging", "git_commit", "limit_blas_threads"]

_BLAS_VARS = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def limit_blas_threads(n: int = 1) -> None:
    """Pin BLAS/OpenMP pools to `n` threads.

    statsmodels fits run ~20x slower when OpenBLAS spreads over both cores of a busy 2-core
    machine. Environment variables cover libraries loaded later (and child processes);
    threadpoolctl covers those already loaded.
    """
    for var in _BLAS_VARS:
        os.environ[var] = str(n)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)


def configure_logging(level: str = "INFO", *, repeat_seconds: float = 10.0) -> None:
    """Plain one-line logs on stderr; called by entrypoints only.

    Every handler masks URL passwords and logs one warning or error of a kind per
    `repeat_seconds` (stocky.logguard), counting the ones it leaves out.
    """
    from stocky.logguard import install_log_filters

    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic announces every plugin and migration context at INFO; keep its warnings only.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    install_log_filters(repeat_seconds=repeat_seconds)


def git_commit() -> str | None:
    """The commit of the checkout stocky runs from, when it is a git checkout."""
    import subprocess
    from pathlib import Path

    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logging.getLogger(__name__).debug("no git commit: %s", exc)
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
