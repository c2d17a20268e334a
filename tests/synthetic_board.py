"""SYNTHETIC leaderboard rows: two families x two interval methods x two stages per ticker,
with metrics derived from the ticker's index (no model trained)."""

from __future__ import annotations

import datetime as dt

from stocky.adapters.ports import LeaderboardRow

TRAINED_AT = dt.datetime(2024, 3, 1, 21, 0, tzinfo=dt.UTC)
FAMILIES = ("naive", "arima")
METHODS = ("ewma", "garch")


def board_rows(ticker: str, version: int, i: int) -> list[LeaderboardRow]:
    """Ticker number `i`: arima with garch wins when i is odd, naive with ewma otherwise.

    Test-period skill of arima is ``(i % 7 - 3) / 1000``; every interval score is 4.0 plus
    0.1 for garch, and naive's is 4.05.
    """
    winner = ("arima", "garch") if i % 2 else ("naive", "ewma")
    rows = []
    for stage in ("validation", "test"):
        for family in FAMILIES:
            skill = 0.0 if family == "naive" else (i % 7 - 3) / 1000
            for method in METHODS:
                chosen = (family, method) == winner
                rows.append(
                    LeaderboardRow(
                        ticker=ticker, version=version, model_type=family,
                        label="Naive" if family == "naive" else "ARIMA(0,1,1)",
                        interval=method, stage=stage, rmse=1.0 - skill, naive_rmse=1.0,
                        skill=skill, dm_pvalue=None if family == "naive" else 0.2,
                        interval_score=4.0 + (0.1 if method == "garch" else 0.0),
                        naive_interval_score=4.05, crps=0.5, coverage=0.95,
                        direction_accuracy=None if family == "naive" else 0.52,
                        chosen=chosen,
                        reason=f"{family} won because {i}" if chosen else "not chosen",
                        trained_at=TRAINED_AT,
                    )
                )  # fmt: skip
    return rows
