"""The in-memory backend: every port (`stocky.adapters.ports`) in plain Python containers.

A real backend, not a test double: the contract suites (tests/contract/) run the same checks
against it and against SQLite, PostgreSQL and MLflow, so what a pipeline sees here is what
it sees there. Nothing is persisted and nothing is shared between processes; use it where a
whole run lives in one process (unit tests, replays and studies that need no drill-down).
"""

from __future__ import annotations

from stocky.adapters.memory.audit import MemoryAuditLog
from stocky.adapters.memory.leaderboard import MemoryLeaderboard
from stocky.adapters.memory.predictions import MemoryPredictionLog
from stocky.adapters.memory.prices import MemoryPriceStore
from stocky.adapters.memory.registry import MemoryRegistry

__all__ = [
    "MemoryAuditLog",
    "MemoryLeaderboard",
    "MemoryPredictionLog",
    "MemoryPriceStore",
    "MemoryRegistry",
]
