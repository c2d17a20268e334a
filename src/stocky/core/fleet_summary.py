"""The fleet at a glance: skill vs naive as a histogram, and drift states over recent sessions.

Pure: takes overview rows (`stocky.core.fleet`) and the drift checks' outcomes as read by the
store; nothing here reads a clock, a file or a database.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from stocky.core.fleet import BASES, FleetRow

__all__ = [
    "HISTORY_STATES",
    "CheckOutcome",
    "SessionStates",
    "SkillBin",
    "SkillHistogram",
    "skill_histogram",
    "state_history",
]

#: Bin widths the histogram chooses from (fractions of skill: 0.1% to 10%).
_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)
#: Most bins drawn; values beyond the 2nd and 98th percentiles go to the end bins.
MAX_BINS = 24
#: A drift check's state, most urgent first (stale prices and late labels are not recorded
#: per session, so the history shows what the checks decided).
HISTORY_STATES = ("degraded", "volatility", "unchecked", "ok")
_UNDECIDED = frozenset({"insufficient_data", "no_baseline"})


@dataclass(frozen=True)
class SkillBin:
    """Tickers whose skill falls in [low, high); the end bins also hold what lies beyond."""

    low: float
    high: float
    live: int
    walk_forward: int
    open_low: bool = False
    open_high: bool = False

    @property
    def count(self) -> int:
        return self.live + self.walk_forward


@dataclass(frozen=True)
class SkillHistogram:
    """Skill vs naive of every row that has one (live or walk-forward)."""

    bins: tuple[SkillBin, ...]
    tickers: int  # rows with a skill
    beat_naive: int  # skill > 0
    median: float | None
    live: int
    walk_forward: int

    @property
    def peak(self) -> int:
        return max((b.count for b in self.bins), default=0)


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    at = q * (len(ordered) - 1)
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def skill_histogram(rows: Sequence[FleetRow]) -> SkillHistogram:
    """Bin the rows' skill vs naive; 0 is always a bin edge (left of it: worse than naive).

    The bin width is the smallest of 0.1%, 0.2%, 0.5%, 1%, 2%, 5%, 10% that covers the 2nd to
    98th percentile (and 0) in at most MAX_BINS bins; values beyond go to the end bins.

    Args:
        rows: Overview rows; those without a skill are left out.

    Returns:
        The histogram, its bins split by basis (live labels or walk-forward).
    """
    kept = [(r.skill, r.basis) for r in rows if r.skill is not None]
    skills = [s for s, _ in kept]
    if not skills:
        return SkillHistogram((), 0, 0, None, 0, 0)
    lo = min(_quantile(skills, 0.02), 0.0)
    hi = max(_quantile(skills, 0.98), 0.0)
    step = _STEPS[-1]
    for candidate in _STEPS:
        if math.ceil(hi / candidate - 1e-9) - math.floor(lo / candidate + 1e-9) <= MAX_BINS:
            step = candidate
            break
    first = math.floor(lo / step + 1e-9)
    last = max(math.ceil(hi / step - 1e-9), first + 1)
    n = last - first
    live = [0] * n
    walk = [0] * n
    for skill, basis in kept:
        index = min(max(math.floor(skill / step + 1e-9) - first, 0), n - 1)
        (walk if basis == BASES[1] else live)[index] += 1
    bins = tuple(
        SkillBin(
            low=(first + i) * step,
            high=(first + i + 1) * step,
            live=live[i],
            walk_forward=walk[i],
            open_low=i == 0 and min(skills) < first * step,
            open_high=i == n - 1 and max(skills) >= last * step,
        )
        for i in range(n)
    )
    ordered = sorted(skills)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return SkillHistogram(
        bins=bins,
        tickers=len(skills),
        beat_naive=sum(1 for s in skills if s > 0),
        median=median,
        live=sum(live),
        walk_forward=sum(walk),
    )


@dataclass(frozen=True)
class CheckOutcome:
    """One drift check as the history needs it (the newest check of a ticker and session)."""

    ticker: str
    as_of: dt.date
    decision: str
    drifted: bool
    volatility_changed: bool | None
    model_degraded: bool | None


@dataclass(frozen=True)
class SessionStates:
    """Tickers per drift-check state at one session (each ticker counted once, its most
    urgent state)."""

    session: dt.date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _state(check: CheckOutcome) -> str:
    if check.decision == "drift" or check.drifted or check.model_degraded:
        return "degraded"
    if check.volatility_changed:
        return "volatility"
    if check.decision in _UNDECIDED:
        return "unchecked"
    return "ok"


def state_history(checks: Sequence[CheckOutcome], *, sessions: int) -> list[SessionStates]:
    """Counts by state over the latest `sessions` sessions that have checks, oldest first.

    A ticker checked twice for one session counts once, by its newest check (the input order:
    later rows are newer).

    Args:
        checks: Drift-check outcomes, oldest first.
        sessions: Sessions to keep (the newest).

    Returns:
        One SessionStates per session, oldest first.
    """
    newest: dict[tuple[dt.date, str], CheckOutcome] = {}
    for check in checks:
        newest[(check.as_of, check.ticker)] = check
    by_session: dict[dt.date, dict[str, int]] = {}
    for (day, _), check in newest.items():
        counts = by_session.setdefault(day, dict.fromkeys(HISTORY_STATES, 0))
        counts[_state(check)] += 1
    days = sorted(by_session)[-sessions:] if sessions > 0 else []
    return [SessionStates(day, by_session[day]) for day in days]
