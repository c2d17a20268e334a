"""Parse a table of prices read from a user's file (CSV or Parquet) into an unvalidated frame.

Shared by the one-ticker CSV source, the long-format (Ticker/Symbol column) file source and the
folder source, so every file format reports problems the same way: the message names the file,
the row (through a `row` function the caller passes), the value and what to change.

Columns are matched case-insensitively. `Date` and `Close` are required; `Open`, `High` and
`Low` default to the close and `Volume` to 0. Text cells are stripped; empty, `NaN`, `NA`,
`N/A`, `null`, `none` and `-` mean "no value" (which is then an error for a price, and unknown
for a volume). Columns Parquet already stores as numbers or timestamps are taken as they are;
a Parquet `Date` of integers or floats is refused by name (its unit is a guess).

`parse_table` keeps going past a bad cell and remembers it, so a file of many tickers can fail
only the ticker whose row it is (`ParsedTable.first_problem(positions)`); `parse_prices` is the
strict form a one-ticker file uses. Cells are quoted in messages with `core.shown.shown`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stocky.adapters.prices.base import PRICE_COLUMNS
from stocky.core.shown import shown
from stocky.errors import BadInput

__all__ = [
    "NA_TEXT",
    "ParsedTable",
    "RowLabel",
    "csv_row",
    "map_columns",
    "parse_prices",
    "parse_table",
    "plain_row",
]

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
                f"{where}: columns {shown(found[key])} and {shown(col)} both mean {key} "
                "(names are case-insensitive): keep only one of them"
            )
        found[key] = str(col)
    missing = [c.title() for c in _REQUIRED if c not in found]
    if missing:
        have = ", ".join(shown(c, limit=20) for c in columns[:20]) or "none"
        more = f" and {len(columns) - 20} more" if len(columns) > 20 else ""
        raise BadInput(
            f"{where}: missing column(s) {', '.join(missing)} (found: {have}{more}): the "
            "header needs Date and Close; Open, High, Low and Volume are optional"
        )
    return found


@dataclass(frozen=True)
class _BadCells:
    """The unparseable cells of one column: a mask over the rows and how to word one."""

    column: str
    raw: pd.Series
    bad: np.ndarray
    what: str
    fix: str


@dataclass(frozen=True)
class ParsedTable:
    """A table parsed past its bad cells.

    Attributes:
        frame: `PRICE_COLUMNS`; a cell that could not be parsed is NaT or NaN.
        where: The file, for messages.
        row: Names a row by its 0-based position.
    """

    frame: pd.DataFrame
    where: str
    row: RowLabel
    _cells: tuple[_BadCells, ...] = ()

    def first_problem(self, positions: np.ndarray | None = None) -> str | None:
        """The message for the first unparseable cell among `positions` (all rows when None),
        columns in the order Date, Close, Open, High, Low, Volume; None when they all parse."""
        for cells in self._cells:
            bad = cells.bad if positions is None else cells.bad[positions]
            if not bad.any():
                continue
            first = int(np.flatnonzero(bad)[0])
            i = first if positions is None else int(positions[first])
            return (
                f"{self.where}: {self.row(i)} has {cells.column} {shown(cells.raw.iloc[i])}, "
                f"which is not {cells.what}: {cells.fix}"
            )
        return None


def parse_table(
    raw: pd.DataFrame, columns: dict[str, str], *, where: str, row: RowLabel
) -> ParsedTable:
    """Dates and numbers of `raw`, with its unparseable cells remembered rather than raised.

    Raises:
        BadInput: The table has no rows, or its Date column is stored as numbers.
    """
    if len(raw) == 0:
        raise BadInput(f"{where}: the file has a header but no data rows: add prices")
    cells: list[_BadCells] = []
    date_raw = raw[columns["date"]]
    dates, bad = _parse_dates(date_raw, column=columns["date"], where=where)
    cells.append(
        _BadCells(
            "Date", date_raw, bad, "a date", "write every date in one format, e.g. 2024-01-31"
        )
    )
    frame = pd.DataFrame({"date": dates})
    number_fix = "write plain numbers such as 4769.83 (no currency signs or thousands separators)"
    for col in ("close", *_OPTIONAL_PRICES, "volume"):
        if col not in columns:
            frame[col] = frame["close"] if col != "volume" else 0.0
            continue
        values = raw[columns[col]]
        frame[col], bad = _parse_numbers(values)
        cells.append(_BadCells(col.title(), values, bad, "a number", number_fix))
    return ParsedTable(frame.loc[:, list(PRICE_COLUMNS)], where, row, tuple(cells))


def parse_prices(
    raw: pd.DataFrame, columns: dict[str, str], *, where: str, row: RowLabel
) -> pd.DataFrame:
    """Dates and numbers of `raw` as a frame with `PRICE_COLUMNS` (values not yet checked).

    Raises:
        BadInput: The table has no rows, or a date or number cannot be parsed.
    """
    table = parse_table(raw, columns, where=where, row=row)
    problem = table.first_problem()
    if problem is not None:
        raise BadInput(problem)
    return table.frame


def _parse_dates(values: pd.Series, *, column: str, where: str) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = values
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)
    elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise BadInput(
            f"{where}: column {shown(column)} holds {values.dtype} numbers, not dates (is it "
            "days or seconds since 1970?): write it as dates, e.g. with pandas "
            "`df['Date'] = pd.to_datetime(df['Date'], unit='D')` before `to_parquet`, or as "
            "text such as 2024-01-31"
        )
    else:
        text = values.astype(str).str.strip()
        with warnings.catch_warnings():
            # a column of mixed formats makes pandas guess per element, and say so: the cells it
            # cannot read are reported here, by row
            warnings.simplefilter("ignore", UserWarning)
            dates = pd.to_datetime(text, errors="coerce")
    return dates, dates.isna().to_numpy()


def _parse_numbers(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64"), np.zeros(len(values), dtype=bool)
    text = values.astype(str).str.strip()
    parsed = pd.to_numeric(text, errors="coerce")
    not_number = parsed.isna() & ~text.str.lower().isin(NA_TEXT)
    return parsed.astype("float64"), not_number.to_numpy()
