"""What the leaderboard shows: per ticker every candidate vs naive, fleet-wide the wins and the
distribution of skill and interval score vs naive. One view for the CLI, the API and the page.

Fleet-wide figures are over the champions' test-period rows (the chosen family and interval
method of each ticker's newest training, on the period after the choice): wins per family and
per interval method, quantiles and a histogram of skill (``1 - RMSE / naive RMSE``) and of
interval skill (``1 - interval score / naive's``, naive with the same interval). Every float
is finite or None, so the view is strict JSON as it is.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stocky.adapters.ports import Leaderboard, LeaderboardRow

__all__ = [
    "QUANTILES",
    "SKILL_BINS",
    "TickerBoard",
    "fleet_summary",
    "interval_skill",
    "load_boards",
    "ticker_boards",
]

#: The quantiles of skill and interval skill reported fleet-wide.
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
#: Histogram bin edges of skill vs naive (fractions; the outer bins are open).
SKILL_BINS = (-0.02, -0.01, -0.005, -0.001, 0.001, 0.005, 0.01, 0.02)


def interval_skill(row: LeaderboardRow) -> float | None:
    """``1 - interval_score / naive_interval_score`` of a row; None when either is missing."""
    if row.interval_score is None or not row.naive_interval_score:
        return None
    value = 1.0 - row.interval_score / row.naive_interval_score
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class TickerBoard:
    """One ticker's newest training: its candidates and its champion."""

    ticker: str
    version: int
    trained_at: str
    rows: tuple[LeaderboardRow, ...] = field(repr=False)

    def champion(self, stage: str) -> LeaderboardRow | None:
        return next((r for r in self.rows if r.chosen and r.stage == stage), None)

    @property
    def reason(self) -> str:
        won = self.champion("validation") or self.champion("test")
        return won.reason if won is not None else ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the champion, why it won, and every candidate row."""
        won = self.champion("validation") or self.champion("test")
        return {
            "ticker": self.ticker,
            "version": self.version,
            "trained_at": self.trained_at,
            "champion": None
            if won is None
            else {"model_type": won.model_type, "label": won.label, "interval": won.interval},
            "reason": self.reason,
            "candidates": [_row_dict(r) for r in self.rows],
        }


def _row_dict(row: LeaderboardRow) -> dict[str, Any]:
    out = row.to_dict()
    for key in ("ticker", "version", "trained_at"):
        out.pop(key)
    out["interval_skill"] = interval_skill(row)
    return out


def ticker_boards(rows: Sequence[LeaderboardRow]) -> list[TickerBoard]:
    """Rows (of one version per ticker, in the port's order) grouped per ticker."""
    grouped: dict[str, list[LeaderboardRow]] = {}
    for row in rows:
        grouped.setdefault(row.ticker, []).append(row)
    return [
        TickerBoard(t, rs[0].version, rs[0].trained_at.isoformat(), tuple(rs))
        for t, rs in grouped.items()
    ]


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {f"q{round(q * 100):02d}": None for q in QUANTILES}
    found = np.quantile(np.asarray(values, dtype=float), QUANTILES)
    return {f"q{round(q * 100):02d}": float(v) for q, v in zip(QUANTILES, found, strict=True)}


def _histogram(values: list[float]) -> list[dict[str, Any]]:
    edges = [-math.inf, *SKILL_BINS, math.inf]
    counts = np.histogram(np.asarray(values, dtype=float), bins=edges)[0] if values else None
    out = []
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        out.append(
            {
                "low": None if math.isinf(lo) else lo,
                "high": None if math.isinf(hi) else hi,
                "count": int(counts[i]) if counts is not None else 0,
            }
        )
    return out


def _distribution(values: list[float]) -> dict[str, Any]:
    return {
        "tickers": len(values),
        "beat_naive": sum(v > 0 for v in values),
        "quantiles": _quantiles(values),
        "histogram": _histogram(values),
    }


def fleet_summary(test_rows: Sequence[LeaderboardRow]) -> dict[str, Any]:
    """Wins per family and per interval method, and skill and interval skill vs naive.

    Args:
        test_rows: The test-period rows of each ticker's newest training (every candidate:
            the champions give the wins and distributions, every family its median skill).

    Returns:
        A JSON-ready dict: tickers, family_wins, interval_wins (most wins first), skill and
        interval_skill (tickers, beat_naive, quantiles, histogram over SKILL_BINS), and per
        family the median test skill over the tickers it was walked on.
    """
    champions = [r for r in test_rows if r.chosen]
    tickers = {r.ticker for r in test_rows}
    skills = [r.skill for r in champions if r.skill is not None]
    interval = [v for r in champions if (v := interval_skill(r)) is not None]
    per_family: dict[str, dict[str, float]] = {}
    for r in test_rows:
        if r.skill is not None:
            per_family.setdefault(r.model_type, {})[r.ticker] = r.skill  # same for every method
    families = {
        name: {
            "tickers": len(found),
            "median_skill": float(np.median(list(found.values()))),
            "beat_naive": sum(v > 0 for v in found.values()),
        }
        for name, found in sorted(per_family.items())
    }
    return {
        "tickers": len(tickers),
        "family_wins": dict(Counter(r.model_type for r in champions).most_common()),
        "interval_wins": dict(Counter(r.interval for r in champions).most_common()),
        "skill": _distribution(skills),
        "interval_skill": _distribution(interval),
        "families": families,
    }


def load_boards(store: Leaderboard, tickers: Sequence[str] | None = None) -> list[TickerBoard]:
    """The boards of `tickers` (None: every ticker), from the store."""
    return ticker_boards(store.latest(tickers))
