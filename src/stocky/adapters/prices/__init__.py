"""Price sources behind one small protocol, and the factory that picks one from Settings."""

from __future__ import annotations

from stocky.adapters.prices.auto import AutoSource
from stocky.adapters.prices.base import (
    PRICE_COLUMNS,
    PriceSource,
    empty_price_frame,
    normalise_frame,
    rejected_by,
    select_range,
)
from stocky.adapters.prices.bundled import BUNDLED_TICKERS, BundledSource
from stocky.adapters.prices.csv import CsvSource
from stocky.adapters.prices.synthetic import SyntheticSource
from stocky.adapters.prices.universe import FolderSource, LongFileSource, open_price_file
from stocky.adapters.prices.yahoo import YahooSource
from stocky.config import Settings
from stocky.errors import BadInput

__all__ = [
    "BUNDLED_TICKERS",
    "PRICE_COLUMNS",
    "AutoSource",
    "BundledSource",
    "CsvSource",
    "FolderSource",
    "LongFileSource",
    "PriceSource",
    "SyntheticSource",
    "YahooSource",
    "empty_price_frame",
    "make_price_source",
    "normalise_frame",
    "open_price_file",
    "rejected_by",
    "select_range",
]


def make_price_source(settings: Settings) -> PriceSource:
    """Build the price source named by `settings.price_source`.

    Args:
        settings: Uses price_source, csv_path, the synthetic_* settings,
            yahoo_timeout_seconds and yahoo_retries.

    Returns:
        An AutoSource, BundledSource, YahooSource, SyntheticSource, or for csv the file
        source `open_price_file` picks (one-ticker CSV, long CSV or Parquet, or a folder).

    Raises:
        BadInput: price_source is csv but no csv_path is set.
    """
    kind = settings.price_source
    if kind == "bundled":
        return BundledSource()
    if kind == "csv":
        if settings.csv_path is None:
            raise BadInput(
                "STOCKY_PRICE_SOURCE=csv needs a file: set STOCKY_CSV_PATH to a CSV with "
                "Date and Close columns (add a Ticker column for many tickers), a Parquet "
                "file, or a folder of <TICKER>.csv files"
            )
        return open_price_file(settings.csv_path)
    if kind == "synthetic":
        return SyntheticSource(
            settings.synthetic_tickers,
            sessions=settings.synthetic_sessions,
            seed=settings.synthetic_seed,
            end=settings.synthetic_end,
            exchange=settings.exchange,
            regime_shifts=settings.synthetic_regime_shifts,
            splits=settings.synthetic_splits,
        )
    yahoo = YahooSource(settings.yahoo_timeout_seconds, settings.yahoo_retries)
    if kind == "yahoo":
        return yahoo
    return AutoSource(yahoo, BundledSource())
