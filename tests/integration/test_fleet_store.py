"""The fleet overview on a real database: five statements for the whole fleet, numbers that agree
with the per-ticker path, and `GET /monitoring/fleet` / `GET /dashboard` over 120 SYNTHETIC
tickers (tests/synthetic_fleet.py; no model is trained)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.fleet import FleetRepository
from stocky.adapters.store.predictions import PredictionRepository
from stocky.adapters.store.tables import predictions
from stocky.api.app import create_app
from stocky.core.drift import per_session
from stocky.core.fleet import FleetRow
from stocky.core.realized import realized
from stocky.core.scores import distribution_scores
from stocky.pipelines.fleet_view import lookback_days
from support import make_settings
from synthetic_fleet import DUE, NOW, fill, ticker

pytestmark = pytest.mark.integration

N = 120
WINDOW = 10


class NoModels:
    """A registry with nothing registered (no MLflow needed)."""

    def tickers(self) -> list[str]:
        return []

    def champion_versions(self, alias: str = "champion") -> list[object]:
        return []

    def versions(self, ticker: str) -> list[object]:
        return []


class Statements:
    def __init__(self, engine: sa.Engine) -> None:
        self.seen: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, *_args) -> None:
        self.seen.append(statement)


def seed(engine: sa.Engine) -> None:
    """The synthetic fleet, plus rows the per-ticker rule must leave out or supersede."""
    create_schema(engine)
    fill(engine, N)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(predictions).where(
                predictions.c.ticker.in_([ticker(1), ticker(2)]),
                predictions.c.target_date == DUE,
            )
        ).mappings()
        extra = []
        for r in rows:
            values = {k: v for k, v in r.items() if k != "id"}
            if r["ticker"] == ticker(1):  # a later re-forecast of DUE: it is the one that counts
                values["prediction"] = r["prediction"] + 0.7
                values["created_at"] = r["created_at"] + dt.timedelta(minutes=5)
            else:  # another ticker's window (naive 170 vs a stored close of 100): left out
                values["naive"] = 170.0
                values["created_at"] = r["created_at"] + dt.timedelta(minutes=5)
            extra.append(values)
    with engine.begin() as conn:
        conn.execute(predictions.insert(), extra)


def test_facts_take_five_statements_and_agree_with_the_per_ticker_path(db_url):
    engine = make_engine(db_url)
    seed(engine)
    counter = Statements(engine)
    facts = FleetRepository(engine).facts(
        window=WINDOW, lookback_days=lookback_days(WINDOW), extra=["TRAINED"]
    )
    assert len(counter.seen) == 5, counter.seen  # not one per ticker
    by = {f.ticker: f for f in facts}
    assert len(by) == N + 1 and by["TRAINED"].last_price is None
    log = PredictionRepository(engine)
    for i in (0, 1, 2, 13, 17, 42):
        f = by[ticker(i)]
        sessions = per_session(log.labeled(ticker(i))).tail(WINDOW)
        ref = realized(
            sessions["actual"],
            sessions["prediction"],
            sessions["naive"],
            lower=sessions["lower"],
            upper=sessions["upper"],
        )
        assert f.sessions == ref.n == WINDOW
        assert f.mse == pytest.approx(ref.rmse**2, rel=1e-12)
        assert f.naive_mse == pytest.approx(ref.naive_rmse**2, rel=1e-12)
        assert f.coverage == pytest.approx(ref.coverage, rel=1e-12)
        scores = distribution_scores(
            *(
                sessions[c].to_numpy(float)
                for c in ("actual", "prediction", "naive", "lower", "upper")
            )
        )
        assert f.interval_score == pytest.approx(scores.interval_score, rel=1e-12)
        assert f.naive_interval_score == pytest.approx(scores.naive_interval_score, rel=1e-12)
        assert f.crps == pytest.approx(scores.crps, rel=1e-12)
        assert f.naive_crps == pytest.approx(scores.naive_crps, rel=1e-12)
        assert (f.direction_accuracy, f.direction_sessions, f.direction_pvalue) == (
            scores.direction_accuracy,
            scores.direction_sessions,
            scores.direction_pvalue,
        )
    # the flags come from each latest check's report (JSON read by the database)
    assert by[ticker(7)].volatility_changed is True and by[ticker(7)].model_degraded is None
    assert by[ticker(11)].model_degraded is True and by[ticker(1)].volatility_changed is None
    assert by[ticker(18)].decision is None  # never checked
    assert by[ticker(13)].last_price == dt.date(2024, 7, 5)  # 07-08, 07-09, 07-10 missing
    assert by[ticker(14)].last_price == DUE
    assert by[ticker(17)].oldest_pending == dt.date(2024, 7, 9) and by[ticker(17)].pending == 2
    assert (by[ticker(5)].last_retrain_action, by[ticker(5)].last_promotion) == (
        "promote",
        dt.date(2024, 6, 28),
    )
    assert (by[ticker(6)].last_retrain, by[ticker(6)].last_promotion) == (dt.date(2024, 7, 1), None)
    engine.dispose()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("fleet") / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'stocky.db'}")
    seed(engine)
    engine.dispose()
    return home


@pytest.fixture
def client(home: Path) -> Iterator[TestClient]:
    settings = make_settings(home)
    app = create_app(settings, clock=lambda: NOW, registry=NoModels())  # type: ignore[arg-type]
    with TestClient(app) as c:
        yield c


def test_fleet_pages_through_every_ticker_problems_first(client):
    seen, url, pages = [], "/monitoring/fleet?limit=50", 0
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == N and len(body["tickers"]) <= 50
        seen += body["tickers"]
        url, pages = body["next"], pages + 1
    assert pages == 3 and len({t["ticker"] for t in seen}) == N
    assert body["fleet"]["tickers"] == N and body["window"] == 21
    ranks = ["degraded", "stale_prices", "labels_late", "volatility", "unchecked", "ok"]
    order = [ranks.index(t["state"]) for t in seen]
    assert order == sorted(order)
    first = seen[0]
    assert first["state"] == "degraded" and (first["drift"] == "drift" or first["model_degraded"])
    degraded = [t["skill"] for t in seen if t["state"] == "degraded"]
    assert degraded == sorted(degraded)  # the worst skill first within a state
    by = {t["ticker"]: t for t in seen}
    assert by[ticker(13)]["state"] == "stale_prices" and by[ticker(13)]["prices_behind"] == 3
    assert by[ticker(17)]["state"] == "labels_late" and by[ticker(17)]["labels_late"] is True
    assert by[ticker(7)]["state"] == "volatility" and by[ticker(7)]["volatility_changed"] is True
    assert by[ticker(18)]["state"] == "unchecked"
    assert by[ticker(1)]["state"] == "ok" and by[ticker(1)]["last_retrain_action"] == "reject"
    assert by[ticker(1)]["last_price"] == DUE.isoformat()


def test_fleet_filters_and_sorts(client):
    degraded = client.get("/monitoring/fleet", params={"state": "degraded", "limit": 1000}).json()
    expected = {ticker(i) for i in range(N) if i % 10 == 0 or i % 11 == 0}
    assert {t["ticker"] for t in degraded["tickers"]} == expected
    assert degraded["total"] == len(expected) and degraded["next"] is None
    both = client.get("/monitoring/fleet", params=[("state", "ok"), ("state", "volatility")])
    kept = both.json()["tickers"]
    assert kept and all(t["state"] == "ok" or "volatility" in t["problems"] for t in kept)
    assert {t["state"] for t in kept} > {"ok", "volatility"}  # by problem, not only by state
    best = client.get("/monitoring/fleet", params={"sort": "skill", "order": "desc", "limit": 5})
    skills = [t["skill"] for t in best.json()["tickers"]]
    assert skills == sorted(skills, reverse=True) and skills[0] > 0


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"sort": "colour"}, "sort 'colour' is not a column: use one of ticker"),
        ({"state": "broken"}, "state 'broken' is unknown"),
        ({"limit": 1001}, "limit"),
        ({"order": "sideways"}, "order"),
    ],
)
def test_fleet_refuses_bad_parameters_with_422(client, params, needle):
    r = client.get("/monitoring/fleet", params=params)
    assert r.status_code == 422
    assert needle in r.text


def test_fleet_is_read_once_per_ttl_and_shared_with_the_dashboard(client):
    state = client.app.state.stocky  # type: ignore[attr-defined]
    assert client.get("/monitoring/fleet").status_code == 200
    counter = Statements(state.engine)
    overview = client.get("/dashboard")
    # the cached snapshot; only the summary's drift-check history is read, once per TTL
    assert overview.status_code == 200
    assert len(counter.seen) == 1 and "FROM drift_checks" in counter.seen[0]
    counter = Statements(state.engine)
    assert client.get("/dashboard").status_code == 200 and counter.seen == []
    assert overview.text.count("<tr data-ticker=") == N
    assert f'<a href="/dashboard/{ticker(0)}">{ticker(0)}</a>' in overview.text
    cache = client.app.state.fleet_cache  # type: ignore[attr-defined]
    cache.ttl_seconds = 0
    assert client.get("/monitoring/fleet?limit=1").status_code == 200
    assert len(counter.seen) == 5


def test_overview_rows_are_finite_json(client):
    body = client.get("/monitoring/fleet?limit=1000").content
    assert b"NaN" not in body and b"Infinity" not in body
    row = client.get("/monitoring/fleet?limit=1").json()["tickers"][0]
    assert set(row) == {f.name for f in dataclasses.fields(FleetRow)}


def test_windows_are_cached_apart_and_stepping_through_them_keeps_the_default(client):
    from stocky.api.fleet import MAX_WINDOWS
    from stocky.pipelines.fleet_view import FLEET_WINDOW

    state = client.app.state.stocky  # type: ignore[attr-defined]
    assert client.get("/dashboard").status_code == 200  # the default window, and the history
    for window in (5, 10):
        assert client.get(f"/monitoring/fleet?window={window}&limit=1").status_code == 200
    counter = Statements(state.engine)
    for window in (5, 10):  # each window answered from its own snapshot
        assert client.get(f"/monitoring/fleet?window={window}&limit=1").json()["window"] == window
    assert counter.seen == []
    for window in range(30, 30 + MAX_WINDOWS + 4):  # a client stepping through windows
        assert client.get(f"/monitoring/fleet?window={window}&limit=1").status_code == 200
    cache = client.app.state.fleet_cache  # type: ignore[attr-defined]
    held = cache.windows()
    assert len(held) == MAX_WINDOWS + 1 and FLEET_WINDOW in held and 5 not in held
    counter = Statements(state.engine)
    assert client.get("/dashboard").status_code == 200
    assert counter.seen == []  # the dashboard's window was never evicted


def _strict(text: str) -> object:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in a JSON response: send None instead")

    return json.loads(text, parse_constant=refuse)


def test_fleet_rows_carry_the_distribution_scores_next_to_naive(client):
    rows = {
        r["ticker"]: r for r in _strict(client.get("/monitoring/fleet?limit=1000").text)["tickers"]
    }
    # FLT0000: forecast 100.8 +- 2 over a naive of 100; closes 101, or 104 every third session
    # (above both intervals: 104 - 102.8 = 1.2 for the model, 104 - 102 = 2 for naive)
    r = rows[ticker(0)]
    missed = 1.0 - r["coverage"]  # share of sessions closing at 104
    assert 0 < missed < 1
    assert r["interval_score"] == pytest.approx(4.0 + 40 * 1.2 * missed)
    assert r["naive_interval_score"] == pytest.approx(4.0 + 40 * 2.0 * missed)
    assert r["crps"] < r["naive_crps"]
    # every forecast and every close is above the last close: all right, p = 2 x 0.5**n
    n = r["direction_sessions"]
    assert (r["direction_accuracy"], n) == (1.0, r["sessions"])
    assert r["direction_pvalue"] == pytest.approx(2 * 0.5**n)
    # FLT0030: forecast 101 - 1.4 = 99.6, below the last close: every direction wrong
    assert rows[ticker(30)]["direction_accuracy"] == 0.0


def test_performance_has_the_distribution_scores_by_hand(client):
    perf = _strict(client.get(f"/monitoring/{ticker(0)}/performance").text)
    w = perf["windows"]["21"]
    sessions = client.app.state.stocky.predictions.labeled(ticker(0))  # type: ignore[attr-defined]
    actual = per_session(sessions).tail(21)["actual"].to_numpy(float)
    hand = [4.0 + 40 * max(a - 102.8, 0.0) for a in actual]
    naive_hand = [4.0 + 40 * max(a - 102.0, 0.0) for a in actual]
    assert w["interval_score"] == pytest.approx(sum(hand) / 21)
    assert w["naive_interval_score"] == pytest.approx(sum(naive_hand) / 21)
    assert w["interval_skill"] == pytest.approx(1 - sum(hand) / sum(naive_hand))
    # the bounds as quantiles: below the upper bound by d costs 0.025 d, above it 0.975 d
    upper_hand = [0.975 * (a - 102.8) if a > 102.8 else 0.025 * (102.8 - a) for a in actual]
    assert w["pinball_upper"] == pytest.approx(sum(upper_hand) / 21)
    assert (
        w["coverage_95"]
        == w["naive_coverage_95"]
        == pytest.approx(sum(a < 102 for a in actual) / 21)
    )
    assert (w["direction_accuracy"], w["direction_sessions"]) == (1.0, 21)
    assert w["direction_pvalue"] == pytest.approx(2 * 0.5**21)
    assert 0 < w["crps"] < w["naive_crps"]


class TaggedModels(NoModels):
    """One aliased version whose tags carry the test-period distribution scores (one NaN)."""

    def aliased_versions(self) -> list[object]:
        from stocky.adapters.ports import ModelVersionInfo

        tags = {
            "model_type": "naive",
            "model": "Naive",
            "walk_forward_rmse": "1.5",
            "walk_forward_interval_score": "6.25",
            "naive_interval_score": "6.5",
            "walk_forward_crps": "0.84",
            "naive_crps": "nan",
            "direction_accuracy": "0.53",
            "direction_pvalue": "0.41",
        }
        return [ModelVersionInfo(ticker(0), "stocky-flt0000", 1, ("champion",), None, tags)]


def test_models_show_the_distribution_scores_tagged_at_training(home):
    app = create_app(make_settings(home), clock=lambda: NOW, registry=TaggedModels())  # type: ignore[arg-type]
    with TestClient(app) as c:
        r = c.get("/models")
    assert r.status_code == 200
    (row,) = _strict(r.text)  # type: ignore[misc]
    assert row["walk_forward_interval_score"] == 6.25 and row["naive_interval_score"] == 6.5
    assert row["walk_forward_crps"] == 0.84 and row["naive_crps"] is None  # NaN tag: None
    assert (row["direction_accuracy"], row["direction_pvalue"]) == (0.53, 0.41)


def test_dashboard_pages_show_the_distribution_scores(client):
    overview = client.get("/dashboard").text
    assert '<button type="button">interval score</button>' in overview
    assert '<button type="button">CRPS</button>' in overview
    page = client.get(f"/dashboard/{ticker(0)}").text
    assert '<div data-score="interval"><dt>interval score</dt>' in page
    assert '<div data-score="direction"><dt>direction right</dt><dd>100.0%' in page
