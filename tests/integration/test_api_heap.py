"""Start-up and reloads leave the long-lived heap frozen out of the full garbage collections,
and the exchange calendar is built before the first request (stocky.api.heap)."""

from __future__ import annotations

import datetime as dt
import gc

from fastapi.testclient import TestClient

from stocky.api.app import create_app
from support import make_settings, registry_for, train_into

FIXED_NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)
SEED_EXAMPLE = {
    "recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]
}


def test_start_up_freezes_the_heap_and_builds_the_calendar(trained_home, tmp_path):
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    settings = make_settings(trained_home, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    with TestClient(create_app(settings, clock=lambda: FIXED_NOW)) as c:
        # before any request: the served models and modules are out of the collector's walk
        assert gc.get_freeze_count() > 10_000
        state = c.app.state.stocky  # type: ignore[attr-defined]
        # the session caches already hold today's look-ups (2024-07-03 -> 2024-07-05)
        assert state._next_session is not None
        assert state._next_session.cache_info().currsize >= 1
        hits = state._next_session.cache_info().hits
        r = c.post("/predict", json=SEED_EXAMPLE)
        assert r.status_code == 200 and r.json()["target_date"] == "2024-07-05"
        assert state._next_session.cache_info().hits == hits + 1  # the request built nothing
    gc.unfreeze()


def test_a_reload_that_changes_a_model_freezes_again_and_one_that_does_not_does_not(
    fresh_trained_home,
):
    home = fresh_trained_home()
    settings = make_settings(home, admin_api_key="k")
    with TestClient(create_app(settings)) as c:
        second = train_into(settings, last=999)
        gc.unfreeze()
        r = c.post("/admin/reload", headers={"X-API-Key": "k"})
        assert r.json()["loaded"] == []
        assert gc.get_freeze_count() == 0  # nothing changed: no collection paid
        registry_for(settings).set_alias("^GSPC", "champion", second.version.version)
        r = c.post("/admin/reload", headers={"X-API-Key": "k"})
        assert r.json()["loaded"] == ["^GSPC"]
        assert gc.get_freeze_count() > 10_000
    gc.unfreeze()
