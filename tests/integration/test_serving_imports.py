"""What a server imports to start over a local store: not mlflow, the pipelines or scipy.stats.

Each of them cost a second or more of CPU at every worker's start (the 1,000-champion start-up
went from ~9 s of CPU to ~3 s without them); this keeps them off that path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

KEPT_OFF = (
    "mlflow",
    "arch",
    "statsmodels",
    "scipy.stats",
    "scipy.signal",
    "matplotlib",
    "stocky.pipelines.train",
    "stocky.pipelines.retrain",
)

CODE = """
import datetime as dt, json, sys
from fastapi.testclient import TestClient
from stocky.adapters.ports import PromotionRow
from stocky.api.app import create_app
from stocky.config import Settings

settings = Settings(home=sys.argv[1], price_source="bundled", reload_interval_seconds=0)
with TestClient(create_app(settings)) as api:
    ready = api.get("/ready")
    prices = [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]
    predict = api.post("/predict", json={"recent_prices": prices, "ticker": "^GSPC"})
    # a promotion recorded after start-up: the next poll looks the ticker up again
    state = api.app.state.stocky
    state.stack.audit.add_promotion(PromotionRow(
        "^GSPC", "stocky-GSPC", "promote", 1, 1, dt.datetime.now(dt.timezone.utc), None,
        "test", "manual"))
    reload = state.champions.refresh_changed()
    print(json.dumps({
        "ready": ready.status_code, "models": ready.json().get("models"),
        "predict": predict.status_code, "reloaded": list(reload.unchanged),
        "loaded": sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules),
    }))
"""


def test_a_server_starts_forecasts_and_reloads_without_the_heavy_imports(
    trained_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    for stale in home.glob("stocky.db*"):  # a fresh database, as a new deployment has
        stale.unlink()
    out = subprocess.run(
        [sys.executable, "-c", CODE, str(home), json.dumps(KEPT_OFF)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert (result["ready"], result["models"], result["predict"]) == (200, {"^GSPC": 1}, 200)
    assert result["reloaded"] == ["^GSPC"]  # the change log was read and the alias looked up
    assert result["loaded"] == []
