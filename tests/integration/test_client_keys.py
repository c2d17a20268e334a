"""Client keys and in-memory rate limits against a real database, the app and the CLI."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.keys import ApiKeyStore
from stocky.adapters.store.tables import api_keys, predictions
from stocky.api.app import create_app
from stocky.cli.main import app as cli
from stocky.core.apikeys import hash_key, key_prefix
from stocky.errors import BadInput
from support import make_settings

pytestmark = pytest.mark.integration

SEED_EXAMPLE = {
    "recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]
}
NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)


def test_store_keeps_hashes_only_and_revokes_by_id_or_prefix(db_url):
    engine = make_engine(db_url)
    try:
        create_schema(engine)
        store = ApiKeyStore(engine)
        first, key1 = store.create("reporting job", now=NOW)
        second, key2 = store.create("notebook", now=NOW)
        assert (first.id, first.prefix) == (1, key_prefix(key1))
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(sa.select(api_keys)).mappings()]
        assert [r["hash"] for r in rows] == [hash_key(key1), hash_key(key2)]
        # no column holds the key or its secret part
        stored = " ".join(str(v) for r in rows for v in r.values())
        assert key1 not in stored and key1.rsplit("_", 1)[1] not in stored
        assert set(store.active()) == {first.prefix, second.prefix}

        store.touch([second.id], now=NOW + dt.timedelta(hours=1))
        revoked, changed = store.revoke(f"stocky_{first.prefix}", now=NOW)
        assert changed and revoked.revoked_at == NOW
        assert store.revoke(str(first.id), now=NOW)[1] is False  # already revoked
        assert set(store.active()) == {second.prefix}
        listed = {k.id: k for k in store.all()}
        assert not listed[first.id].active and listed[second.id].active
        assert listed[second.id].last_used_at == NOW + dt.timedelta(hours=1)
        with pytest.raises(BadInput, match="stocky keys list"):
            store.revoke("99", now=NOW)
    finally:
        engine.dispose()


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(trained_home: Path, tmp_path: Path) -> Iterator[MakeClient]:
    """Apps on a private copy of the trained database, with settings overrides."""
    db = tmp_path / "stocky.db"
    shutil.copy(trained_home / "stocky.db", db)
    opened: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        settings = make_settings(trained_home, database_url=f"sqlite:///{db}", **overrides)
        client = TestClient(create_app(settings, clock=lambda: NOW))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _new_key(client: TestClient, name: str = "client") -> tuple[int, str]:
    row, key = ApiKeyStore(client.app.state.stocky.engine).create(name, now=NOW)  # type: ignore[attr-defined]
    return row.id, key


def _logged_key_ids(client: TestClient) -> list[int | None]:
    engine = client.app.state.stocky.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        query = sa.select(predictions.c.api_key_id).order_by(predictions.c.id)
        return list(conn.execute(query).scalars())


def test_keys_are_off_by_default_and_the_seed_example_still_works(make_client):
    client = make_client()
    assert client.post("/predict", json=SEED_EXAMPLE).status_code == 200
    assert _logged_key_ids(client) == [None]


def test_required_key_401_without_or_with_a_wrong_key_and_logged_id_with_a_good_one(make_client):
    client = make_client(require_api_key=True)
    key_id, key = _new_key(client)

    missing = client.post("/predict", json=SEED_EXAMPLE)
    assert missing.status_code == 401
    assert "X-API-Key: <key> or Authorization: Bearer <key>" in missing.json()["detail"]
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.post("/predict", json=SEED_EXAMPLE, headers={"X-API-Key": key[:-2] + "xx"})
    assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
    assert client.get("/forecast/^GSPC").status_code == 401
    assert _logged_key_ids(client) == []  # nothing refused was logged

    by_header = client.post("/predict", json=SEED_EXAMPLE, headers={"X-API-Key": key})
    by_bearer = client.get("/forecast/^GSPC", headers={"Authorization": f"Bearer {key}"})
    assert by_header.status_code == 200, by_header.text
    assert by_bearer.status_code == 200, by_bearer.text
    assert _logged_key_ids(client) == [key_id, key_id]
    # the key itself is never stored with a prediction
    engine = client.app.state.stocky.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(predictions)).mappings().all()
    assert all(key not in str(dict(r)) for r in rows)
    assert client.get("/health").status_code == 200  # only the forecast routes need a key


def test_a_key_sent_without_require_must_still_be_valid(make_client):
    client = make_client()
    r = client.post("/predict", json=SEED_EXAMPLE, headers={"X-API-Key": "stocky_nope"})
    assert r.status_code == 401


def test_revocation_takes_effect_within_the_cache_time(make_client):
    client = make_client(require_api_key=True, api_key_cache_seconds=0.3)
    key_id, key = _new_key(client)
    headers = {"X-API-Key": key}
    assert client.post("/predict", json=SEED_EXAMPLE, headers=headers).status_code == 200
    ApiKeyStore(client.app.state.stocky.engine).revoke(str(key_id), now=NOW)  # type: ignore[attr-defined]
    assert client.post("/predict", json=SEED_EXAMPLE, headers=headers).status_code == 200
    time.sleep(0.35)
    assert client.post("/predict", json=SEED_EXAMPLE, headers=headers).status_code == 401
    # the use before the revocation was recorded when the cache reloaded
    (row,) = [k for k in ApiKeyStore(client.app.state.stocky.engine).all() if k.id == key_id]  # type: ignore[attr-defined]
    assert row.last_used_at == NOW


def test_rate_limit_429_with_retry_after_per_key_and_per_address(make_client):
    client = make_client(rate_limit="3/minute")
    _, key1 = _new_key(client, "one")
    _, key2 = _new_key(client, "two")

    def codes(headers: dict[str, str]) -> list[int]:
        return [
            client.post("/predict", json=SEED_EXAMPLE, headers=headers).status_code
            for _ in range(4)
        ]

    assert codes({"X-API-Key": key1}) == [200, 200, 200, 429]
    assert codes({"Authorization": f"Bearer {key2}"}) == [200, 200, 200, 429]
    assert codes({}) == [200, 200, 200, 429]  # no key: counted by address
    limited = client.get("/forecast/^GSPC", headers={"X-API-Key": key1})
    assert limited.status_code == 429  # both forecast routes share the client's budget
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "rate limit of 3 per 1 minute exceeded" in limited.json()["detail"]
    assert len(_logged_key_ids(client)) == 9  # refused requests were not served or logged


def test_openapi_documents_401_429_and_the_key_schemes(make_client):
    for required, optional in ((False, [{}]), (True, [])):
        spec = make_client(require_api_key=required).get("/openapi.json").json()
        schemes = spec["components"]["securitySchemes"]
        assert schemes["ClientKey"] == {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "A client key from `stocky keys create`.",
        }
        assert schemes["ClientBearer"]["scheme"] == "bearer"
        for path, method in (("/predict", "post"), ("/forecast/{ticker}", "get")):
            op = spec["paths"][path][method]
            assert {"401", "429"} <= set(op["responses"]), path
            assert "Retry-After" in op["responses"]["429"]["headers"]
            assert op["security"] == [{"ClientKey": []}, {"ClientBearer": []}, *optional]
        assert "security" not in spec["paths"]["/health"]["get"]


def test_cli_creates_lists_and_revokes_keys(cli_env):
    runner = CliRunner()
    created = runner.invoke(cli, ["keys", "create", "--name", "reporting job"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    prefix = key_prefix(key)
    assert prefix is not None
    assert "store it now" in created.stderr

    listed = runner.invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0
    assert f"stocky_{prefix}" in listed.stdout and "reporting job" in listed.stdout
    assert key not in listed.stdout

    revoked = runner.invoke(cli, ["keys", "revoke", f"stocky_{prefix}"])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert "no active keys" in runner.invoke(cli, ["keys", "list"]).stdout
    assert "reporting job" in runner.invoke(cli, ["keys", "list", "--all"]).stdout

    unknown = runner.invoke(cli, ["keys", "revoke", "12345"])
    assert unknown.exit_code == 2 and "stocky keys list" in unknown.stderr
    blank = runner.invoke(cli, ["keys", "create", "--name", " "])
    assert blank.exit_code == 2 and "--name" in blank.stderr

    engine = make_engine(f"sqlite:///{cli_env / 'stocky.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.select(api_keys.c.hash)).scalar_one() == hash_key(key)
    engine.dispose()


def test_migration_0004_keeps_logged_rows_and_its_downgrade_keeps_the_finite_checks(db_url):
    from alembic import command

    from stocky.adapters.store import schema
    from stocky.adapters.store.schema import alembic_config

    url = db_url
    command.upgrade(alembic_config(url), "0003")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO predictions (ticker, created_at, as_of, target_date, prediction,"
                    " lower, upper, naive, model_name, model_version, arima_order, history_len,"
                    " input_hash, request_id, source) VALUES ('^GSPC', :t, '2024-07-03',"
                    " '2024-07-05', 1.0, 0.5, 1.5, 1.0, 'stocky-gspc', 1, '(0, 1, 1)', 10,"
                    " 'ab', 'r1', 'api')"
                ),
                {"t": NOW},
            )
        schema._at_head.discard(engine.url)
        create_schema(engine)  # 0003 -> 0004
        assert _key_ids(engine) == [None]
        assert "api_keys" in sa.inspect(engine).get_table_names()

        command.downgrade(alembic_config(url), "0003")
        inspector = sa.inspect(engine)
        assert "api_keys" not in inspector.get_table_names()
        assert "api_key_id" not in {c["name"] for c in inspector.get_columns("predictions")}
        assert len(inspector.get_check_constraints("predictions")) == 9  # 0003's, kept
    finally:
        schema._at_head.discard(engine.url)
        engine.dispose()


def _key_ids(engine: sa.Engine) -> list[int | None]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(predictions.c.api_key_id)).scalars())


def test_wrong_keys_are_throttled_per_address_without_a_rate_limit(make_client):
    """20 wrong keys in a row used to be 20 x 401 in 0.01 s: key guessing at server speed."""
    from stocky.api.auth import MAX_FAILED_KEYS

    client = make_client(require_api_key=True)
    _, key = _new_key(client)
    wrong = {"X-API-Key": key[:-2] + "xx"}
    codes = [
        client.post("/predict", json=SEED_EXAMPLE, headers=wrong).status_code for _ in range(20)
    ]
    assert codes == [401] * MAX_FAILED_KEYS + [429] * (20 - MAX_FAILED_KEYS)
    refused = client.post("/predict", json=SEED_EXAMPLE, headers={"X-API-Key": key})
    # the address is refused before its key is looked at, so guessing right does not help
    assert refused.status_code == 429
    assert "too many wrong API keys" in refused.json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert _logged_key_ids(client) == []
