"""Yahoo when it is reachable, the bundled datasets otherwise; decided once, on first use."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Callable

import pandas as pd

from stocky.adapters.prices.base import PriceSource, source_end

__all__ = ["YAHOO_HOST", "AutoSource", "yahoo_reachable"]

log = logging.getLogger(__name__)

YAHOO_HOST = "query1.finance.yahoo.com"


def yahoo_reachable(timeout: float = 2.0) -> bool:
    """True when a TCP connection to Yahoo's finance query host on port 443 succeeds."""
    try:
        with socket.create_connection((YAHOO_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


class AutoSource:
    """Pick Yahoo or the bundled data the first time prices (or tickers) are asked for.

    The choice is kept for the life of the instance, so one run never mixes sources, and it
    is logged. `name` and `chosen` report the picked source's name (asking decides).

    Args:
        yahoo: The online source.
        bundled: The offline source.
        probe: Returns True when Yahoo is reachable; default tries a TCP connect.
    """

    def __init__(
        self,
        yahoo: PriceSource,
        bundled: PriceSource,
        probe: Callable[[], bool] = yahoo_reachable,
    ) -> None:
        self._yahoo = yahoo
        self._bundled = bundled
        self._probe = probe
        self._source: PriceSource | None = None

    @property
    def source(self) -> PriceSource:
        """The chosen source, probing on first access."""
        if self._source is None:
            online = self._probe()
            self._source = self._yahoo if online else self._bundled
            log.info(
                "price source: %s (%s)",
                self._source.name,
                "Yahoo is reachable" if online else "Yahoo is unreachable, using bundled data",
            )
        return self._source

    @property
    def chosen(self) -> str:
        """Name of the chosen source (`yahoo` or `bundled`)."""
        return self.source.name

    @property
    def name(self) -> str:
        """Same as `chosen`: rows are stored under the source that really served them."""
        return self.chosen

    def fetch(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        """Prices from the chosen source (see `PriceSource.fetch`)."""
        return self.source.fetch(ticker, start, end)

    def ends(self, ticker: str) -> dt.date | None:
        """Where the chosen source ends: None online (Yahoo is live), the bundled data's last
        session offline."""
        return source_end(self.source, ticker)

    def tickers(self) -> list[str]:
        """Tickers of the chosen source (the bundled list when offline, [] for Yahoo)."""
        return self.source.tickers()
