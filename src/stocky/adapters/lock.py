"""A non-blocking exclusive file lock: one daily run at a time per state folder."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stocky.errors import StockyError

__all__ = ["AlreadyRunning", "exclusive_lock"]


class AlreadyRunning(StockyError):
    """Another process holds the lock."""

    exit_code = 11


@contextmanager
def exclusive_lock(path: Path, *, what: str) -> Iterator[None]:
    """Hold an exclusive lock on `path` for the block, or raise AlreadyRunning at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            holder = Path(path).read_text().strip() or "another process"
            raise AlreadyRunning(
                f"{what} is already running (lock {path} held by pid {holder}): wait for it to finish"
            ) from exc
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
