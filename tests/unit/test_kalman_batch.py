"""Weight tables computed in stacks equal the one-model tables they replace at start-up.

The models are fitted on real S&P 500 closes (arch's bundled copy) in a mix of orders, so
the stacks have different state sizes and the models within a stack different p and q.
"""

from __future__ import annotations

import numpy as np
import pytest

from stocky.core.arima import ArimaForecaster, ArimaOrder, prepare_many
from stocky.core.kalman import weight_table
from stocky.core.kalman_batch import FilterModel, weight_tables

# (2,1,2) and (3,1,1) share a stack (d=1, r=3) with (0,1,2); (1,0,1) and (2,0,0) have constants
ORDERS = [(0, 1, 1), (1, 1, 0), (0, 1, 2), (2, 1, 2), (3, 1, 1), (1, 0, 1), (2, 0, 0), (1, 2, 1)]
#: Served window lengths (10..60): measured agreement ~2e-13; the diffuse first rows ~4e-10.
SERVED_RTOL = 1e-10
FIRST_ROWS_RTOL = 1e-7


@pytest.fixture(scope="module")
def fitted(sp500_close: np.ndarray) -> list[ArimaForecaster]:
    models = []
    for i, order in enumerate(ORDERS):
        for start in (-1500, -1200):  # two fits of each order: same shape, other values
            train = sp500_close[start - 100 * i : start - 100 * i + 900]
            models.append(ArimaForecaster(ArimaOrder(*order)).fit(train))
    return models


def _one(model: ArimaForecaster, n: int):  # type: ignore[no-untyped-def]
    p = model.params_
    assert p is not None
    return weight_table(
        n, ar=np.array(p.ar), ma=np.array(p.ma), d=p.order.d, sigma2=p.sigma2, mean=p.const
    )


def _filter_model(model: ArimaForecaster) -> FilterModel:
    p = model.params_
    assert p is not None
    return FilterModel(p.ar, p.ma, p.order.d, p.sigma2, p.const)


def test_stacked_tables_equal_one_model_tables_on_sp500_fits(fitted):
    tables = weight_tables(60, [_filter_model(m) for m in fitted])
    assert len(tables) == len(fitted)
    for model, got in zip(fitted, tables, strict=True):
        want = _one(model, 60)
        for rows, rtol in ((slice(9, None), SERVED_RTOL), (slice(None, 9), FIRST_ROWS_RTOL)):
            scale = np.maximum(1.0, np.abs(want.weights[rows]))
            assert np.max(np.abs(got.weights[rows] - want.weights[rows]) / scale) < rtol
            np.testing.assert_allclose(got.intercepts[rows], want.intercepts[rows], rtol=rtol)
            np.testing.assert_allclose(got.variances[rows], want.variances[rows], rtol=rtol)


def test_prepared_together_forecasts_like_prepared_alone(fitted, sp500_close):
    together = [ArimaForecaster.from_params(m.params_) for m in fitted]  # type: ignore[arg-type]
    prepare_many(together, range(10, 61))
    for model, batch in zip(fitted, together, strict=True):
        alone = ArimaForecaster.from_params(model.params_).prepare(range(10, 61))  # type: ignore[arg-type]
        for n in (10, 33, 60):
            window = sp500_close[-n:]
            a, b = alone.forecast(window), batch.forecast(window)
            assert b.mean == pytest.approx(a.mean, rel=SERVED_RTOL)
            assert b.std == pytest.approx(a.std, rel=SERVED_RTOL)


def test_each_table_owns_its_arrays(fitted):
    tables = weight_tables(20, [_filter_model(m) for m in fitted[:3]])
    # a reload that replaces one model must not keep a whole stack's arrays alive
    assert all(t.weights.base is None and t.weights.shape == (20, 20) for t in tables)


def test_bad_input_is_named():
    good = FilterModel((), (0.1,), 1, 1.0)
    with pytest.raises(ValueError, match=r"models\[1\]\.sigma2 must be > 0, got 0.0"):
        weight_tables(10, [good, FilterModel((), (), 1, 0.0)])
    with pytest.raises(ValueError, match="window length must be >= 1, got 0"):
        weight_tables(0, [good])
    assert weight_tables(10, []) == []
