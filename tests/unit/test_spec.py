"""The model spec document: round trip, the interval method, and specs from before it."""

from __future__ import annotations

import pytest

from stocky.core.arima import ArimaOrder, ArimaParams
from stocky.core.spec import ModelSpec
from stocky.errors import BadInput

PARAMS = ArimaParams(
    order=ArimaOrder(0, 1, 1), trend="n", const=0.0, ar=(), ma=(-0.05,), sigma2=250.0
)


def _spec(**kw: object) -> ModelSpec:
    return ModelSpec(
        ticker="^GSPC",
        params=PARAMS,
        train_start="2014-01-02",
        train_end="2018-12-31",
        train_rows=1258,
        **kw,  # type: ignore[arg-type]
    )


def test_round_trip_keeps_the_interval_method():
    spec = _spec(interval="ewma", interval_scale=1.08, metrics={"walk_forward_rmse": 28.6})
    again = ModelSpec.from_dict(spec.to_dict())
    assert again == spec
    assert again.forecaster().interval == "ewma"
    assert again.forecaster().interval_scale == 1.08


def test_a_spec_written_before_interval_methods_serves_the_model_interval():
    old = _spec().to_dict()
    del old["interval"], old["interval_scale"]
    model = ModelSpec.from_dict(old).forecaster()
    assert (model.interval, model.interval_scale) == ("model", 1.0)


def test_an_unknown_interval_method_says_what_to_do():
    doc = _spec().to_dict()
    doc["interval"] = "holt"
    with pytest.raises(BadInput, match="use one of ewma, garch, conformal, model"):
        ModelSpec.from_dict(doc)
