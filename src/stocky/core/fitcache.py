"""Fits remembered by their exact inputs: a replay retrains on windows that repeat (two
retrains a quarter apart walk the same validation window), and a deterministic fit of the
same bytes gives the same estimates, so the second fit is read back instead of run.

Keys are digests of the exact input bytes plus the model's settings; values are immutable
results. Bounded (least recently used out) and thread-safe; one cache per process.

Pure: numpy and the standard library.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = ["FitCache", "digest"]

T = TypeVar("T")


def digest(*arrays: NDArray[np.float64] | None) -> bytes:
    """A digest of the arrays' exact bytes, dtypes and shapes (None counts as absent)."""
    h = hashlib.blake2b(digest_size=20)
    for a in arrays:
        if a is None:
            h.update(b"\x00none")
            continue
        arr = np.ascontiguousarray(a)
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.digest()


class FitCache(Generic[T]):
    """At most `size` results by key; `get_or_fit` fits on a miss.

    Args:
        size: Entries kept (the least recently used goes first).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_fit(self, key: Hashable, fit: Callable[[], T]) -> T:
        """The result stored for `key`, else `fit()` (stored; an exception is not)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        value = fit()
        with self._lock:
            self.misses += 1
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0
