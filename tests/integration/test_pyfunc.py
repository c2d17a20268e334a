"""Every registered version loads with `mlflow.pyfunc.load_model` and forecasts what /predict
answers for the same prices (a pyfunc over the JSON spec: nothing pickled)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from stocky.adapters.registry import MODEL_DIR, model_name
from stocky.api.app import create_app
from stocky.errors import BadInput
from support import gspc_tail, make_settings

pytestmark = pytest.mark.integration

FIXED_NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)


def _load(home: Path, uri: str):
    import mlflow

    mlflow.set_tracking_uri(make_settings(home).tracking_uri)
    return mlflow.pyfunc.load_model(uri)


def test_champion_loads_as_pyfunc_and_equals_predict(trained_home: Path, tmp_path: Path) -> None:
    model = _load(trained_home, f"models:/{model_name('^GSPC')}@champion")
    prices = gspc_tail(60)
    frame = model.predict(pd.DataFrame({"close": prices}))
    assert list(frame.columns) == ["prediction", "lower", "upper"] and len(frame) == 1

    db = tmp_path / "stocky.db"
    shutil.copy(trained_home / "stocky.db", db)
    settings = make_settings(trained_home, database_url=f"sqlite:///{db}")
    with TestClient(create_app(settings, clock=lambda: FIXED_NOW)) as client:
        r = client.post("/predict", json={"recent_prices": prices, "ticker": "^GSPC"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert frame["prediction"].iloc[0] == pytest.approx(body["prediction"], rel=1e-12)
    assert frame["lower"].iloc[0] == pytest.approx(body["lower"], rel=1e-12)
    assert frame["upper"].iloc[0] == pytest.approx(body["upper"], rel=1e-12)
    assert body["model_type"] == "arima" and body["model"].startswith("ARIMA(")


def test_model_folder_holds_no_pickle(trained_home: Path) -> None:
    folders = list((trained_home).rglob(MODEL_DIR))
    files = [p for folder in folders if folder.is_dir() for p in folder.iterdir()]
    assert {p.name for p in files} >= {"MLmodel", "spec.json"}
    assert not [p for p in files if p.suffix in (".pkl", ".pickle", ".joblib")]
    assert (
        "loader_module: stocky.adapters.pyfunc"
        in next(p for p in files if p.name == "MLmodel").read_text()
    )


def test_pyfunc_names_a_missing_close_column(trained_home: Path) -> None:
    model = _load(trained_home, f"models:/{model_name('^GSPC')}@champion")
    with pytest.raises(BadInput, match="'close' column"):
        model.predict(pd.DataFrame({"price": [1.0, 2.0, 3.0]}))
