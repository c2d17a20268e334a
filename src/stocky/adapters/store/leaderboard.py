"""The leaderboard table: every candidate of each training, read back per ticker or fleet-wide.

A ticker's rows are those of its newest version (one indexed look-up of the highest version
per ticker, then its rows): the fleet's test-period rows of 1,000 tickers come back in one
query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from stocky.adapters.leaderboard_rows import check_rows, row_order
from stocky.adapters.ports import LeaderboardRow
from stocky.adapters.store.prediction_bulk import chunks
from stocky.adapters.store.tables import leaderboard
from stocky.errors import StoreError

__all__ = ["LeaderboardRepository", "check_rows", "row_order"]

_FIELDS = tuple(LeaderboardRow.__dataclass_fields__)


_AT = _FIELDS.index("trained_at")
_CHOSEN = _FIELDS.index("chosen")


def _row(values: Sequence[Any]) -> LeaderboardRow:
    out = list(values)
    if out[_AT].tzinfo is None:  # SQLite hands back UTC without its zone
        out[_AT] = out[_AT].replace(tzinfo=dt.UTC)
    out[_CHOSEN] = bool(out[_CHOSEN])
    return LeaderboardRow.stored(out)


class LeaderboardRepository:
    """`ports.Leaderboard` on the `leaderboard` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def replace(self, ticker: str, version: int, rows: Sequence[LeaderboardRow]) -> int:
        checked = check_rows(ticker, version, rows)
        values = [
            {k: getattr(r, k) for k in _FIELDS} | {"trained_at": r.trained_at.astimezone(dt.UTC)}
            for r in checked
        ]
        c = leaderboard.c
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    leaderboard.delete().where(c.ticker == ticker, c.version == int(version))
                )
                if values:
                    conn.execute(leaderboard.insert(), values)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"could not store the leaderboard of {ticker} v{version}: {exc}"
            ) from exc
        return len(values)

    def tickers(self) -> list[str]:
        try:
            with self.engine.connect() as conn:
                found = conn.execute(sa.select(leaderboard.c.ticker).distinct()).scalars().all()
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read the leaderboard: {exc}") from exc
        return sorted(found)

    def latest(
        self,
        tickers: Sequence[str] | None = None,
        *,
        stage: str | None = None,
        chosen_only: bool = False,
    ) -> list[LeaderboardRow]:
        wanted = None if tickers is None else list(dict.fromkeys(tickers))
        if wanted == []:
            return []
        out: list[LeaderboardRow] = []
        try:
            with self.engine.connect() as conn:
                for part in [None] if wanted is None else chunks(wanted, 500):
                    rows = conn.execute(_latest(part, stage, chosen_only)).all()
                    out.extend(_row(r) for r in rows)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read the leaderboard: {exc}") from exc
        return sorted(out, key=row_order)


def _latest(tickers: Sequence[str] | None, stage: str | None, chosen_only: bool) -> sa.Select[Any]:
    c = leaderboard.c
    newest = sa.select(c.ticker, sa.func.max(c.version).label("version")).group_by(c.ticker)
    if tickers is not None:
        newest = newest.where(c.ticker.in_(tickers))
    top = newest.subquery()
    stmt = sa.select(*(c[k] for k in _FIELDS)).join(
        top, sa.and_(c.ticker == top.c.ticker, c.version == top.c.version)
    )
    if stage is not None:
        stmt = stmt.where(c.stage == stage)
    if chosen_only:
        stmt = stmt.where(c.chosen.is_(True))
    return stmt
