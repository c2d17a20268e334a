"""POST /predict/batch on a real app (SQLite, local MLflow): each item answered as /predict
would answer it alone, the successes logged together before the answer, limits, strict JSON."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stocky.adapters.store.tables import predictions
from stocky.api.app import create_app
from support import gspc_tail, make_settings

FIXED_NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)
GOOD = {"recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]}

# raw JSON items (NaN and huge literals cannot be written with json=)
HOSTILE = [
    '{"recent_prices": [1, 2, 3]}',
    '{"recent_prices": [170.1, 171, NaN, 170, 171, 172, 171, 172, 173, 172]}',
    '{"recent_prices": [170.1, 171, 1e400, 170, 171, 172, 171, 172, 173, 172]}',
    '{"recent_prices": ["170.1", 171, 170, 170, 171, 172, 171, 172, 173, 172]}',
    '{"recent_prices": {"a": 1}}',
    '{"recent_prices": [170, 171, 170, 170, 171, 172, 171, 172, 173, 172], "x": 1}',
    '{"recent_prices": [170, 171, 170, 170, 171, 172, 171, 172, 173, 172], "date": "20240703"}',
    '{"recent_prices": [170, 171, 170, 170, 171, 172, 171, 172, 173, 172], "date": "2024-07-06"}',
    '{"recent_prices": [170, 171, 170, 170, 171, 172, 171, 172, 173, 172], "ticker": "NOPE"}',
    '{"recent_prices": [170, 171, 170, 170, 171, 172, 171, 172, 173, 172], "ticker": "a b"}',
    '{"recent_prices": [1e-300, 1e300, 1e-300, 1e300, 1e-300, 1e300, 1e-300, 1e300, 1, 2]}',
    "[1, 2]",
    "5",
    "{}",
]


@pytest.fixture
def client(trained_home, tmp_path) -> Iterator[TestClient]:
    db = tmp_path / "stocky.db"  # a private copy, so row counts belong to this test
    shutil.copy(trained_home / "stocky.db", db)
    settings = make_settings(
        trained_home, database_url=f"sqlite:///{db}", max_batch_items=20, max_batch_body_bytes=8192
    )
    with TestClient(create_app(settings, clock=lambda: FIXED_NOW)) as c:
        yield c


def _strict(text: str) -> Any:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-finite number {token} in a response")

    return json.loads(text, parse_constant=refuse)


def _batch(client: TestClient, items: list[str], **headers: str) -> Any:
    return client.post(
        "/predict/batch",
        content='{"items": [' + ", ".join(items) + "]}",
        headers={"Content-Type": "application/json", **headers},
    )


def _count(client: TestClient) -> int:
    engine = client.app.state.stocky.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar_one())


def test_each_item_gets_what_predict_would_answer(client):
    before = _count(client)
    items = [json.dumps(GOOD), *HOSTILE, json.dumps({**GOOD, "date": "2024-07-02"})]
    r = _batch(client, items, **{"X-Request-ID": "batch-1"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "batch-1"
    body = _strict(r.text)
    results = body["results"]
    assert [x["index"] for x in results] == list(range(len(items)))
    assert body["succeeded"] == 2 and body["failed"] == len(HOSTILE)
    for item, got in zip(items, results, strict=True):
        alone = client.post("/predict", content=item, headers={"Content-Type": "application/json"})
        assert got["status"] == alone.status_code, item
        if alone.status_code == 200:
            want = alone.json()
            assert got["error"] is None
            assert {k: v for k, v in got["result"].items() if k != "prediction_id"} == {
                k: v for k, v in want.items() if k != "prediction_id"
            }
        else:
            assert got["result"] is None and got["error"] == alone.json(), item
    # the two successes of the batch and the two of /predict alone were logged, nothing else
    assert _count(client) == before + 4
    engine = client.app.state.stocky.engine  # type: ignore[attr-defined]
    ids = [x["result"]["prediction_id"] for x in results if x["status"] == 200]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(predictions.c.id, predictions.c.request_id).where(predictions.c.id.in_(ids))
        ).all()
    assert sorted(r.request_id for r in rows) == ["batch-1#0", f"batch-1#{len(items) - 1}"]


def test_many_tickers_days_and_windows_in_one_batch(client):
    tail = gspc_tail(61)
    items = [
        json.dumps({"recent_prices": tail[i : i + n], "ticker": "^gspc", "date": "2018-12-28"})
        for i, n in ((0, 60), (1, 60), (40, 10))
    ]
    r = _batch(client, items)
    assert r.status_code == 200
    res = _strict(r.text)["results"]
    assert [x["status"] for x in res] == [200, 200, 200]
    assert {x["result"]["target_date"] for x in res} == {"2018-12-31"}
    assert len({x["result"]["prediction_id"] for x in res}) == 3


@pytest.mark.parametrize(
    "content, status, fragment",
    [
        ('{"items": []}', 422, "the batch is empty"),
        ('{"items": [' + ", ".join([json.dumps(GOOD)] * 21) + "]}", 422, "21 items are too many"),
        ('{"item": []}', 422, "items"),
        ('{"items": [], "x": 1}', 422, "x"),
        ('{"items": {"a": 1}}', 422, "items"),
        ('{"items": [', 422, "send valid JSON"),
        ("[]", 422, "send a JSON object"),
    ],
)
def test_a_bad_envelope_is_refused_whole(client, content, status, fragment):
    before = _count(client)
    r = client.post("/predict/batch", content=content, headers={"Content-Type": "application/json"})
    assert r.status_code == status and fragment in r.json()["detail"]
    assert _count(client) == before


def test_the_batch_body_limit_is_its_own(client):
    big = json.dumps({"items": [GOOD] * 200})  # ~20 kB: over this app's 8 kB batch limit
    r = client.post("/predict/batch", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "8192-byte limit" in r.json()["detail"]
    # /predict keeps its own limit (64 kB by default), larger than the batch's here
    padded = json.dumps({**GOOD, "ticker": None}) + " " * 10_000
    r = client.post("/predict", content=padded, headers={"Content-Type": "application/json"})
    assert r.status_code == 200


def test_a_log_failure_fails_the_whole_batch(client):
    state = client.app.state.stocky  # type: ignore[attr-defined]
    with state.engine.begin() as conn:  # a real failure: the table the log writes to is gone
        conn.exec_driver_sql("ALTER TABLE predictions RENAME TO predictions_away")
    try:
        r = _batch(client, [json.dumps(GOOD), json.dumps(GOOD)], **{"X-Request-ID": "b-503"})
    finally:
        with state.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE predictions_away RENAME TO predictions")
    assert r.status_code == 503
    assert r.json()["detail"].startswith(
        "the forecast was not served because it could not be logged"
    )
    assert r.json()["request_id"] == "b-503"


def test_openapi_documents_the_batch(client):
    op = client.get("/openapi.json").json()["paths"]["/predict/batch"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["items"]["maxItems"] == 20
    assert {"200", "413", "415", "422", "503"} <= set(op["responses"])
    assert "BatchResponse" in json.dumps(op["responses"]["200"])


@pytest.fixture
def make_client(trained_home, tmp_path) -> Iterator[Any]:
    """`make_client(**settings)`: an app on a private database copy, started."""
    db = tmp_path / "own.db"
    shutil.copy(trained_home / "stocky.db", db)
    opened: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        settings = make_settings(trained_home, database_url=f"sqlite:///{db}", **overrides)
        c = TestClient(create_app(settings, clock=lambda: FIXED_NOW))
        c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def test_the_item_count_is_checked_before_the_body_is_parsed(client):
    # 21 items (the limit is 20) and a body that is not even JSON: the count refuses it first
    body = '{"items": [' + ", ".join([json.dumps(GOOD)] * 21) + ", <not json"
    r = client.post("/predict/batch", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("items: 21 items are too many: send at most 20")
    # an item key inside a string is not counted: 20 real items and a ticker naming the key
    tricky = {**GOOD, "ticker": '"recent_prices": 1'}
    items = [json.dumps(GOOD)] * 19 + [json.dumps(tricky)]
    assert _batch(client, items).status_code == 200


def test_each_item_counts_against_the_rate_limit(make_client):
    c = make_client(rate_limit="5/minute", max_batch_items=20, max_batch_body_bytes=65536)
    before = _count(c)
    assert _batch(c, [json.dumps(GOOD)] * 3).status_code == 200
    refused = _batch(c, [json.dumps(GOOD)] * 3)  # 3 + 3 > 5
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert _count(c) == before + 3
    whole = _batch(c, [json.dumps(GOOD)] * 6)  # can never fit 5/minute
    assert whole.status_code == 429
    assert "6 forecasts in one batch" in whole.json()["detail"]
    assert "at most 5 items" in whole.json()["detail"]
    assert _count(c) == before + 3


def test_error_bodies_are_capped_per_item_and_per_batch(make_client):
    from stocky.api.routes.batch import MAX_DETAILED_FAILURES, MAX_ITEM_ERRORS

    c = make_client(max_batch_items=200, max_batch_body_bytes=1_000_000)
    strings = json.dumps({"recent_prices": [f"{170 + i / 10:.1f}" for i in range(60)]})
    n = MAX_DETAILED_FAILURES + 70
    r = _batch(c, [strings] * n)
    assert r.status_code == 200
    results = r.json()["results"]
    assert r.json()["failed"] == n
    detailed, short = results[:MAX_DETAILED_FAILURES], results[MAX_DETAILED_FAILURES:]
    for x in detailed:
        assert x["status"] == 422 and len(x["error"]["errors"]) == MAX_ITEM_ERRORS
        assert f"and {60 - MAX_ITEM_ERRORS} more errors in this item" in x["error"]["detail"]
    assert "70 more items failed" in detailed[-1]["error"]["detail"]
    for x in short:
        assert x["status"] == 422 and x["error"]["errors"] == []
        assert "recent_prices.0" in x["error"]["detail"] or "number" in x["error"]["detail"]
    # the uncapped answer carried /predict's whole 422 body for every item
    alone = c.post("/predict", content=strings, headers={"Content-Type": "application/json"})
    uncapped = len(alone.content) * n
    assert len(alone.json()["errors"]) == 60
    assert len(r.content) * 10 < uncapped, (len(r.content), uncapped)
