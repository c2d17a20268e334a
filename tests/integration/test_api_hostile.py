"""Hostile numbers, a locked or read-only database, legacy rows: the API stays correct.

Two champions: ^GSPC ARIMA(0,1,1) and MSFT ARIMA(2,1,2) (not a random walk, so extreme windows
overflow its recursion as well as the interval). Every body is parsed by a strict JSON parser.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import math
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stocky.adapters.prices.bundled import BundledSource
from stocky.adapters.store.tables import predictions
from stocky.api.app import create_app
from stocky.pipelines.actuals import attach_actuals
from support import FAST_TRAIN, gspc_tail, make_settings, train_into

pytestmark = pytest.mark.integration

FIXED_NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)
VALID = {"recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]}
# windows once answered with Infinity in the body, or that overflowed an ARIMA(2,1,2)
WIDE = '{"recent_prices":[1e155,1,1e155,1,1e155,1,1e155,1,1e155,1]}'
OVERFLOW = (
    '{"recent_prices":[1e308,1e308,1,1e308,1,1e308,1,1e308,1,1.7976931348623157e308],'
    '"ticker":"MSFT"}'
)
JSON = {"content-type": "application/json"}


def strict_json(text: str) -> object:
    """json.loads that refuses NaN, Infinity and -Infinity, as strict parsers do."""

    def refuse(name: str) -> object:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def two_model_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("hostile") / "home"
    settings = make_settings(home)
    train_into(settings)
    train_into(settings, "MSFT", dataclasses.replace(FAST_TRAIN, order="2,1,2"))
    return home


@pytest.fixture
def db(two_model_home: Path, tmp_path: Path) -> Path:
    """A private copy of the database, so rows belong to this test."""
    path = tmp_path / "stocky.db"
    shutil.copy(two_model_home / "stocky.db", path)
    return path


@pytest.fixture
def client(two_model_home: Path, db: Path) -> Iterator[TestClient]:
    settings = make_settings(two_model_home, database_url=f"sqlite:///{db}")
    with TestClient(create_app(settings, clock=lambda: FIXED_NOW)) as c:
        yield c


def _rows(client: TestClient) -> list[dict[str, object]]:
    engine = client.app.state.stocky.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(predictions)).mappings()]


def _post_many(client: TestClient, bodies: list[str]) -> list[httpx.Response]:
    """Send the bodies concurrently on the app's event loop (they share group commits)."""

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            return list(
                await asyncio.gather(
                    *(ac.post("/predict", content=b, headers=JSON) for b in bodies)
                )
            )

    return client.portal.call(burst)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "body,span",
    [(WIDE, "recent_prices spans 1..1e+155"), (OVERFLOW, "recent_prices spans 1..1.79769e+308")],
)
def test_issue_bodies_are_422_naming_the_problem(client, body, span):
    r = client.post("/predict", content=body, headers=JSON)
    assert r.status_code == 422, r.text
    detail = strict_json(r.text)["detail"]  # type: ignore[index]
    assert detail.startswith(span)
    assert "too wide to forecast" in detail and "send prices of one instrument" in detail
    assert _rows(client) == []


def _fuzz_windows(rng: np.random.Generator, n: int) -> list[list[float]]:
    """Synthetic windows: half mix magnitudes from 1e-320 to 1e308, half stay near one."""
    windows = []
    for i in range(n):
        size = int(rng.integers(10, 61))
        if i % 2:
            exponents = rng.uniform(-320, 308.25, size)
        else:
            exponents = rng.uniform(-300, 300) + rng.normal(0, 0.01, size)
        values = np.minimum(10.0**exponents, np.finfo(float).max)
        windows.append([float(v) if v > 0 else 5e-324 for v in values])
    return windows


def test_fuzz_over_wide_magnitudes_gives_strict_json_and_logs_every_200(client):
    rng = np.random.default_rng(12)
    windows = _fuzz_windows(rng, 400)
    bodies = [
        json.dumps({"recent_prices": w, "ticker": "MSFT" if i % 3 == 0 else "^GSPC"})
        for i, w in enumerate(windows)
    ]
    responses = []
    for start in range(0, len(bodies), 50):  # 50 at a time: shared batches, bounded memory
        responses += _post_many(client, bodies[start : start + 50])
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 422}, sorted(set(statuses))
    served = [strict_json(r.text) for r in responses if r.status_code == 200]
    refused = [strict_json(r.text) for r in responses if r.status_code == 422]
    assert len(served) > 100 and len(refused) > 100  # both sides were exercised
    rows = {row["id"]: row for row in _rows(client)}
    assert len(rows) == len(served)  # every 200 logged, nothing else
    for body in served:
        row = rows[body["prediction_id"]]  # type: ignore[index]
        assert row["prediction"] == body["prediction"] and row["upper"] == body["upper"]  # type: ignore[index]
        assert all(math.isfinite(row[k]) for k in ("prediction", "lower", "upper", "naive"))  # type: ignore[arg-type]


def test_hostile_and_valid_requests_sharing_batches_do_not_fail_each_other(client):
    valid, hostile = json.dumps(VALID), OVERFLOW
    bodies = [b for pair in zip([valid] * 40, [hostile] * 40, strict=True) for b in pair]
    responses = _post_many(client, bodies)
    assert [r.status_code for r in responses[0::2]] == [200] * 40
    assert [r.status_code for r in responses[1::2]] == [422] * 40
    assert len(_rows(client)) == 40
    metrics = client.get("/metrics").text
    commits = next(
        float(line.split()[1])
        for line in metrics.splitlines()
        if line.startswith("stocky_prediction_log_batch_rows_count")
    )
    assert commits < 40  # the valid rows did share commits


