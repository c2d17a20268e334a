"""The leaderboard port in a dict: (ticker, version) -> that training's rows."""

from __future__ import annotations

from collections.abc import Sequence

from stocky.adapters.leaderboard_rows import check_rows, row_order
from stocky.adapters.ports import LeaderboardRow

__all__ = ["MemoryLeaderboard"]


class MemoryLeaderboard:
    """Leaderboard rows of one process (see `ports.Leaderboard`)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], tuple[LeaderboardRow, ...]] = {}

    def replace(self, ticker: str, version: int, rows: Sequence[LeaderboardRow]) -> int:
        checked = check_rows(ticker, version, rows)
        self._rows.pop((ticker, int(version)), None)
        if checked:
            self._rows[(ticker, int(version))] = tuple(checked)
        return len(checked)

    def tickers(self) -> list[str]:
        return sorted({t for t, _v in self._rows})

    def latest(
        self,
        tickers: Sequence[str] | None = None,
        *,
        stage: str | None = None,
        chosen_only: bool = False,
    ) -> list[LeaderboardRow]:
        newest: dict[str, int] = {}
        for t, v in self._rows:
            newest[t] = max(v, newest.get(t, v))
        wanted = set(newest) if tickers is None else set(tickers) & set(newest)
        out = [
            r
            for t in wanted
            for r in self._rows[(t, newest[t])]
            if (stage is None or r.stage == stage) and (r.chosen or not chosen_only)
        ]
        return sorted(out, key=row_order)
