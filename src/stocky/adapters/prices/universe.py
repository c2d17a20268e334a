"""Many tickers from files: a long-format CSV or Parquet file, or a folder of `<TICKER>.csv`.

- Long format: one row per (ticker, session), a `Ticker` (or `Symbol`) column next to the
  columns a one-ticker CSV has (`Date`, `Close`; `Open`, `High`, `Low`, `Volume` optional).
  CSV or Parquet (`.parquet`/`.pq`, read with pyarrow). Rows of different tickers may be
  interleaved; each ticker's own rows must be in date order, as in a one-ticker file.
- Folder: every `*.csv` file in it is one ticker, named by the file (`BRK-B.csv` is `BRK-B`).

Tickers are checked with `stocky.core.tickers.normalize_ticker` (a hostile name such as
`<img src=x onerror=alert(1)>` is refused, naming its row or file). The file is parsed once per
source instance, on first use, past its bad cells; each ticker's rows are validated when that
ticker is fetched, so one bad cell (`Close=abc`, `Date=notadate`) fails only its ticker, with
its row named, as the one-ticker CSV source does. Rows whose ticker is not a symbol belong to
no ticker: `tickers()` leaves them out and `rejected()` names them, each with its first row.
`open_price_file` picks the right source for a path.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from stocky.adapters.prices.base import PriceSource, normalise_frame, select_range
from stocky.adapters.prices.csv import CsvSource, read_csv_text
from stocky.adapters.prices.table import (
    ParsedTable,
    RowLabel,
    csv_row,
    map_columns,
    parse_table,
    plain_row,
)
from stocky.core.shown import shown
from stocky.core.tickers import TICKER_ALPHABET, TICKER_MAX_LENGTH, normalize_ticker
from stocky.errors import BadInput, DataUnavailable, StockyError

__all__ = ["FolderSource", "LongFileSource", "open_price_file"]

PARQUET_SUFFIXES = (".parquet", ".pq")
_TICKER_COLUMNS = ("ticker", "symbol")


def open_price_file(path: str | Path) -> PriceSource:
    """The source for `STOCKY_CSV_PATH`: a folder, a Parquet file, a long CSV or a plain CSV.

    A CSV is long-format when its header has a Ticker or Symbol column; otherwise it is the
    one-ticker file served for whatever ticker is asked (as before).
    """
    path = Path(path)
    if path.is_dir():
        return FolderSource(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return LongFileSource(path)
    if path.is_file():
        header = read_csv_text(path, nrows=0).columns if path.stat().st_size else []
        if any(str(c).strip().lower() in _TICKER_COLUMNS for c in header):
            return LongFileSource(path)
    return CsvSource(path)


def _unknown(ticker: str, where: str, known: list[str]) -> DataUnavailable:
    shown = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
    return DataUnavailable(
        f"{where} has no prices for {ticker}; it holds {shown or 'no tickers'}: ask for one of "
        "those or add the ticker's rows"
    )


class LongFileSource:
    """Serve every ticker of one long-format CSV or Parquet file.

    Args:
        path: The file; `.parquet`/`.pq` is read as Parquet, anything else as CSV.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.parquet = self.path.suffix.lower() in PARQUET_SUFFIXES
        self.name = "parquet" if self.parquet else "csv"
        self._row: RowLabel = plain_row if self.parquet else csv_row
        self._parsed: ParsedTable | None = None
        self._positions: dict[str, np.ndarray] = {}
        self._rejected: dict[str, StockyError] = {}

    def tickers(self) -> list[str]:
        """Every ticker in the file, in order of first appearance (rows whose ticker is not a
        symbol are left out: see `rejected`).

        Raises:
            BadInput: The file is unreadable, or lacks a column every row needs.
        """
        self._load()
        return list(self._positions)

    def rejected(self) -> dict[str, StockyError]:
        """Each spelling in the ticker column that is not a symbol (quoted, as `shown` writes
        it) -> the error naming its first row and how many rows it has.

        Raises:
            BadInput: The file is unreadable, or lacks a column every row needs.
        """
        self._load()
        return dict(self._rejected)

    def fetch(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        """The ticker's rows, validated, with `start <= date <= end`.

        Raises:
            DataUnavailable: The file has no rows for the ticker in the range.
            BadInput: The file, or one of the ticker's rows, is invalid (the row is named).
        """
        symbol = normalize_ticker(ticker)
        parsed = self._load()
        positions = self._positions.get(symbol)
        if positions is None:
            raise _unknown(symbol, self.path.name, list(self._positions))
        problem = parsed.first_problem(positions)
        if problem is not None:
            raise BadInput(f"{problem}; the row is {symbol}'s, other tickers are unaffected")
        row = self._row
        frame = normalise_frame(
            parsed.frame.iloc[positions],
            ticker=symbol,
            source=f"{'Parquet' if self.parquet else 'CSV'} file {self.path}",
            sort=False,
            row_label=lambda i: row(int(positions[i])),
            fix="correct or delete that row in the file",
        )
        out = select_range(frame, start, end)
        if out.empty:
            raise DataUnavailable(
                f"{self.path.name} has no prices for {symbol} between {start or 'the start'} "
                f"and {end or 'the end'}: widen the range or add rows to the file"
            )
        return out

    def ends(self, ticker: str) -> dt.date:
        """The ticker's last dated row in the file (rows are in date order per ticker).

        Raises:
            DataUnavailable: The file has no rows for the ticker.
            BadInput: The file is unreadable, or lacks a column every row needs.
        """
        symbol = normalize_ticker(ticker)
        parsed = self._load()
        positions = self._positions.get(symbol)
        dates = None if positions is None else parsed.frame["date"].iloc[positions].dropna()
        if dates is None or dates.empty:
            raise _unknown(symbol, self.path.name, list(self._positions))
        last: pd.Timestamp = dates.max()
        return last.date()

    def _load(self) -> ParsedTable:
        if self._parsed is not None:
            return self._parsed
        raw = self._read()
        where = str(self.path)
        columns = map_columns(list(raw.columns), where=where, extra=_TICKER_COLUMNS)
        present = [c for c in _TICKER_COLUMNS if c in columns]
        if len(present) != 1:
            raise BadInput(
                f"{where}: {'both Ticker and Symbol columns' if present else 'no Ticker column'}"
                ": a file of many tickers needs exactly one Ticker (or Symbol) column"
            )
        symbols = self._symbols(raw[columns[present[0]]])
        parsed = parse_table(raw, columns, where=where, row=self._row)
        codes, names = pd.factorize(symbols, sort=False)  # a rejected row's NaN is code -1
        order = np.argsort(codes, kind="stable")
        order = order[codes[order] >= 0]
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        self._positions = dict(zip(names, np.split(order, bounds), strict=True))
        self._parsed = parsed
        return parsed

    def _symbols(self, values: pd.Series) -> pd.Series:
        """Normalised tickers (NaN on a row whose ticker is not a symbol, noted in
        `_rejected`); each distinct spelling is checked once."""
        text = values.astype("string").fillna("")
        normal: dict[str, str] = {}
        self._rejected = {}
        for spelling in pd.unique(text):
            try:
                normal[spelling] = normalize_ticker(spelling)
            except BadInput:
                rows = np.flatnonzero((text == spelling).to_numpy())
                others = f" (and {len(rows) - 1} more rows)" if len(rows) > 1 else ""
                self._rejected[shown(spelling)] = BadInput(
                    f"{self.path}: {self._row(int(rows[0]))}{others} has ticker "
                    f"{shown(spelling)}, which is not a symbol: use 1-{TICKER_MAX_LENGTH} "
                    f"characters of {TICKER_ALPHABET} (e.g. AAPL, ^GSPC, BRK-B), or delete the "
                    "row; its rows were skipped, other tickers are unaffected"
                )
        return text.map(normal)

    def _read(self) -> pd.DataFrame:
        if not self.parquet:
            return read_csv_text(self.path)
        if not self.path.is_file():
            raise BadInput(
                f"Parquet price file {self.path} does not exist: set STOCKY_CSV_PATH to an "
                "existing file with Ticker, Date and Close columns"
            )
        import pyarrow

        try:
            return pd.read_parquet(self.path, engine="pyarrow")
        except (pyarrow.ArrowException, OSError, ValueError) as exc:
            raise BadInput(
                f"{self.path} is not a readable Parquet file ({exc}): write it with "
                "pandas.DataFrame.to_parquet, with Ticker, Date and Close columns"
            ) from exc


class FolderSource:
    """Serve a folder of one-ticker CSV files named `<TICKER>.csv`.

    A file not named by a ticker is left out and named by `rejected()`; two files of one
    ticker (`brk-b.csv`, `BRK-B.csv`) fail only that ticker.

    Args:
        path: The folder.
    """

    name = "csv"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._files: dict[str, Path | BadInput] | None = None
        self._sources: dict[str, CsvSource] = {}  # each file's last session, kept per mtime
        self._rejected: dict[str, StockyError] = {}

    def tickers(self) -> list[str]:
        """The tickers named by the folder's `.csv` files, sorted.

        Raises:
            BadInput: The folder has no CSV files.
        """
        return sorted(self._index())

    def rejected(self) -> dict[str, StockyError]:
        """Each `.csv` file whose name is not a ticker (quoted) -> the error naming it."""
        self._index()
        return dict(self._rejected)

    def fetch(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        """The ticker's file, validated as a one-ticker CSV (see `CsvSource.fetch`)."""
        symbol = normalize_ticker(ticker)
        files = self._index()
        if symbol not in files:
            raise _unknown(symbol, f"folder {self.path}", sorted(files))
        file = files[symbol]
        if isinstance(file, BadInput):
            raise file
        return CsvSource(file, symbol).fetch(symbol, start, end)

    def ends(self, ticker: str) -> dt.date:
        """The last session of the ticker's file (see `CsvSource.ends`)."""
        symbol = normalize_ticker(ticker)
        files = self._index()
        if symbol not in files:
            raise _unknown(symbol, f"folder {self.path}", sorted(files))
        file = files[symbol]
        if isinstance(file, BadInput):
            raise file
        held = self._sources.get(symbol)
        if held is None or held.path != file:
            held = self._sources[symbol] = CsvSource(file, symbol)
        return held.ends(symbol)

    def _index(self) -> dict[str, Path | BadInput]:
        if self._files is not None:
            return self._files
        files: dict[str, Path | BadInput] = {}
        rejected: dict[str, StockyError] = {}
        for file in sorted(self.path.iterdir()):
            if not (file.is_file() and file.suffix.lower() == ".csv"):
                continue
            try:
                symbol = normalize_ticker(file.stem)
            except BadInput as exc:
                rejected[shown(file.name)] = BadInput(
                    f"{self.path}: file {shown(file.name)} is not named by a ticker ({exc}): "
                    "rename it <TICKER>.csv or move it out; it was skipped"
                )
                continue
            held = files.get(symbol)
            if held is not None:
                first = held.name if isinstance(held, Path) else "another file"
                files[symbol] = BadInput(
                    f"{self.path}: files {shown(first)} and {shown(file.name)} are both "
                    f"{symbol} (names are case-insensitive): keep one of them"
                )
                continue
            files[symbol] = file
        if not files and not rejected:
            raise BadInput(
                f"{self.path} holds no .csv files: put one <TICKER>.csv (Date, Close) per ticker "
                "in it, or point STOCKY_CSV_PATH at a file"
            )
        self._files, self._rejected = files, rejected
        return files
