"""Checks that a price history is fit to train on: enough rows, no long gaps or split jumps.

An implausible close (see `stocky.core.plausible`: outside 1e-6..1e9, or more than x50 or /50
the close before) is an error naming its date, so a store poisoned before prices were checked
on the way in cannot be trained on. A one-session move larger than `max_jump` is a warning;
when the move is within 3% of a common split ratio (2:1, 3:1, 3:2, 1:2 ...) the warning names
the ratio: raw closes of a stock that split show such a step, split-adjusted closes do not.
Rows dated on days the exchange does not trade (a Saturday, a holiday) are dropped before
training by `drop_non_sessions`, with a warning naming how many and the first.

Pure: pandas, numpy and the exchange calendar only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stocky.core.plausible import first_implausible
from stocky.core.sessions import TradingCalendar
from stocky.errors import DataQualityError

__all__ = ["QualityReport", "check_prices", "drop_non_sessions"]


@dataclass(frozen=True)
class QualityReport:
    """Result of `check_prices`.

    Attributes:
        rows: Number of sessions checked.
        first: First session.
        last: Last session.
        warnings: Human-readable findings that do not block training.
    """

    rows: int
    first: dt.date
    last: dt.date
    warnings: tuple[str, ...] = ()


def _validate_columns(frame: pd.DataFrame) -> None:
    missing = [c for c in ("date", "close") if c not in frame.columns]
    if missing:
        raise DataQualityError(
            f"price frame lacks column(s) {', '.join(missing)}: pass a frame with date and close"
        )


def _validate_closes(frame: pd.DataFrame) -> None:
    close = frame["close"].to_numpy(dtype="float64")
    bad = ~(np.isfinite(close) & (close > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataQualityError(
            f"close[{i}] (date {pd.Timestamp(frame['date'].iloc[i]):%Y-%m-%d}) is {close[i]!r}: "
            "send finite prices > 0"
        )
    found = first_implausible(close)
    if found is not None:
        i = found.index
        raise DataQualityError(
            f"close[{i}] (date {pd.Timestamp(frame['date'].iloc[i]):%Y-%m-%d}) = {found.value!r} "
            f"{found.reason}: the stored prices are corrupt; correct the source and reload "
            "them with `stocky data pull --replace --ticker <TICKER>`"
        )


#: Share ratios (new shares per old share) whose price step is reported as a split.
_SPLIT_RATIOS: tuple[tuple[int, int], ...] = (
    (2, 1), (3, 1), (3, 2), (4, 1), (5, 1), (7, 1), (8, 1), (10, 1),
    (1, 2), (1, 3), (1, 4), (1, 5), (1, 10),
)  # fmt: skip


def _split_ratio(move: float, tolerance: float = 0.03) -> str | None:
    """`"2:1"` when close/previous close is within `tolerance` of 1/2, and so on."""
    for new, old in _SPLIT_RATIOS:
        if abs(move * new / old - 1.0) <= tolerance:
            return f"{new}:{old}"
    return None


def check_prices(
    frame: pd.DataFrame,
    *,
    min_rows: int,
    max_gap_days: int = 7,
    max_jump: float = 0.4,
) -> QualityReport:
    """Check a price frame before training.

    Args:
        frame: A price frame with `date` (sorted ascending) and `close` columns.
        min_rows: Fewest sessions accepted.
        max_gap_days: Calendar days between consecutive sessions above which a gap is reported.
        max_jump: One-session absolute relative close move above which a split-like jump
            is reported (0.4 = 40%).

    Returns:
        A QualityReport whose warnings name the dates of every long gap and large jump.

    Raises:
        DataQualityError: Fewer than `min_rows` sessions, or a close is not finite and > 0,
            or is implausible (`stocky.core.plausible`).
    """
    _validate_columns(frame)
    rows = len(frame)
    if rows < max(min_rows, 1):
        raise DataQualityError(
            f"only {rows} price rows, at least {min_rows} are needed to train: pull a longer "
            "history (stocky data pull, or an earlier start) or lower STOCKY_MIN_TRAIN_SIZE"
        )
    _validate_closes(frame)
    dates = pd.to_datetime(frame["date"]).reset_index(drop=True)
    close = frame["close"].to_numpy(dtype="float64")
    warnings: list[str] = []
    gaps = dates.diff().dt.days.to_numpy()
    for i in np.flatnonzero(gaps > max_gap_days):
        warnings.append(
            f"gap of {int(gaps[i])} calendar days between {dates[i - 1]:%Y-%m-%d} and "
            f"{dates[i]:%Y-%m-%d} (more than {max_gap_days}): check for missing sessions"
        )
    moves = np.abs(close[1:] / close[:-1] - 1.0)
    for i in np.flatnonzero(moves > max_jump) + 1:
        ratio = _split_ratio(close[i] / close[i - 1])
        looks = (
            f"matches a {ratio} split: use split-adjusted closes"
            if ratio
            else "looks like an unadjusted split or a bad price; check the source"
        )
        warnings.append(
            f"close moved {close[i] / close[i - 1] - 1.0:+.1%} from {dates[i - 1]:%Y-%m-%d} to "
            f"{dates[i]:%Y-%m-%d} (more than {max_jump:.0%}): {looks}"
        )
    return QualityReport(
        rows=rows,
        first=dates.iloc[0].date(),
        last=dates.iloc[-1].date(),
        warnings=tuple(warnings),
    )


def drop_non_sessions(
    frame: pd.DataFrame, *, calendar: TradingCalendar
) -> tuple[pd.DataFrame, str | None]:
    """The rows of `frame` dated on sessions of `calendar`, and a warning naming the others.

    A daily close needs a session: a row dated on a Saturday or a holiday is a copy of another
    day's close, or every date is shifted by a time zone. Such rows are dropped, not trained
    on; dates outside the calendar's range are kept (they cannot be judged).

    Args:
        frame: A price frame with a `date` column, sorted ascending.
        calendar: The exchange's trading sessions.

    Returns:
        (The frame without those rows, with a fresh index; the warning, or None when every
        row is on a session).
    """
    if frame.empty:
        return frame, None
    dates = pd.to_datetime(frame["date"]).dt.normalize()
    first = max(dates.iloc[0].date(), calendar.first_session)
    last = min(dates.iloc[-1].date(), calendar.last_session)
    if first > last:
        return frame, None
    sessions = pd.DatetimeIndex(pd.to_datetime(calendar.sessions_in_range(first, last)))
    judged = ((dates >= pd.Timestamp(first)) & (dates <= pd.Timestamp(last))).to_numpy()
    off = judged & ~dates.isin(sessions).to_numpy()
    count = int(off.sum())
    if not count:
        return frame, None
    day = dates[off].iloc[0]
    warning = (
        f"{count} of {len(frame)} rows are dated on days {calendar.exchange} does not trade "
        f"(the first {day:%Y-%m-%d}, a {day:%A}); they were dropped, not trained on: delete "
        "them from the source, or if every date is a day off, write dates in the exchange's "
        "local time"
    )
    return frame.loc[~off].reset_index(drop=True), warning
