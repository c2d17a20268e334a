"""The PriceSource contract every price adapter meets, and the frame shape they all return.

A price frame has exactly the columns in `PRICE_COLUMNS`, one row per daily session:

- `date`: dtype `datetime64[ns]`, time-zone naive, normalised to midnight, sorted ascending and
  unique. (A datetime64 column rather than `datetime.date` objects: it keeps pandas' fast
  vectorised comparisons and resampling, and converts to `datetime.date` with `.dt.date`.)
- `open`, `high`, `low`, `close`: float64, finite and > 0, and plausible by the rule of
  `stocky.core.plausible` (between 1e-6 and 1e9, and no close more than x50 or /50 the close
  of the session before), so a corrupt value is refused, with its row, before it is stored.
- `volume`: float64, >= 0; NaN means the source did not report it.

Where a source ends: a source that holds a fixed set of prices (the bundled datasets, a file, a
synthetic universe) has an optional `ends(ticker)` method returning the last session it holds
for the ticker; `source_end` reads it. Freshness is measured against that date for such a
source, and against the calendar only for a live source (Yahoo, `auto` when online), whose
`ends` is absent or returns None.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from stocky.core.plausible import first_implausible
from stocky.core.shown import shown
from stocky.errors import BadInput, DataUnavailable, StockyError

__all__ = [
    "PRICE_COLUMNS",
    "PriceSource",
    "empty_price_frame",
    "normalise_frame",
    "rejected_by",
    "select_range",
    "source_end",
]

PRICE_COLUMNS: tuple[str, ...] = ("date", "open", "high", "low", "close", "volume")
_PRICE_VALUE_COLUMNS = ("open", "high", "low", "close")


@runtime_checkable
class PriceSource(Protocol):
    """Something that returns daily prices for a ticker.

    A static source (a fixed set of prices) also has `ends(ticker) -> datetime.date`: the last
    session it holds for the ticker (raising DataUnavailable as `fetch` does for a ticker it
    does not hold). A live source has no `ends`, or returns None. Read it with `source_end`.
    """

    @property
    def name(self) -> str:
        """Short source name stored next to each price row (`bundled`, `yahoo`, `csv`)."""
        ...

    def fetch(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        """Daily prices for `ticker` from `start` to `end`, both inclusive.

        Args:
            ticker: Symbol as the source spells it, e.g. `^GSPC`.
            start: First session wanted; None means the earliest available.
            end: Last session wanted (inclusive); None means the latest available.

        Returns:
            A frame with exactly `PRICE_COLUMNS` in the shape described in this module.

        Raises:
            DataUnavailable: The source has nothing for that ticker and range.
            BadInput: The source sent data that fails validation.
        """
        ...

    def tickers(self) -> list[str]:
        """Tickers this source knows it can serve; empty when it cannot list them."""
        ...


def source_end(source: PriceSource, ticker: str) -> dt.date | None:
    """The last session a static source holds for `ticker`; None for a live source (no
    `ends` method, or it returns None), whose data grows with the calendar.

    Raises:
        DataUnavailable: The static source has nothing for the ticker.
        BadInput: The source's data is unreadable.
    """
    ends = getattr(source, "ends", None)
    if not callable(ends):
        return None
    end: dt.date | None = ends(ticker)
    return end


def rejected_by(source: PriceSource) -> dict[str, StockyError]:
    """What a file source left out of `tickers()` because it is not a ticker (a row's `A/B`,
    a file `notes.csv`): the quoted name -> the error naming its row or file. {} for sources
    without such rows (an optional `rejected()` method of a source)."""
    rejected = getattr(source, "rejected", None)
    return dict(rejected()) if callable(rejected) else {}


def empty_price_frame() -> pd.DataFrame:
    """A price frame with no rows and the documented dtypes."""
    frame = pd.DataFrame({col: pd.Series(dtype="float64") for col in PRICE_COLUMNS})
    frame["date"] = pd.Series(dtype="datetime64[ns]")
    return frame


def select_range(
    frame: pd.DataFrame, start: dt.date | None = None, end: dt.date | None = None
) -> pd.DataFrame:
    """Rows of a normalised price frame with `start <= date <= end` (None = unbounded)."""
    mask = pd.Series(True, index=frame.index)
    if start is not None:
        mask &= frame["date"] >= pd.Timestamp(start)
    if end is not None:
        mask &= frame["date"] <= pd.Timestamp(end)
    return frame.loc[mask].reset_index(drop=True)


def _default_label(frame: pd.DataFrame) -> Callable[[int], str]:
    def label(i: int) -> str:
        return f"the row dated {frame['date'].iloc[i]:%Y-%m-%d}"

    return label


def normalise_frame(
    frame: pd.DataFrame,
    *,
    ticker: str,
    source: str,
    sort: bool = True,
    row_label: Callable[[int], str] | None = None,
    fix: str | None = None,
) -> pd.DataFrame:
    """Validate and clean a source's frame into the documented price-frame shape.

    Column names are matched case-insensitively; a `date` index is used when there is no
    `date` column; extra columns are dropped. No row is ever dropped silently: a bad row
    raises.

    Args:
        frame: Raw prices with date, open, high, low, close and volume.
        ticker: Ticker the frame belongs to (for messages).
        source: Source name (for messages).
        sort: Sort by date when True; when False, out-of-order dates raise BadInput.
        row_label: Describes row `i` (0-based position) in messages; default names the
            position and date.
        fix: What the user should do about a bad row; a generic hint by default.

    Returns:
        A new frame with exactly `PRICE_COLUMNS`, sorted ascending, with a fresh index.

    Raises:
        DataUnavailable: The frame has no rows.
        BadInput: A column is missing, or a date or price is invalid or repeated.
    """
    where = f"{source} prices for {ticker}"
    fix = fix or f"the {source} data is corrupt: try again later or use another price source"
    frame = frame.copy()
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "date" not in frame.columns and str(frame.index.name).strip().lower() == "date":
        frame = frame.rename_axis("date").reset_index()
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise BadInput(
            f"{where}: missing column(s) {', '.join(missing)} (found: "
            f"{', '.join(map(str, frame.columns)) or 'none'}): every price frame needs "
            f"{', '.join(PRICE_COLUMNS)}"
        )
    if frame.empty:
        raise DataUnavailable(
            f"{where}: no rows: check the ticker and date range, or try another price source"
        )
    out = frame.loc[:, list(PRICE_COLUMNS)].reset_index(drop=True)
    out["date"] = _as_dates(out["date"], where=where)
    for col in (*_PRICE_VALUE_COLUMNS, "volume"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    if sort:
        out = out.sort_values("date", kind="stable").reset_index(drop=True)
    label = row_label or _default_label(out)
    _check_rows(out, where=where, label=label, fix=fix, sorted_=sort)
    return out


def _as_dates(values: pd.Series, *, where: str) -> pd.Series:
    dates = pd.to_datetime(values, errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    bad = dates.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise BadInput(
            f"{where}: row {i + 1} (counting from 1) has date {shown(values.iloc[i])}, which is not "
            "a date: send ISO dates such as 2024-01-31"
        )
    return dates.dt.normalize().astype("datetime64[ns]")


def _check_rows(
    frame: pd.DataFrame,
    *,
    where: str,
    label: Callable[[int], str],
    fix: str,
    sorted_: bool,
) -> None:
    for col in ("close", "open", "high", "low"):  # close first: it is the one modelled
        values = frame[col].to_numpy()
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise BadInput(
                f"{where}: {label(i)} has {col} = {float(values[i])!r}; prices must be finite "
                f"numbers > 0: {fix}"
            )
    for col in ("close", "open", "high", "low"):
        found = first_implausible(frame[col].to_numpy(), check_jumps=col == "close")
        if found is not None:
            raise BadInput(
                f"{where}: {label(found.index)} has {col} = {found.value!r}, which "
                f"{found.reason}: an implausible price, probably a typo or corrupt value: {fix} "
                "(if it is a real unadjusted split, use split-adjusted prices)"
            )
    volume = frame["volume"].to_numpy()
    bad_volume = np.isinf(volume) | (volume < 0)
    if bad_volume.any():
        i = int(np.flatnonzero(bad_volume)[0])
        raise BadInput(
            f"{where}: {label(i)} has volume = {float(volume[i])!r}; volume must be >= 0 or empty: {fix}"
        )
    dates = frame["date"]
    repeated = dates.duplicated(keep="first").to_numpy()
    if repeated.any():
        i = int(np.flatnonzero(repeated)[0])
        j = int(np.flatnonzero((dates == dates.iloc[i]).to_numpy())[0])
        raise BadInput(
            f"{where}: {label(i)} repeats the date {dates.iloc[i]:%Y-%m-%d} of {label(j)}: "
            "keep exactly one row per date"
        )
    if not sorted_:
        backwards = (dates.diff() < pd.Timedelta(0)).to_numpy()
        if backwards.any():
            i = int(np.flatnonzero(backwards)[0])
            raise BadInput(
                f"{where}: {label(i)} has date {dates.iloc[i]:%Y-%m-%d}, earlier than "
                f"{dates.iloc[i - 1]:%Y-%m-%d} just before it: sort the rows by date, oldest first"
            )
