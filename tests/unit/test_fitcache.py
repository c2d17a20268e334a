"""Fits remembered by their exact inputs (`core.fitcache`): a repeated fit is read back, equal
to a fresh one; any change of the bytes, the order or the warm start fits again."""

from __future__ import annotations

import numpy as np
import pytest

from stocky.core import arima as arima_mod
from stocky.core.arima import ArimaForecaster, ArimaOrder
from stocky.core.fitcache import FitCache, digest
from stocky.errors import DataQualityError


def test_digest_tells_bytes_dtype_and_absence_apart() -> None:
    a = np.arange(5.0)
    assert digest(a) == digest(a.copy())
    assert digest(a) != digest(a + 1e-15 * (a == 4))  # one last bit differs
    assert digest(a) != digest(a.astype(np.float32))
    assert digest(a, None) != digest(a)


def test_least_recently_used_goes_and_errors_are_not_kept() -> None:
    cache: FitCache[int] = FitCache(2)
    calls: list[str] = []

    def fit(name: str) -> int:
        calls.append(name)
        return len(calls)

    assert cache.get_or_fit("a", lambda: fit("a")) == 1
    assert cache.get_or_fit("b", lambda: fit("b")) == 2
    assert cache.get_or_fit("a", lambda: fit("a")) == 1  # hit: "b" is now the oldest
    assert cache.get_or_fit("c", lambda: fit("c")) == 3  # evicts "b"
    assert cache.get_or_fit("b", lambda: fit("b")) == 4
    assert calls == ["a", "b", "c", "b"] and (cache.hits, cache.misses) == (1, 4)

    def boom() -> int:
        raise DataQualityError("no fit")

    with pytest.raises(DataQualityError):
        cache.get_or_fit("d", boom)
    assert cache.get_or_fit("d", lambda: 7) == 7


def test_a_repeated_arima_fit_is_read_back_equal_to_a_fresh_one() -> None:
    rng = np.random.default_rng(3)
    y = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    arima_mod._FITS.clear()
    first = ArimaForecaster(ArimaOrder(0, 1, 1)).fit(y)
    again = ArimaForecaster(ArimaOrder(0, 1, 1)).fit(y.copy())
    assert arima_mod._FITS.hits == 1
    arima_mod._FITS.clear()
    fresh = ArimaForecaster(ArimaOrder(0, 1, 1)).fit(y)
    assert again.params_ == fresh.params_ == first.params_
    assert again.aic_ == fresh.aic_ and again.fit_warnings_ == fresh.fit_warnings_
    other = ArimaForecaster(ArimaOrder(1, 1, 0)).fit(y)  # another order fits again
    assert other.params_ != first.params_ and arima_mod._FITS.misses == 2
