"""A synthetic universe of tickers for scale tests and demos. SYNTHETIC DATA: not market prices.

`STOCKY_PRICE_SOURCE=synthetic` serves `STOCKY_SYNTHETIC_TICKERS` tickers named `SYN0001`,
`SYN0002`, ... Everything about a ticker comes from a random generator seeded with
(`STOCKY_SYNTHETIC_SEED`, the ticker's number), so a ticker has the same series in every
process and whatever the size of the universe. The stored rows, the training runs (param
`source`) and everything downstream carry the source name `synthetic`.

Each ticker is a geometric random walk on the exchange's trading sessions, ending at a fixed
date (`STOCKY_SYNTHETIC_END`, default 2024-12-31) so tests are reproducible:

- annual volatility uniform in 15%..50%, annual drift normal(6%, 8%), first close
  log-uniform in 5..500;
- Student-t(5) shocks scaled to unit variance (fat tails, as real returns have), clipped at
  6 standard deviations;
- with `regime_shifts`, about one volatility regime change per three years, each multiplying the
  base volatility by 0.5..2.0 from that session on (until the next change);
- with `splits`, about one ticker in three has one 2:1 or 3:1 split: its prices are divided by
  the ratio from the split session on (raw, unadjusted closes, which the quality gate flags);
- open = previous close moved by a small overnight gap; high and low around open and close;
  volume log-normal around a per-ticker level.

Generation is vectorised over the universe: 1,000 tickers x 2,000 sessions take a fraction of a
second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from stocky.adapters.prices.base import PRICE_COLUMNS
from stocky.core.sessions import DEFAULT_EXCHANGE, TradingCalendar
from stocky.core.tickers import normalize_ticker
from stocky.errors import BadInput, DataUnavailable

__all__ = ["SYNTHETIC_END", "SYNTHETIC_PREFIX", "SyntheticSource"]

SYNTHETIC_PREFIX = "SYN"
SYNTHETIC_END = dt.date(2024, 12, 31)
_TRADING_DAYS = 252.0
_T_DF = 5.0
_MAX_SHOCK = 6.0


class SyntheticSource:
    """Seeded synthetic prices for `SYN0001` .. `SYN<n>` (labelled `synthetic`).

    Args:
        tickers: How many tickers the universe has (1..99,999).
        sessions: Sessions per ticker, ending at `end` (20..20,000).
        seed: Universe seed; with the ticker's number it seeds each ticker's generator.
        end: Last session (the session on or before this date).
        exchange: Exchange calendar whose sessions the prices fall on.
        regime_shifts: Let volatility change level a few times per ticker.
        splits: Give about one ticker in three an unadjusted 2:1 or 3:1 split.
    """

    name = "synthetic"

    def __init__(
        self,
        tickers: int = 100,
        *,
        sessions: int = 2520,
        seed: int = 0,
        end: dt.date = SYNTHETIC_END,
        exchange: str = DEFAULT_EXCHANGE,
        regime_shifts: bool = True,
        splits: bool = False,
    ) -> None:
        if not 1 <= tickers <= 99_999:
            raise BadInput(f"synthetic tickers={tickers}: choose 1..99999")
        if not 20 <= sessions <= 20_000:
            raise BadInput(f"synthetic sessions={sessions}: choose 20..20000")
        self.count = tickers
        self.sessions = sessions
        self.seed = seed
        self.end = end
        self.exchange = exchange
        self.regime_shifts = regime_shifts
        self.splits = splits
        self._width = max(4, len(str(tickers)))
        self._dates: pd.DatetimeIndex | None = None

    def tickers(self) -> list[str]:
        """`SYN0001` .. `SYN<n>` (zero-padded to at least four digits)."""
        return [self._symbol(i) for i in range(1, self.count + 1)]

    def fetch(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        """The ticker's synthetic prices with `start <= date <= end`.

        Raises:
            DataUnavailable: The ticker is not in this universe, or no session is in range.
            BadInput: The ticker is not a valid symbol.
        """
        return self.fetch_many([ticker], start, end)[normalize_ticker(ticker)]

    def fetch_many(
        self, tickers: Iterable[str], start: dt.date | None = None, end: dt.date | None = None
    ) -> dict[str, pd.DataFrame]:
        """Price frames of many tickers at once, generated in one vectorised pass.

        Raises:
            DataUnavailable: A ticker is not in this universe, or no session is in range.
            BadInput: A ticker is not a valid symbol.
        """
        symbols = [normalize_ticker(t) for t in tickers]
        numbers = np.array([self._number(s) for s in symbols], dtype=np.int64)
        dates = self._sessions()
        ohlcv = self._generate(numbers, len(dates))
        out: dict[str, pd.DataFrame] = {}
        stamps = dates.to_numpy()
        # the range as one slice of the sessions (what `select_range` keeps), not a mask per ticker
        lo = 0 if start is None else int(np.searchsorted(stamps, np.datetime64(start), "left"))
        hi = (
            len(stamps)
            if end is None
            else int(np.searchsorted(stamps, np.datetime64(end), "right"))
        )
        for k, symbol in enumerate(symbols):
            columns = {"date": stamps[lo:hi]} | {
                col: ohlcv[j][k][lo:hi] for j, col in enumerate(PRICE_COLUMNS[1:])
            }
            frame = pd.DataFrame(columns, copy=False)
            if frame.empty:
                raise DataUnavailable(
                    f"synthetic prices for {symbol} cover {dates[0]:%Y-%m-%d} .. "
                    f"{dates[-1]:%Y-%m-%d}, nothing between {start or 'the start'} and "
                    f"{end or 'the end'}: ask for a range inside that span"
                )
            out[symbol] = frame
        return out

    def ends(self, ticker: str) -> dt.date:
        """The universe's last session (every synthetic ticker ends there).

        Raises:
            DataUnavailable: The ticker is not in this universe.
        """
        self._number(normalize_ticker(ticker))
        last: pd.Timestamp = self._sessions()[-1]
        return last.date()

    def describe(self) -> list[tuple[str, dt.date, dt.date, int]]:
        """One `(ticker, first date, last date, rows)` per synthetic ticker."""
        dates = self._sessions()
        first, last = dates[0].date(), dates[-1].date()
        return [(t, first, last, len(dates)) for t in self.tickers()]

    def _symbol(self, number: int) -> str:
        return f"{SYNTHETIC_PREFIX}{number:0{self._width}d}"

    def _number(self, symbol: str) -> int:
        digits = symbol[len(SYNTHETIC_PREFIX) :]
        if symbol.startswith(SYNTHETIC_PREFIX) and digits.isdigit():
            number = int(digits)
            if 1 <= number <= self.count and symbol == self._symbol(number):
                return number
        raise DataUnavailable(
            f"{symbol} is not in the synthetic universe {self._symbol(1)} .. "
            f"{self._symbol(self.count)}: ask for one of those, or raise "
            "STOCKY_SYNTHETIC_TICKERS"
        )

    def _sessions(self) -> pd.DatetimeIndex:
        if self._dates is None:
            # ~252 sessions a year: start early enough, with a margin, then keep the last ones
            start = self.end - dt.timedelta(days=int(self.sessions * 365 / 250) + 30)
            calendar = TradingCalendar(self.exchange, start=start, end=self.end)
            # the calendar is built up to `end`: its last session is the one on or before it
            # (asking for `end` itself fails when it is a weekend, past the calendar's bounds)
            last = calendar.last_session
            days = calendar.sessions_in_range(calendar.first_session, last)
            if len(days) < self.sessions:
                raise BadInput(
                    f"the {self.exchange} calendar has only {len(days)} sessions up to "
                    f"{self.end}: ask for fewer synthetic sessions"
                )
            self._dates = pd.DatetimeIndex(days[-self.sessions :]).astype("datetime64[ns]")
        return self._dates

    def _generate(self, numbers: np.ndarray, n: int) -> list[np.ndarray]:
        """Open, high, low, close, volume as (tickers, sessions) arrays."""
        k = len(numbers)
        sigma = np.empty(k)
        mu = np.empty(k)
        first = np.empty(k)
        level = np.empty(k)
        shocks = np.empty((k, n))
        noise = np.empty((k, 4, n))
        regime = np.ones((k, n))
        split_at = np.full(k, n)
        split_ratio = np.ones(k)
        for row, number in enumerate(numbers):
            rng = np.random.default_rng([self.seed, int(number)])
            sigma[row] = rng.uniform(0.15, 0.50) / np.sqrt(_TRADING_DAYS)
            mu[row] = rng.normal(0.06, 0.08) / _TRADING_DAYS
            first[row] = np.exp(rng.uniform(np.log(5.0), np.log(500.0)))
            level[row] = rng.uniform(11.0, 16.0)
            shocks[row] = rng.standard_t(_T_DF, n) * np.sqrt((_T_DF - 2.0) / _T_DF)
            rng.standard_normal(out=noise[row])
            shifts = rng.poisson(n / (3 * _TRADING_DAYS))
            at = np.sort(rng.integers(1, n, shifts))
            factors = rng.uniform(0.5, 2.0, shifts)
            if self.regime_shifts:
                for when, factor in zip(at, factors, strict=True):
                    regime[row, when:] = factor  # a level relative to the base, not compounded
            has_split, when, ratio = rng.random() < 1 / 3, rng.integers(1, n), rng.choice([2, 3])
            if self.splits and has_split:
                split_at[row], split_ratio[row] = when, ratio
        np.clip(shocks, -_MAX_SHOCK, _MAX_SHOCK, out=shocks)
        vol = regime
        vol *= sigma[:, None]
        log_ret = shocks
        log_ret *= vol
        log_ret += mu[:, None] - 0.5 * vol**2
        log_ret[:, 0] = 0.0
        close = np.cumsum(log_ret, axis=1, out=log_ret)
        np.exp(close, out=close)
        close *= first[:, None]
        open_ = np.empty_like(close)
        open_[:, 0] = close[:, 0]
        open_[:, 1:] = close[:, :-1]
        open_ *= np.exp(0.2 * vol * noise[:, 0])
        high = np.maximum(open_, close)
        high *= np.exp(0.5 * vol * np.abs(noise[:, 1]))
        low = np.minimum(open_, close)
        low *= np.exp(-0.5 * vol * np.abs(noise[:, 2]))
        volume = np.round(np.exp(level[:, None] + 0.3 * noise[:, 3]))
        after_split = np.arange(n)[None, :] >= split_at[:, None]
        divisor = np.where(after_split, split_ratio[:, None], 1.0)
        return [open_ / divisor, high / divisor, low / divisor, close / divisor, volume * divisor]
