"""Process set-up shared by every entrypoint (CLI, API, benchmarks, tests)."""

from __future__ import annotations

import logging
import os

__all__ = [
    "Terminated",
    "configure_logging",
    "exit_with_parent",
    "git_commit",
    "limit_blas_threads",
    "log_formatter",
    "terminate_on_sigterm",
]

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


#: The human format (`STOCKY_LOG_FORMAT=text`).
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Loggers uvicorn configures with handlers of its own (its default log config).
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def log_formatter(log_format: str) -> logging.Formatter:
    """The formatter of `STOCKY_LOG_FORMAT`: `text` (one human line) or `json` (one object).

    Raises:
        ValueError: Another format.
    """
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    if log_format == "json":
        from stocky.logjson import JsonFormatter

        return JsonFormatter()
    raise ValueError(f"log format {log_format!r} is unknown: use text or json")


def configure_logging(
    level: str = "INFO", *, repeat_seconds: float = 10.0, log_format: str = "text"
) -> None:
    """Logs on stderr, one line per record; called by entrypoints only.

    `log_format` is `text` (human lines) or `json` (one JSON object per line, see
    stocky.logjson); with `json` the handlers uvicorn configured write JSON too. Every
    handler masks URL passwords and logs one warning or error of a kind per
    `repeat_seconds` (stocky.logguard), counting the ones it leaves out.

    Raises:
        ValueError: An unknown `log_format`.
    """
    from stocky.logguard import install_log_filters

    handler = logging.StreamHandler()
    handler.setFormatter(log_formatter(log_format))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    if log_format == "json":
        # `uvicorn --factory stocky.api.main:app_factory` keeps uvicorn's text formatters:
        # its lines (start-up, errors, the access log when on) become JSON here
        for name in _UVICORN_LOGGERS:
            for uvicorn_handler in logging.getLogger(name).handlers:
                uvicorn_handler.setFormatter(log_formatter("json"))
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


class Terminated(SystemExit):
    """SIGTERM arrived: raised in the main thread so `finally` blocks and handlers run (an
    MLflow run being logged is ended as KILLED) before the process exits with 143."""


def terminate_on_sigterm() -> None:
    """Turn SIGTERM into `Terminated` in the main thread (Python's default ends the process
    without unwinding). Only from the main thread; elsewhere it does nothing."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def _raise(signum: int, frame: object) -> None:
        raise Terminated(128 + signum)

    signal.signal(signal.SIGTERM, _raise)


def exit_with_parent(parent_pid: int, *, death_signal: bool, poll_seconds: float = 0.5) -> None:
    """End this process soon after `parent_pid` dies.

    Args:
        parent_pid: The parent's pid when this process was started.
        death_signal: Also ask Linux for SIGKILL at the parent's death (PR_SET_PDEATHSIG; it
            fires when the *thread* that started this process ends, so only when that was the
            parent's main thread).
        poll_seconds: How often a daemon thread compares `os.getppid()` with `parent_pid`
            (every platform; covers a parent that died before this ran).
    """
    import sys
    import threading
    import time

    if death_signal and sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
            logging.getLogger(__name__).warning(
                "prctl(PR_SET_PDEATHSIG) failed (errno %s): relying on the watchdog",
                ctypes.get_errno(),
            )

    def _watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_seconds)
        os._exit(1)  # the parent is gone: nothing to report to, finish nothing

    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=_watch, name="stocky-parent-watchdog", daemon=True).start()
