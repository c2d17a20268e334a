"""Prices from a user's CSV file: a `Date` and a `Close` column, other OHLCV columns optional.

Every problem in the file is reported, never repaired by dropping rows: the message names the
file, the data row (1-based, the header not counted, so data row 1 is spreadsheet line 2), the
value and what to change.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from stocky.adapters.prices.base import normalise_frame, select_range
from stocky.adapters.prices.table import csv_row, map_columns, parse_prices
from stocky.core.tickers import normalize_ticker
from stocky.errors import BadInput, DataUnavailable

__all__ = ["CsvSource", "read_csv_text"]


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
        self.ticker = normalize_ticker(ticker) if ticker else None
        self._end: tuple[int | None, dt.date] | None = None  # (file mtime, last session)

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
        if self.ticker and normalize_ticker(ticker) != self.ticker:
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

    def ends(self, ticker: str) -> dt.date:
        """The file's last session (read again when the file changes).

        Raises:
            DataUnavailable: The file is for another ticker.
            BadInput: The file is missing, unreadable, or has a bad row.
        """
        if self.ticker and normalize_ticker(ticker) != self.ticker:
            raise DataUnavailable(
                f"{self.path.name} holds prices for {self.ticker}, not {ticker}: ask for "
                f"{self.ticker} or point STOCKY_CSV_PATH at a file for {ticker}"
            )
        stamp = self.path.stat().st_mtime_ns if self.path.is_file() else None
        if self._end is None or self._end[0] != stamp:
            last: pd.Timestamp = self.read(ticker)["date"].iloc[-1]
            self._end = (stamp, last.date())
        return self._end[1]

    def read(self, ticker: str) -> pd.DataFrame:
        """The whole file as a validated price frame (rows in file order)."""
        raw = self._read_raw()
        where = str(self.path)
        columns = map_columns(list(raw.columns), where=where)
        frame = parse_prices(raw, columns, where=where, row=csv_row)
        return normalise_frame(
            frame,
            ticker=ticker,
            source=f"CSV file {self.path}",
            sort=False,
            row_label=csv_row,
            fix="correct or delete that row in the file",
        )

    def _read_raw(self) -> pd.DataFrame:
        return read_csv_text(self.path)


def read_csv_text(path: Path, *, nrows: int | None = None) -> pd.DataFrame:
    """Every cell of a CSV file as text (no type guessing, no NA guessing).

    Args:
        path: The file.
        nrows: Read only this many data rows (0: just the header).

    Raises:
        BadInput: The file does not exist or is not readable CSV.
    """
    if not path.is_file():
        raise BadInput(
            f"CSV price file {path} does not exist: set STOCKY_CSV_PATH to an "
            "existing file with Date and Close columns"
        )
    try:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, skipinitialspace=True, nrows=nrows
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"{path} is not a readable CSV file ({exc}): save it as comma-separated "
            "UTF-8 text with a header line such as Date,Close"
        ) from exc
