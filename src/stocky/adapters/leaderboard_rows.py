"""The leaderboard port's row order and write checks, shared by its SQL and in-memory stores.

Kept free of SQLAlchemy so the in-memory backend imports none of the SQL stack;
`adapters/store/leaderboard.py` re-exports both names.
"""

from __future__ import annotations

from collections.abc import Sequence

from stocky.adapters.ports import LEADERBOARD_STAGES, LeaderboardRow
from stocky.errors import BadInput

__all__ = ["check_rows", "row_order"]


def row_order(row: LeaderboardRow) -> tuple[str, int, str, str]:
    """The port's order: ticker, stage ("test" first), model_type, interval."""
    return (row.ticker, -LEADERBOARD_STAGES.index(row.stage), row.model_type, row.interval)


def check_rows(ticker: str, version: int, rows: Sequence[LeaderboardRow]) -> list[LeaderboardRow]:
    """`rows` if they all belong to (`ticker`, `version`) and name each candidate once.

    Raises:
        BadInput: A row of another ticker or version, a naive trained_at, or a repeated
            candidate, naming it.
    """
    seen: set[tuple[str, str, str]] = set()
    for i, row in enumerate(rows):
        if (row.ticker, row.version) != (ticker, int(version)):
            raise BadInput(
                f"rows[{i}] is of {row.ticker} v{row.version}, not {ticker} v{version}: "
                "store one training's rows at a time"
            )
        if row.trained_at.tzinfo is None:
            raise BadInput(f"rows[{i}].trained_at has no time zone: pass an aware UTC datetime")
        key = (row.model_type, row.interval, row.stage)
        if key in seen:
            raise BadInput(f"rows[{i}] repeats candidate {key}: one row per candidate and stage")
        seen.add(key)
    return list(rows)
