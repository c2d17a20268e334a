"""`STOCKY_LOG_FORMAT=json`: every line a real server, the CLI and pool workers write is one
JSON object with time, level, logger and message, and the access line of a forecast carries
its request id, latency, ticker and model version."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from executor_tasks import log_for_ticker
from stocky.adapters.executor import LogSetup, PoolExecutor
from support import free_port, wait_healthy

pytestmark = pytest.mark.integration

SEED_EXAMPLE = {
    "recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]
}
REQUIRED = {"time", "level", "logger", "message"}


def _parse_lines(text: str, where: str) -> list[dict[str, Any]]:
    """Every non-empty line of `text` as a JSON object (a line that is not one fails)."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{where} line {number} is not JSON ({exc}): {line!r}") from exc
        assert isinstance(record, dict), line
        assert record.keys() >= REQUIRED, f"{where} line {number} lacks fields: {line!r}"
        moment = dt.datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
        assert moment.tzinfo is not None and moment.utcoffset() == dt.timedelta(0)
        records.append(record)
    return records


def test_a_real_server_writes_one_json_object_per_line(trained_home: Path, tmp_path: Path):
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    port = free_port()
    env = {
        **os.environ,
        "STOCKY_HOME": str(home),
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_RELOAD_INTERVAL_SECONDS": "0",
        "STOCKY_LOG_FORMAT": "json",
        "STOCKY_LOG_LEVEL": "DEBUG",  # champion loading names every ticker and version
    }
    out_path, err_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stocky", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=err,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, proc)
            assert httpx.get(f"{base}/health", timeout=10).status_code == 200
            r = httpx.post(
                f"{base}/predict",
                json=SEED_EXAMPLE,
                headers={"X-Request-ID": "req-42-json"},
                timeout=10,
            )
            assert r.status_code == 200, r.text
            version = r.json()["model_version"]
            missing = httpx.post(
                f"{base}/predict", json={**SEED_EXAMPLE, "ticker": "NOPE"}, timeout=10
            )
            assert missing.status_code == 404
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = out_path.read_text("utf-8") + err_path.read_text("utf-8")
    records = _parse_lines(text, "server")

    by_logger = {r["logger"] for r in records}
    assert {"uvicorn.error", "stocky.access"} <= by_logger, by_logger  # start-up and access
    assert any(r["message"].startswith("Application startup complete") for r in records)

    access = [r for r in records if r["logger"] == "stocky.access"]
    predict = [r for r in access if r["path"] == "/predict" and r["status"] == 200]
    assert len(predict) == 1, access
    line = predict[0]
    assert line["method"] == "POST" and line["level"] == "INFO"
    assert line["request_id"] == "req-42-json"  # as sent
    assert line["ticker"] == "^GSPC" and line["model_version"] == version
    assert isinstance(line["latency_ms"], float) and 0 < line["latency_ms"] < 10_000
    assert line["client"].startswith("127.0.0.1:")
    health = [r for r in access if r["path"] == "/health"]
    assert health and all(r["status"] == 200 and "ticker" not in r for r in health)
    refused = [r for r in access if r["path"] == "/predict" and r["status"] == 404]
    assert len(refused) == 1 and "ticker" not in refused[0]

    # champion loading: a line with the ticker and version beside the access line
    loaded = [r for r in records if r.get("ticker") == "^GSPC" and r["logger"] != "stocky.access"]
    assert any(r.get("model_version") == version for r in loaded), loaded


def test_the_cli_writes_json_lines(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "STOCKY_HOME": str(tmp_path / "home"),
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_LOG_FORMAT": "json",
    }
    done = subprocess.run(
        [sys.executable, "-m", "stocky", "data", "pull", "--ticker", "^GSPC"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    records = _parse_lines(done.stderr, "cli stderr")
    assert any("^GSPC" in r["message"] and r["level"] == "INFO" for r in records), records


def test_pool_workers_write_json_lines(capfd: pytest.CaptureFixture[str]) -> None:
    pool = PoolExecutor(2, log_setup=LogSetup(level="INFO", format="json"))
    try:
        outcomes = list(pool.map(log_for_ticker, ["AAA", "BBB"]))
    finally:
        pool.close()
    pids = {o.value for o in outcomes}
    assert all(o.ok for o in outcomes) and os.getpid() not in pids
    err = capfd.readouterr().err
    records = [r for r in _parse_lines(err, "worker stderr") if r["logger"] == "executor_tasks"]
    assert {r["ticker"] for r in records} == {"AAA", "BBB"}
    assert {r["pid"] for r in records} == pids
    assert all(r["level"] == "INFO" and r["model_version"] == 7 for r in records)


def test_without_a_log_setup_pool_workers_log_as_before(capfd: pytest.CaptureFixture[str]):
    # the worker's logging is left alone: INFO lines are not printed (Python's last resort)
    pool = PoolExecutor(2)
    try:
        list(pool.map(log_for_ticker, ["AAA"]))
    finally:
        pool.close()
    assert "AAA" not in capfd.readouterr().err


@pytest.mark.parametrize("enabled", [True, False])
def test_the_access_log_setting(
    trained_home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, enabled: bool
) -> None:
    from fastapi.testclient import TestClient

    from stocky.api.app import create_app
    from support import make_settings

    db = tmp_path / "stocky.db"
    shutil.copy(trained_home / "stocky.db", db)
    settings = make_settings(trained_home, database_url=f"sqlite:///{db}", access_log=enabled)
    batch = {"items": [SEED_EXAMPLE, {**SEED_EXAMPLE, "ticker": "NOPE"}]}
    with (
        caplog.at_level(logging.INFO, logger="stocky.access"),
        TestClient(create_app(settings)) as client,
    ):
        assert client.post("/predict/batch", json=batch).status_code == 200
    lines = [r for r in caplog.records if r.name == "stocky.access"]
    if not enabled:
        assert lines == []
        return
    (line,) = lines
    assert (line.path, line.status, line.items) == ("/predict/batch", 200, 2)  # type: ignore[attr-defined]
    assert line.getMessage().startswith('testclient:50000 "POST /predict/batch" 200 ')
