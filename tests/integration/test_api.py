"""The REST API in-process (TestClient) against a real SQLite file and MLflow store."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stocky.adapters.registry import ModelRegistry, ModelVersionInfo
from stocky.adapters.store.tables import predictions
from stocky.api.app import create_app
from stocky.core.volatility import ewma_std
from stocky.errors import RegistryError
from support import gspc_tail, make_settings, registry_for, train_into

pytestmark = pytest.mark.integration

SEED_EXAMPLE = {
    "recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]
}
SEED_KEYS = {"prediction", "model_type", "arima_order", "timestamp"}
FIXED_NOW = dt.datetime(
    2024, 7, 3, 21, 30, tzinfo=dt.UTC
)  # 17:30 in New York, before Independence Day


@pytest.fixture
def client(trained_home, tmp_path) -> Iterator[TestClient]:
    # a private copy of the database so row counts belong to this test
    import shutil

    db = tmp_path / "stocky.db"
    shutil.copy(trained_home / "stocky.db", db)
    settings = make_settings(trained_home, database_url=f"sqlite:///{db}", admin_api_key="s3cret")
    with TestClient(create_app(settings, clock=lambda: FIXED_NOW)) as c:
        yield c


def _rows(client: TestClient) -> list[dict]:
    engine = client.app.state.stocky.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(sa.select(predictions).order_by(predictions.c.id)).mappings()
        ]


def test_health_is_exactly_ok(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_ready_lists_loaded_models(client):
    r = client.get("/ready")
    assert r.status_code == 200
    assert r.json()["models"] == {"^GSPC": 1}


def test_seed_example_gets_seed_keys_and_is_logged(client):
    r = client.post("/predict", json=SEED_EXAMPLE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= SEED_KEYS
    assert body["model_type"] == "arima"
    assert body["arima_order"] == "(0, 1, 1)"
    assert body["timestamp"] == "2024-07-03T21:30:00.000Z"
    assert body["target_date"] == "2024-07-05"  # July 4th is skipped
    assert body["naive"] == 172.4
    assert body["lower"] < body["prediction"] < body["upper"]
    assert body["ticker"] == "^GSPC" and body["model_version"] == 1
    rows = _rows(client)
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == body["prediction_id"]
    assert row["prediction"] == pytest.approx(body["prediction"])
    assert row["history_len"] == 10
    assert row["as_of"] == dt.date(2024, 7, 3)
    assert row["model_name"] == "stocky-_cgspc" and row["source"] == "api"
    assert row["request_id"] == r.headers["X-Request-ID"]
    assert len(row["input_hash"]) == 16


def test_forecast_equals_the_loaded_spec(client):
    prices = gspc_tail(60)
    r = client.post("/predict", json={"recent_prices": prices, "date": "2018-12-31"})
    model = client.app.state.stocky.champions.get("^GSPC")  # type: ignore[attr-defined]
    expected = model.spec.forecaster().forecast(prices)
    assert r.json()["prediction"] == pytest.approx(expected.mean, rel=1e-12)
    assert r.json()["target_date"] == "2019-01-02"
    # the interval method chosen on the validation window (STOCKY_INTERVAL=auto), recorded in
    # the spec with its parameters; served exactly as the spec says
    spec = model.spec
    assert spec.interval in ("ewma", "garch", "conformal") and spec.info["interval_reason"]
    assert r.json()["upper"] == pytest.approx(expected.upper, rel=1e-12)
    assert r.json()["lower"] == pytest.approx(expected.lower, rel=1e-12)
    if spec.interval == "ewma":  # mean -+ 1.96 x scale x EWMA volatility
        assert 1.0 < spec.interval_scale < 1.3  # calibrated on the training closes
        half = 1.959964 * spec.interval_scale * ewma_std(prices)
        assert r.json()["upper"] == pytest.approx(expected.mean + half, rel=1e-6)
    elif spec.interval == "conformal":  # q x EWMA volatility
        half = spec.interval_params["q"] * ewma_std(prices)
        assert r.json()["upper"] == pytest.approx(expected.mean + half, rel=1e-6)


def test_explicit_date_and_ticker(client):
    r = client.post("/predict", json={**SEED_EXAMPLE, "date": "2024-12-24", "ticker": "^gspc"})
    assert r.status_code == 200
    assert r.json()["target_date"] == "2024-12-26"


BAD = [
    ({"recent_prices": [1.0] * 9}, 422, "recent_prices: 9 prices are too few"),
    ({"recent_prices": [1.0] * 61}, 422, "recent_prices: 61 prices are too many"),
    ({"recent_prices": [1.0] * 9 + [-3.0]}, 422, "recent_prices[9] is -3: send finite prices > 0"),
    ({"recent_prices": [1.0] * 5 + [0.0] * 5}, 422, "recent_prices[5] is 0"),
    ({"recent_prices": ["a"] + [1.0] * 9}, 422, "recent_prices[0]: Input should be a valid number"),
    ({"recent_prices": ["170.2"] + [1.0] * 9}, 422, "recent_prices[0]"),
    ({"recent_prices": [None] + [1.0] * 9}, 422, "recent_prices[0]"),
    ({"recent_prices": [True] + [1.0] * 9}, 422, "recent_prices[0]"),
    ({"recent_prices": "170.2"}, 422, "recent_prices"),
    (
        {"recent_prices": [1.0] * 10, "date": "2024-13-01"},
        422,
        "date: '2024-13-01' is not a YYYY-MM-DD date",
    ),
    ({"recent_prices": [1.0] * 10, "date": "2090-01-01"}, 422, "outside the XNYS calendar"),
    ({"recent_prices": [1.0] * 10, "date": "20240703"}, 422, "'20240703' is not a YYYY-MM-DD"),
    ({"recent_prices": [1.0] * 10, "date": "2024-W27-3"}, 422, "'2024-W27-3' is not a YYYY-MM"),
    ({"recent_prices": [1.0] * 10, "date": " 2024-07-03"}, 422, "is not a YYYY-MM-DD date"),
    (
        {"recent_prices": [1.0] * 10, "date": "2024-07-04"},
        422,
        "2024-07-04 is not a XNYS trading session: send the session of the last price, "
        "e.g. 2024-07-03",
    ),
    ({"recent_prices": [1.0] * 10, "date": "2024-07-06"}, 422, "e.g. 2024-07-05"),
    (
        {"recent_prices": [1.0] * 10, "ticker": "<img src=x onerror=alert(1)>"},
        422,
        r"ticker '\x3cimg src=x onerror=alert(1)\x3e' is not a symbol: use 1-20 characters",
    ),
    ({"recent_prices": [1.0] * 10, "ticker": ""}, 422, "ticker '' is not a symbol"),
    ({"recent_prices": [1.0] * 10, "ticker": "NOPE"}, 404, "served: ^GSPC"),
    ({"recent_prices": [1.0] * 10, "extra": 1}, 422, "extra: Extra inputs are not permitted"),
    ({}, 422, "recent_prices: Field required"),
    ([1.0, 2.0], 422, "send a JSON object"),
]


@pytest.mark.parametrize("body,status,message", BAD)
def test_bad_input_gets_a_4xx_naming_the_problem(client, body, status, message):
    r = client.post("/predict", json=body)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    assert _rows(client) == []


@pytest.mark.parametrize(
    "raw,message",
    [
        ('{"recent_prices": [NaN, 1,1,1,1,1,1,1,1,1]}', "recent_prices[0] is NaN"),
        ('{"recent_prices": [1,1,1,1,1,1,1,1,1, Infinity]}', "recent_prices[9] is infinite"),
        ('{"recent_prices": [1, 2', "send valid JSON"),
    ],
)
def test_non_finite_and_broken_json(client, raw, message):
    r = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert message in r.json()["detail"]


def test_wrong_content_type_is_415(client):
    r = client.post(
        "/predict", content="recent_prices=1,2,3", headers={"content-type": "text/plain"}
    )
    assert r.status_code == 415
    assert "application/json" in r.json()["detail"]


def test_oversized_body_is_413(client):
    body = json.dumps({"recent_prices": [100.0] * 20000})
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "limit" in r.json()["detail"]


def test_log_failure_is_503_never_200(client, caplog):
    state = client.app.state.stocky  # type: ignore[attr-defined]
    assert client.post("/predict", json=SEED_EXAMPLE).status_code == 200
    with state.engine.begin() as conn:  # a real failure: the table the log writes to is gone
        conn.exec_driver_sql("ALTER TABLE predictions RENAME TO predictions_away")
    r = client.post("/predict", json=SEED_EXAMPLE, headers={"X-Request-ID": "req-42"})
    assert r.status_code == 503
    body = r.json()
    assert body["detail"] == (
        "the forecast was not served because it could not be logged: retry later; "
        "the server log has the details under request id req-42"
    )
    assert body["request_id"] == "req-42" and r.headers["x-request-id"] == "req-42"
    # the database's own words go to the server log, under the same id, not to the client
    assert "no such table" not in r.text
    logged = [rec.getMessage() for rec in caplog.records if "req-42" in rec.getMessage()]
    assert len(logged) == 1 and "no such table: predictions" in logged[0]
    metrics = client.get("/metrics").text
    assert 'stocky_prediction_log_failures_total{ticker="^GSPC"} 1.0' in metrics
    with state.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE predictions_away RENAME TO predictions")
    assert client.post("/predict", json=SEED_EXAMPLE).status_code == 200  # the writer recovers
    assert state.predictions.count() == 2  # the failed request left no row


def test_concurrent_requests_are_each_logged_once(client):
    import asyncio

    import httpx

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            return await asyncio.gather(
                *(ac.post("/predict", json=SEED_EXAMPLE) for _ in range(40))
            )

    responses = client.portal.call(burst)  # type: ignore[union-attr]
    assert [r.status_code for r in responses] == [200] * 40
    ids = [r.json()["prediction_id"] for r in responses]
    assert len(set(ids)) == 40
    assert sorted(r["id"] for r in _rows(client)) == sorted(ids)
    metrics = client.get("/metrics").text
    commits = _sample(metrics, "stocky_prediction_log_batch_rows_count")
    assert _sample(metrics, "stocky_prediction_log_batch_rows_sum") == 40
    assert 1 <= commits < 40  # concurrent requests shared commits (group commit)


def _sample(metrics: str, name: str) -> float:
    return next(float(line.split()[1]) for line in metrics.splitlines() if line.startswith(name))


def test_openapi_documents_predict_body_and_errors(client):
    op = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert "recent_prices" in body["properties"] and body["required"] == ["recent_prices"]
    assert set(op["responses"]) >= {"200", "404", "413", "415", "422", "503"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PredictResponse"
    )


def test_forecast_from_stored_prices(client):
    r = client.get("/forecast/^GSPC")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["as_of"] == "2018-12-31"
    assert body["target_date"] == "2019-01-02"
    assert body["history_len"] == 60
    assert body["naive"] == pytest.approx(gspc_tail(1)[0])
    assert client.get("/forecast/NOPE").status_code == 404


def test_models_lists_champion_with_naive(client):
    rows = client.get("/models").json()
    assert len(rows) == 1
    row = rows[0]
    assert row["registered_name"] == "stocky-_cgspc"
    assert row["aliases"] == ["champion"] and row["serving"] is True
    assert row["order"] == "(0, 1, 1)"
    assert row["naive_rmse"] > 0 and row["walk_forward_rmse"] > 0
    assert row["skill"] == pytest.approx(1 - row["walk_forward_rmse"] / row["naive_rmse"], abs=1e-4)
    assert row["interval"] in ("ewma", "garch", "conformal")  # STOCKY_INTERVAL=auto chose it
    assert 0.85 < row["walk_forward_coverage"] <= 1.0


def test_metrics_count_requests_and_predictions(client):
    client.post("/predict", json=SEED_EXAMPLE)
    client.post("/predict", json={"recent_prices": [1.0]})
    text = client.get("/metrics").text
    assert 'stocky_http_requests_total{method="POST",route="/predict",status="200"} 1.0' in text
    assert 'stocky_http_requests_total{method="POST",route="/predict",status="422"} 1.0' in text
    assert 'stocky_predictions_total{model_version="1",ticker="^GSPC"} 1.0' in text
    assert 'stocky_model_loaded_version{ticker="^GSPC"} 1.0' in text


def test_admin_needs_the_key(client):
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload", headers={"X-API-Key": "wrong"}).status_code == 401
    r = client.post("/admin/reload", headers={"X-API-Key": "s3cret"})
    assert r.status_code == 200
    assert r.json()["serving"] == {"^GSPC": 1}


@pytest.mark.parametrize("key", [None, "", "   "])
def test_admin_is_off_without_a_key(trained_home, tmp_path, key):
    settings = make_settings(
        trained_home, database_url=f"sqlite:///{tmp_path / 'x.db'}", admin_api_key=key
    )
    assert settings.admin_api_key is None
    with TestClient(create_app(settings)) as c:
        assert c.post("/admin/reload").status_code == 404
        assert c.post("/admin/reload", headers={"X-API-Key": ""}).status_code == 404


def test_ready_is_503_without_models(tmp_path):
    with TestClient(create_app(make_settings(tmp_path / "empty"))) as c:
        r = c.get("/ready")
        assert r.status_code == 503
        assert "stocky train" in r.json()["reason"]
        assert c.get("/health").json() == {"status": "ok"}
        assert c.post("/predict", json=SEED_EXAMPLE).status_code == 404


def test_alias_move_is_served_after_reload(fresh_trained_home):
    home = fresh_trained_home()
    settings = make_settings(home, admin_api_key="k")
    with TestClient(create_app(settings)) as c:
        assert c.post("/predict", json=SEED_EXAMPLE).json()["model_version"] == 1
        second = train_into(settings, last=999)
        assert second.alias == "challenger"
        registry_for(settings).set_alias("^GSPC", "champion", second.version.version)
        # not picked up until a reload (polling is off in this test)
        assert c.post("/predict", json=SEED_EXAMPLE).json()["model_version"] == 1
        r = c.post("/admin/reload", headers={"X-API-Key": "k"})
        assert r.json()["loaded"] == ["^GSPC"]
        assert c.post("/predict", json=SEED_EXAMPLE).json()["model_version"] == 2
        assert "stocky_model_reloads_total" in c.get("/metrics").text


class UnreachableRegistry(ModelRegistry):
    def tickers(self) -> list[str]:
        raise RegistryError("MLflow at http://127.0.0.1:1 does not answer")

    def champion_versions(self, alias: str = "champion") -> list[ModelVersionInfo]:
        raise RegistryError("MLflow at http://127.0.0.1:1 does not answer")


def test_ready_says_why_when_the_registry_is_down(tmp_path):
    settings = make_settings(tmp_path / "down")
    registry = UnreachableRegistry(tracking_uri="http://127.0.0.1:1", experiment="x")
    with TestClient(create_app(settings, registry=registry)) as c:
        r = c.get("/ready")
        assert r.status_code == 503
        assert (
            "the last registry reload failed: MLflow at http://127.0.0.1:1 does not answer"
            in r.json()["reason"]
        )
        assert c.get("/health").json() == {"status": "ok"}


def test_foreign_windows_are_left_out_of_monitoring(client):
    from stocky.adapters.prices.bundled import BundledSource
    from stocky.pipelines.actuals import attach_actuals

    state = client.app.state.stocky  # type: ignore[attr-defined]
    own = gspc_tail(61)[:-1]  # the 60 closes up to 2018-12-28
    r = client.post("/predict", json={"recent_prices": own, "date": "2018-12-28"})
    assert r.status_code == 200
    # the seed README's example window (prices near 170) for ^GSPC (near 2,500), logged last
    r = client.post("/predict", json={**SEED_EXAMPLE, "date": "2018-12-28"})
    assert r.status_code == 200
    done = attach_actuals(
        predictions=state.predictions,
        prices=state.prices,
        source=BundledSource(),
        ticker="^GSPC",
        as_of=dt.date(2018, 12, 31),
        now=FIXED_NOW,
    )
    assert done.updated == 2  # both get the real close: the log keeps everything
    assert len(state.predictions.labeled("^GSPC", foreign_windows=True)) == 2
    perf = client.get("/monitoring/^GSPC/performance").json()
    assert perf["labeled_predictions"] == 1
    assert perf["foreign_windows"] == 1
    # the last prediction of the session counts, but only among windows of this ticker
    actual = gspc_tail(1)[0]  # the close of 2018-12-31
    assert perf["all"]["rmse"] == pytest.approx(abs(actual - _served_mean(client, own)), rel=1e-9)


def _served_mean(client: TestClient, prices: list[float]) -> float:
    model = client.app.state.stocky.champions.get("^GSPC")  # type: ignore[attr-defined]
    return model.spec.forecaster().forecast(prices).mean


def test_mlflow_password_is_never_shown(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    uri = "http://admin:Secret@127.0.0.1:1"  # a real MLflow client; nothing listens on port 1
    settings = make_settings(tmp_path / "home", mlflow_tracking_uri=uri)
    with TestClient(create_app(settings)) as c:
        ready = c.get("/ready")
        models = c.get("/models", headers={"X-Request-ID": "m-1"})
    assert ready.status_code == 503 and models.status_code == 503
    assert "Secret" not in ready.text and "Secret" not in models.text
    # /ready names the failing URL with the password masked
    assert "API request to http://admin:***@127.0.0.1:1/api/2.0/" in ready.json()["reason"]
    # a 503 says in words what failed and carries the request id; the rest is in the log
    assert models.json() == {
        "detail": "the model registry (MLflow) is unavailable or failed: retry later; "
        "the server log has the details under request id m-1",
        "errors": [],
        "request_id": "m-1",
    }
    logged = [r.getMessage() for r in caplog.records if "request id m-1" in r.getMessage()]
    assert len(logged) == 1
    assert "http://admin:***@127.0.0.1:1" in logged[0] and "Secret" not in logged[0]


def test_database_outage_503_says_what_failed_without_driver_text(client, caplog):
    state = client.app.state.stocky  # type: ignore[attr-defined]
    with state.engine.begin() as conn:  # the prices table is gone: a real driver error
        conn.exec_driver_sql("ALTER TABLE prices RENAME TO prices_away")
    try:
        r = client.get("/forecast/^GSPC")
    finally:
        with state.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE prices_away RENAME TO prices")
    assert r.status_code == 503
    rid = r.headers["x-request-id"]
    assert r.json()["detail"] == (
        "the database is unavailable or failed: retry later; the server log has the details "
        f"under request id {rid}"
    )
    assert "prices" not in r.text and "sqlite" not in r.text.lower()
    assert any(
        rid in rec.getMessage() and "no such table" in rec.getMessage() for rec in caplog.records
    )
