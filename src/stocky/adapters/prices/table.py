"""Parse a table of prices read from a user's file (CSV or Parquet) into an unvalidated frame.

Shared by the one-ticker CSV source, the long-format (Ticker/Symbol column) file source and the
folder source, so every file format reports problems the same way: the message names the file,
the row (through a `row` function the caller passes), the value and what to change.

Columns are matched case-insensitively. `Date` and `Close` are required; `Open`, `High` and
`Low` default to the close and `Volume` to 0. Text cells are stripped; empty, `NaN`, `NA`,
`N/A`, `null`, `none` and `-` mean "no value" (which is then an error for a price, and unknown
for a volume). Columns Parquet already stores as numbers or timestamps are taken as they are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from stocky.adapters.prices.base import PRICE_COLUMNS
from stocky.errors import BadInput

__all__ = ["NA_TEXT", "RowLabel", "csv_row", "map_columns", "parse_prices", "plain_row"]

NA_TEXT = frozenset({"", "nan", "na", "n/a", "null", "none", "-"})
_REQUIRED = ("date", "close")
_OPTIONAL_PRICES = ("open", "high", "low")

RowLabel = Callable[[int], str]


def csv_row(i: int) -> str:
    """Human row name for 0-based data position `i` of a CSV file."""
    return f"data row {i + 1} (line {i + 2} counting the header)"


def plain_row(i: int) -> str:
    """Human row name for 0-based position `i` of a file without header lines (Parquet)."""
    return f"row {i + 1} (counting from 1)"


def map_columns(columns: list[str], *, where: str, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Map lower-case names (price columns and `extra`) to the file's own column names.

    Raises:
        BadInput: Two columns mean the same thing, or Date or Close is missing.
    """
    wanted = (*PRICE_COLUMNS, *extra)
    found: dict[str, str] = {}
    for col in columns:
        key = str(col).strip().lower()
        if key not in wanted:
            continue
        if key in found:
            raise BadInput(
                f"{where}: columns {found[key]!r} and {col!r} both mean {key} "
                "(names are case-insensitive): keep only one of them"
            )
        found[key] = str(col)
    missing = [c.title() for c in _REQUIRED if c not in found]
    if missing:
        have = ", ".join(map(str, columns)) or "none"
        raise BadInput(
            f"{where}: missing column(s) {', '.join(missing)} (found: {have}): the "
            "header needs Date and Close; Open, High, Low and Volume are optional"
        )
    return found


def parse_prices(
    raw: pd.DataFrame, columns: dict[str, str], *, where: str, row: RowLabel
) -> pd.DataFrame:
    """Dates and numbers of `raw` as a frame with `PRICE_COLUMNS` (values not yet checked).

    Raises:
        BadInput: The table has no rows, or a date or number cannot be parsed.
    """
    if len(raw) == 0:
        raise BadInput(f"{where}: the file has a header but no data rows: add prices")
    frame = pd.DataFrame({"date": _parse_dates(raw[columns["date"]], where=where, row=row)})
    frame["close"] = _parse_numbers(raw[columns["close"]], "Close", where=where, row=row)
    for col in _OPTIONAL_PRICES:
        if col in columns:
            frame[col] = _parse_numbers(raw[columns[col]], col.title(), where=where, row=row)
        else:
            frame[col] = frame["close"]
    if "volume" in columns:
        frame["volume"] = _parse_numbers(raw[columns["volume"]], "Volume", where=where, row=row)
    else:
        frame["volume"] = 0.0
    return frame.loc[:, list(PRICE_COLUMNS)]


def _parse_dates(values: pd.Series, *, where: str, row: RowLabel) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = values
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)
    else:
        dates = pd.to_datetime(values.astype(str).str.strip(), errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadInput(
            f"{where}: {row(i)} has Date {values.iloc[i]!r}, which is not a date: "
            "write every date in one format, e.g. 2024-01-31"
        )
    return dates


def _parse_numbers(values: pd.Series, column: str, *, where: str, row: RowLabel) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text = values.astype(str).str.strip()
    parsed = pd.to_numeric(text, errors="coerce")
    not_number = parsed.isna() & ~text.str.lower().isin(NA_TEXT)
    if not_number.any():
        i = int(np.flatnonzero(not_number.to_numpy())[0])
        raise BadInput(
            f"{where}: {row(i)} has {column} {values.iloc[i]!r}, which is not a number: "
            "write plain numbers such as 4769.83 (no currency signs or thousands separators)"
        )
    return parsed.astype("float64")
