"""Where each ticker's price source ends: static sources (bundled, CSV, synthetic) are due up to
their last session, live ones by the exchange calendar (`stocky.core.freshness`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from stocky.adapters.prices.base import PriceSource
from stocky.errors import StockyError

__all__ = ["source_ends"]

log = logging.getLogger(__name__)


def source_ends(source: Callable[[], PriceSource]) -> Callable[[str], dt.date | None]:
    """Where the source `source()` returns ends for each ticker (`adapters.prices.source_end`),
    asked once per ticker. The source is built on the first question; a ticker it cannot
    answer for (not in it, an unreadable file, a misconfigured source) is measured against
    the calendar, and the reason is logged."""
    from stocky.adapters.prices import source_end

    held: dict[str, dt.date | None] = {}

    def ends(ticker: str) -> dt.date | None:
        if ticker not in held:
            try:
                held[ticker] = source_end(source(), ticker)
            except StockyError as exc:
                log.info(
                    "%s: where its prices end is unknown, due by the calendar: %s", ticker, exc
                )
                held[ticker] = None
        return held[ticker]

    return ends
