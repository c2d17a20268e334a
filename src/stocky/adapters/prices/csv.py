"""Prices from a user's CSV file: a `Date` and a `Close` column, other OHLCV columns optional.

Every problem in the file is reported, never repaired by dropping rows: the message names the
file, the data row (1-based, the header not counted, so data row 1 is spreadsheet line 2), the
value and what to change.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from stocky.adapters.prices.base import PRICE_COLUMNS, normalise_frame, select_range
from stocky.errors import BadInput, DataUnavailable

__all__ = ["CsvSource"]

_REQUIRED = ("date", "close")
_OPTIONAL_PRICES = ("open", "high", "low")
_NA_TEXT = {"", "nan", "na", "n/a", "null", "none", "-"}


def _row(i: int) -> str:
    """Human row name for 0-based data position `i`."""
    return f"data row {i + 1} (line {i + 2} counting the header)"


class CsvSource:
    """Serve one CSV file of daily prices.

    Args:
        path: The CSV file.
        ticker: The ticker the file holds. When given, asking for another ticker raises
            DataUnavailable; when None, the file is served for whatever ticker is asked.
    """

    name = "csv"

    def __init__(self, path: str | Path, ticker: str | None = None) -> None:
        self.path = Path(path)
        self.ticker = ticker.strip().upper() if ticker else None

    def tickers(self) -> list[str]:
        """The configured ticker, if any."""
        return [self.ticker] if self.ticker else []

    def fetch(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        """Read and validate the whole file, then return the rows in `[start, end]`.

        Raises:
            DataUnavailable: The file is for another ticker, or nothing falls in the range.
            BadInput: The file is missing, unreadable, or has a bad row.
        """
        if self.ticker and ticker.strip().upper() != self.ticker:
            raise DataUnavailable(
                f"{self.path.name} holds prices for {self.ticker}, not {ticker}: ask for "
                f"{self.ticker} or point STOCKY_CSV_PATH at a file for {ticker}"
            )
        frame = select_range(self.read(ticker), start, end)
        if frame.empty:
            raise DataUnavailable(
                f"{self.path.name} has no prices for {ticker} between {start or 'the start'} "
                f"and {end or 'the end'}: widen the range or add rows to the file"
            )
        return frame

    def read(self, ticker: str) -> pd.DataFrame:
        """The whole file as a validated price frame (rows in file order)."""
        raw = self._read_raw()
        columns = self._map_columns(raw)
        n = len(raw)
        if n == 0:
            raise BadInput(f"{self.path}: the file has a header but no data rows: add prices")
        text = {key: raw[col] for key, col in columns.items()}
        frame = pd.DataFrame({"date": self._parse_dates(text["date"])})
        frame["close"] = self._parse_numbers(text["close"], "Close")
        for col in _OPTIONAL_PRICES:
            if col in text:
                frame[col] = self._parse_numbers(text[col], col.title())
            else:
                frame[col] = frame["close"]
        if "volume" in text:
            frame["volume"] = self._parse_numbers(text["volume"], "Volume")
        else:
            frame["volume"] = 0.0
        return normalise_frame(
            frame.loc[:, list(PRICE_COLUMNS)],
            ticker=ticker,
            source=f"CSV file {self.path}",
            sort=False,
            row_label=_row,
            fix="correct or delete that row in the file",
        )

    def _read_raw(self) -> pd.DataFrame:
        if not self.path.is_file():
            raise BadInput(
                f"CSV price file {self.path} does not exist: set STOCKY_CSV_PATH to an "
                "existing file with Date and Close columns"
            )
        try:
            return pd.read_csv(self.path, dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise BadInput(
                f"{self.path} is not a readable CSV file ({exc}): save it as comma-separated "
                "UTF-8 text with a header line such as Date,Close"
            ) from exc

    def _map_columns(self, raw: pd.DataFrame) -> dict[str, str]:
        """Map lower-case price names to the file's own column names."""
        found: dict[str, str] = {}
        for col in raw.columns:
            key = str(col).strip().lower()
            if key not in PRICE_COLUMNS:
                continue
            if key in found:
                raise BadInput(
                    f"{self.path}: columns {found[key]!r} and {col!r} both mean {key} "
                    "(names are case-insensitive): keep only one of them"
                )
            found[key] = str(col)
        missing = [c.title() for c in _REQUIRED if c not in found]
        if missing:
            have = ", ".join(map(str, raw.columns)) or "none"
            raise BadInput(
                f"{self.path}: missing column(s) {', '.join(missing)} (found: {have}): the "
                "header needs Date and Close; Open, High, Low and Volume are optional"
            )
        return found

    def _parse_dates(self, text: pd.Series) -> pd.Series:
        stripped = text.str.strip()
        dates = pd.to_datetime(stripped, errors="coerce")
        bad = dates.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise BadInput(
                f"{self.path}: {_row(i)} has Date {text.iloc[i]!r}, which is not a date: "
                "write every date in one format, e.g. 2024-01-31"
            )
        return dates

    def _parse_numbers(self, text: pd.Series, column: str) -> pd.Series:
        stripped = text.str.strip()
        values = pd.to_numeric(stripped, errors="coerce")
        not_number = values.isna() & ~stripped.str.lower().isin(_NA_TEXT)
        if not_number.any():
            i = int(np.flatnonzero(not_number.to_numpy())[0])
            raise BadInput(
                f"{self.path}: {_row(i)} has {column} {text.iloc[i]!r}, which is not a number: "
                "write plain numbers such as 4769.83 (no currency signs or thousands separators)"
            )
        return values.astype("float64")
