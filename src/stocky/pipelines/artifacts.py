"""Run artifacts made when first read: a training run's chart costs tens of milliseconds to
render, and a replay or study cell that keeps no state never reads it.

`Artifacts` is a read-only mapping of name -> bytes whose entries are either bytes or a
picklable zero-argument callable (e.g. `functools.partial` of a module-level function); a
callable is called on first access and its bytes kept. The MLflow registry writes every entry
(so every chart is rendered there, as before); the in-memory registry renders one only when
`run_artifact` or an export asks for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping

__all__ = ["Artifacts"]


class Artifacts(Mapping[str, bytes]):
    """Read-only name -> bytes; values given as callables are made on first read.

    Args:
        entries: Name -> bytes, or name -> a callable returning the bytes.

    Raises:
        TypeError: A callable returned something other than bytes (when read).
    """

    def __init__(self, entries: Mapping[str, bytes | Callable[[], bytes]]) -> None:
        self._entries = dict(entries)
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> bytes:
        value = self._entries[name]
        if isinstance(value, bytes):
            return value
        with self._lock:
            value = self._entries[name]
            if not isinstance(value, bytes):
                made = value()
                if not isinstance(made, bytes):
                    raise TypeError(
                        f"artifact {name!r}: its maker returned {type(made).__name__}, not bytes"
                    )
                self._entries[name] = value = made
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def made(self, name: str) -> bool:
        """Whether `name`'s bytes exist yet (False: not rendered so far)."""
        return isinstance(self._entries[name], bytes)

    def __getstate__(self) -> dict[str, object]:
        return {"_entries": self._entries}

    def __setstate__(self, state: dict[str, object]) -> None:
        self._entries = state["_entries"]  # type: ignore[assignment]
        self._lock = threading.Lock()
