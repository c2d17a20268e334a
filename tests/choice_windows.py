"""Pinned price windows for the choice tests: real closes and seeded synthetic series.

Real: S&P 500 closes shipped with `arch` and bokeh's adjusted closes of AAPL, MSFT, IBM and
GOOG, several windows of each at fixed offsets. SYNTHETIC: seeded AR(1)-return and local-level
series, so that non-naive choices are checked too (real windows mostly keep the random walk).
"""

from __future__ import annotations

import numpy as np

__all__ = ["PRE_TEST", "SHORT", "VALIDATION", "choice_windows", "real_windows", "synthetic_windows"]

#: Prices before the test period in a default training on 1,000 sessions (252 tested).
PRE_TEST = 748
#: The windows of the order search's own tests (and of the kernel flip first seen on AAPL).
SHORT = 622
VALIDATION = 126


def _real_series() -> dict[str, np.ndarray]:
    import arch.data.sp500
    from bokeh_sampledata import stocks

    series = {"^GSPC": arch.data.sp500.load()["Close"].to_numpy(dtype=float)}
    for ticker in ("AAPL", "MSFT", "IBM", "GOOG"):
        series[ticker] = np.asarray(getattr(stocks, ticker)["adj_close"], dtype=float)
    return series


def real_windows(per_series: int = 3, length: int = PRE_TEST) -> dict[str, np.ndarray]:
    """`per_series` windows of `length` prices of each real series, evenly spaced, pinned."""
    out = {}
    for name, close in _real_series().items():
        for start in np.linspace(0, len(close) - length, per_series).astype(int):
            out[f"{name}[{start}:{start + length}]"] = close[start : start + length].copy()
    return out


def ar1_returns(seed: int, n: int = PRE_TEST, phi: float = 0.3, vol: float = 0.01) -> np.ndarray:
    """SYNTHETIC: prices whose log returns are AR(1) with coefficient `phi`."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0.0, vol, n)
    r = np.empty(n)
    r[0] = e[0]
    for t in range(1, n):
        r[t] = phi * r[t - 1] + e[t]
    return 100.0 * np.exp(np.cumsum(r))


def local_level(seed: int, n: int = PRE_TEST, level_vol: float = 0.005, noise: float = 0.01):
    """SYNTHETIC: a random walk (in log price) seen through independent noise."""
    rng = np.random.default_rng(seed)
    level = np.cumsum(rng.normal(0.0, level_vol, n))
    return 100.0 * np.exp(level + rng.normal(0.0, noise, n))


def synthetic_windows() -> dict[str, np.ndarray]:
    return {
        "SYNTHETIC ar1[7]": ar1_returns(7),
        "SYNTHETIC ar1[8]": ar1_returns(8),
        "SYNTHETIC level[7]": local_level(7),
    }


def choice_windows(per_series: int = 3, length: int = SHORT) -> dict[str, np.ndarray]:
    """Real windows (`per_series` of each series, `length` prices) and the synthetic ones.

    With 8 windows of 622 prices, the order search before its kernel fix chose a different
    ARIMA order on 4 of the 40 real windows under OpenBLAS's Haswell and SkylakeX kernels."""
    return real_windows(per_series, length) | synthetic_windows()
