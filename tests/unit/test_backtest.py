"""Walk-forward with fixed parameters against a direct per-step reference."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from statsmodels.tsa.arima.model import ARIMA

from stocky.core.arima import ArimaForecaster, ArimaOrder
from stocky.core.backtest import walk_forward
from stocky.errors import BadInput


def test_fixed_params_match_per_step_statsmodels_forecasts(sp500_close):
    y = sp500_close[-400:]
    wf = walk_forward(y, order=ArimaOrder(1, 1, 1), test_size=20, train_window=300)
    params = wf.params[0]
    # independent reference: a fresh statsmodels filter over the history before each step
    for i in (0, 7, 19):
        t = wf.start + i
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = ARIMA(y[t - 300 : t], order=(1, 1, 1), trend="n").filter(params.as_vector())
        assert wf.mean[i] == pytest.approx(float(res.forecast(1)[0]), rel=1e-9)
    assert np.array_equal(wf.actual, y[-20:])
    assert np.array_equal(wf.naive, y[-21:-1])
    assert wf.refits == 1


def test_refit_every_k_counts_refits(sp500_close):
    y = sp500_close[-700:]
    wf = walk_forward(y, order=ArimaOrder(1, 1, 0), test_size=60, train_window=500, refit_every=21)
    assert wf.refits == 3  # blocks start at 0, 21, 42
    assert len(wf.params) == 3
    assert wf.params[0] != wf.params[1]


def test_random_walk_equals_naive(sp500_close):
    wf = walk_forward(sp500_close[-500:], order=ArimaOrder(0, 1, 0), test_size=100)
    assert wf.rmse == pytest.approx(wf.naive_rmse, rel=1e-10)


def test_given_params_are_used_without_fitting(sp500_close):
    params = ArimaForecaster(ArimaOrder(0, 1, 1)).fit(sp500_close[-900:-300]).params_
    wf = walk_forward(sp500_close[-600:], order=ArimaOrder(0, 1, 1), test_size=50, params=params)
    assert wf.refits == 0
    assert wf.params == (params,)


def test_too_short_series_says_what_to_do():
    with pytest.raises(BadInput, match="too few"):
        walk_forward(np.linspace(100, 110, 40), order=ArimaOrder(0, 1, 0), test_size=30)
