"""Specs record the interval method and its parameters and serve from them alone."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from stocky.core.arima import ArimaForecaster, ArimaOrder
from stocky.core.families.registry import family_class
from stocky.core.intervals import interval_method
from stocky.core.spec import ModelSpec
from stocky.errors import BadInput

GARCH_PARAMS = {"mu": 0.05, "omega": 0.02, "alpha": 0.1, "beta": 0.85, "nu": 6.0}
CONFORMAL_PARAMS = {"level": 0.95, "q": 2.2, "n": 3, "scores": [0.5, 1.0, 2.2]}
PARAMS = {
    "ewma": {"scale": 1.07},
    "garch": GARCH_PARAMS,
    "conformal": CONFORMAL_PARAMS,
    "model": {},
}


def _spec(model_type: str, params: dict, interval: str) -> ModelSpec:
    return ModelSpec(
        ticker="^GSPC",
        model_type=model_type,
        params=params,
        train_start="2014-01-02",
        train_end="2018-12-31",
        train_rows=1260,
        interval=interval,
        interval_params=PARAMS[interval],
    )


@pytest.fixture(scope="module")
def arima_params(sp500_close: np.ndarray) -> dict:
    return ArimaForecaster(ArimaOrder(0, 1, 1)).fit(sp500_close[-600:-60]).params_.to_dict()


@pytest.mark.parametrize("interval", sorted(PARAMS))
def test_every_family_serves_every_method_after_a_json_round_trip(
    interval: str, sp500_close: np.ndarray, arima_params: dict
) -> None:
    window = sp500_close[-60:]
    naive = family_class("naive")().fit(sp500_close[-600:-60]).to_params()
    for model_type, params in (("arima", arima_params), ("naive", naive)):
        spec = _spec(model_type, params, interval)
        again = ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
        assert (again.interval, again.interval_params) == (interval, spec.interval_params)
        fc = again.forecaster().forecast(window)
        family_mean, model_std = spec.family().predict_one(window)
        half = interval_method(interval).half_width(
            window, 0.95, spec.interval_params, model_std=model_std
        )
        assert fc.mean == pytest.approx(family_mean, rel=1e-9)
        assert (fc.upper - fc.mean, fc.mean - fc.lower) == pytest.approx((half, half), rel=1e-9)


def test_arima_keeps_its_weight_table_path_for_the_mean(arima_params: dict) -> None:
    served = _spec("arima", arima_params, "garch").forecaster()
    assert served._arima is not None
    served.prepare(range(2, 61))
    window = np.linspace(100.0, 110.0, 40)
    reference = ArimaForecaster.from_params(served._arima.params_).forecast(window)
    assert served.forecast(window).mean == pytest.approx(reference.mean, rel=1e-12)


def test_a_spec_from_before_interval_parameters_loads_as_it_served(arima_params: dict) -> None:
    doc = _spec("arima", arima_params, "ewma").to_dict()
    del doc["interval_params"]
    doc["interval_scale"] = 1.08
    spec = ModelSpec.from_dict(doc)
    assert spec.interval_params == {"scale": 1.08} and spec.forecaster().interval_scale == 1.08
    del doc["interval"], doc["interval_scale"]
    assert ModelSpec.from_dict(doc).forecaster().interval == "model"


def test_malformed_interval_parameters_fail_on_load(arima_params: dict) -> None:
    doc = _spec("arima", arima_params, "garch").to_dict()
    doc["interval_params"] = {"omega": 0.02}
    with pytest.raises(BadInput, match="garch interval parameters lack 'mu': retrain"):
        ModelSpec.from_dict(doc)
    doc["interval_params"] = ["not", "an", "object"]
    with pytest.raises(BadInput, match="model spec is malformed"):
        ModelSpec.from_dict(doc)


SERVE = """
import json, sys
from stocky.core.spec import ModelSpec
prices = [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]
for doc in json.loads(sys.argv[1]):
    ModelSpec.from_dict(doc).forecaster().forecast(prices)
print(json.dumps(sorted(m for m in ("arch", "scipy.stats") if m in sys.modules)))
"""


def test_serving_imports_neither_arch_nor_scipy_stats(arima_params: dict) -> None:
    docs = [_spec("arima", arima_params, m).to_dict() for m in PARAMS]
    out = subprocess.run(
        [sys.executable, "-c", SERVE, json.dumps(docs)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout) == []
