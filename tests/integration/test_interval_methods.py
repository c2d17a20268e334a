"""A model trained with each interval method serves its interval through /predict."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from arch import arch_model
from fastapi.testclient import TestClient
from scipy import stats

from stocky.api.app import create_app
from stocky.core.intervals.garch import percent_returns
from support import FAST_TRAIN, gspc_tail, make_settings, train_into

pytestmark = pytest.mark.integration

FIXED_NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("method", ["ewma", "garch", "conformal", "model", "auto"])
def test_a_trained_spec_serves_its_interval_method(method: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home")
    result = train_into(settings, config=dataclasses.replace(FAST_TRAIN, interval=method))
    spec = result.spec
    assert spec.interval == (method if method != "auto" else spec.interval)
    assert spec.info["interval"] == spec.interval and spec.info["interval_reason"]
    prices = gspc_tail(60)
    with TestClient(create_app(settings, clock=lambda: FIXED_NOW)) as client:
        r = client.post("/predict", json={"recent_prices": prices, "ticker": "^GSPC"})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = spec.forecaster().forecast(prices)
    assert (body["lower"], body["upper"]) == pytest.approx((expected.lower, expected.upper))
    half = body["upper"] - body["prediction"]
    if spec.interval == "garch":  # arch's own forecast with the stored parameters
        p = spec.interval_params
        fixed = arch_model(percent_returns(np.array(prices)), dist="t")
        res = fixed.fix([p["mu"], p["omega"], p["alpha"], p["beta"], p["nu"]])
        var = float(res.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0])
        nu = p["nu"]
        t = stats.t.ppf(0.975, nu) * math.sqrt((nu - 2) / nu)
        assert half == pytest.approx(t * math.sqrt(var) / 100 * prices[-1], rel=1e-6)
    elif spec.interval == "conformal":
        assert spec.interval_params["n"] == FAST_TRAIN.test_size  # the test walk's errors
        assert half == pytest.approx(expected.upper - expected.mean, rel=1e-9)
