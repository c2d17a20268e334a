"""Price sources behind one small protocol (`stocky.wiring.make_price_source` picks one)."""

from __future__ import annotations

from stocky.adapters.prices.auto import AutoSource
from stocky.adapters.prices.base import (
    PRICE_COLUMNS,
    PriceSource,
    empty_price_frame,
    normalise_frame,
    rejected_by,
    select_range,
    source_end,
)
from stocky.adapters.prices.bundled import BUNDLED_TICKERS, BundledSource
from stocky.adapters.prices.csv import CsvSource
from stocky.adapters.prices.synthetic import SyntheticSource
from stocky.adapters.prices.universe import FolderSource, LongFileSource, open_price_file
from stocky.adapters.prices.yahoo import YahooSource

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
    "normalise_frame",
    "open_price_file",
    "rejected_by",
    "select_range",
    "source_end",
]