def _insert_legacy(db: Path, rows: list[dict[str, object]]) -> None:
    """Rows as an older stocky logged them, before the CHECK constraints existed."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA ignore_check_constraints=ON")
        for row in rows:
            conn.execute(
                f"INSERT INTO predictions ({', '.join(row)}) "
                f"VALUES ({', '.join('?' for _ in row)})",
                tuple(row.values()),
            )
        conn.commit()
    finally:
        conn.close()


def _legacy_row(close: float, **numbers: float) -> dict[str, object]:
    row: dict[str, object] = {
        "ticker": "^GSPC",
        "created_at": "2018-12-28 21:30:00.000000",
        "as_of": "2018-12-28",
        "target_date": "2018-12-31",
        "prediction": close,
        "lower": close - 50,
        "upper": close + 50,
        "naive": close,  # the window ended at the stored close: monitoring counts it
        "model_name": "stocky-gspc",
        "model_version": 1,
        "arima_order": "(0, 1, 1)",
        "history_len": 10,
        "input_hash": "legacy",
        "request_id": "legacy",
        "source": "api",
    }
    row.update(numbers)
    return row


def test_legacy_non_finite_rows_are_skipped_and_counted(client, db, caplog):
    state = client.app.state.stocky  # type: ignore[attr-defined]
    own = gspc_tail(61)[:-1]  # the 60 closes up to 2018-12-28
    assert client.post("/predict", json={"recent_prices": own, "date": "2018-12-28"}).is_success
    close = own[-1]
    _insert_legacy(
        db,
        [
            _legacy_row(
                close, lower=-math.inf, upper=math.inf
            ),  # as logged before the finite checks
            _legacy_row(close, prediction=1e200),  # finite, but its squared error is not
            _legacy_row(  # labeled already, with an infinite squared error
                close,
                prediction=1e200,
                actual=close,
                error=-1e200,
                abs_error=1e200,
                sq_error=math.inf,
                naive_error=0.0,
                actual_at="2019-01-02 22:00:00.000000",
            ),
        ],
    )
    done = attach_actuals(
        predictions=state.predictions,
        prices=state.prices,
        source=BundledSource(),
        ticker="^GSPC",
        as_of=dt.date(2018, 12, 31),
        now=FIXED_NOW,
    )
    assert (done.updated, done.unscorable) == (1, 2)
    assert "2 due predictions hold a number that is not finite" in caplog.text

    perf = client.get("/monitoring/^GSPC/performance")
    assert perf.status_code == 200, perf.text
    body = strict_json(perf.text)
    assert body["labeled_predictions"] == 1 and body["unusable_rows"] == 1  # type: ignore[index]
    assert "1 labeled predictions hold a number that is not finite" in caplog.text
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text[:500]


def test_health_answers_while_another_process_holds_the_write_lock(client, db):
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # e.g. `stocky actuals` in another process
    release = threading.Timer(1.0, holder.rollback)

    async def scenario() -> tuple[list[httpx.Response], float]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            release.start()
            posts = [asyncio.ensure_future(ac.post("/predict", json=VALID)) for _ in range(8)]
            # timed from before the writes wait for the lock: a loop blocked by them would
            # not even end this sleep before the lock is released
            started = time.perf_counter()
            await asyncio.sleep(0.2)
            health = await ac.get("/health")
            elapsed = time.perf_counter() - started
            assert health.json() == {"status": "ok"}
            return list(await asyncio.gather(*posts)), elapsed

    try:
        responses, elapsed = client.portal.call(scenario)  # type: ignore[union-attr]
    finally:
        release.cancel()
        holder.close()
    assert elapsed < 0.6  # 0.2 s of sleep; not the 1 s the lock is held, nor the 5 s timeout
    assert [r.status_code for r in responses] == [200] * 8  # written once the lock was released
    assert len(_rows(client)) == 8


def test_ready_is_503_when_the_database_is_read_only(two_model_home, db):
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    with TestClient(create_app(make_settings(two_model_home, database_url=url))) as c:
        r = c.get("/ready")
        assert r.status_code == 503
        assert "predictions cannot be logged" in r.json()["reason"]
        assert "readonly" in r.json()["reason"]
        assert c.post("/predict", json=VALID).status_code == 503


def test_ready_reflects_the_last_write_until_one_succeeds(client):
    state = client.app.state.stocky  # type: ignore[attr-defined]
    assert client.get("/ready").status_code == 200
    with state.engine.begin() as conn:  # a real failure: the table the log writes to is gone
        conn.exec_driver_sql("ALTER TABLE predictions RENAME TO predictions_away")
    assert client.post("/predict", json=VALID).status_code == 503
    with state.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE predictions_away RENAME TO predictions")
    r = client.get("/ready")
    assert r.status_code == 503
    assert "the last prediction write failed" in r.json()["reason"]
    assert "no such table: predictions" in r.json()["reason"]
    assert client.post("/predict", json=VALID).status_code == 200
    assert client.get("/ready").status_code == 200
