"""The leaderboard through `stocky leaderboard` (CliRunner) and `GET /leaderboard` (TestClient),
over a SQLite database holding SYNTHETIC rows of 25 tickers (tests/synthetic_board.py)."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.leaderboard import LeaderboardRepository
from stocky.api.app import create_app
from stocky.cli.leaderboard import CSV_COLUMNS
from stocky.cli.main import app
from stocky.config import get_settings
from support import make_settings
from synthetic_board import TRAINED_AT, board_rows

pytestmark = pytest.mark.integration

N = 25
TICKERS = [f"T{i:03d}" for i in range(N)]
runner = CliRunner()


def _fill(db_url: str) -> None:
    engine = make_engine(db_url)
    create_schema(engine)
    store = LeaderboardRepository(engine)
    for i, t in enumerate(TICKERS):
        store.replace(t, 1, board_rows(t, 1, i))
    engine.dispose()


@pytest.fixture
def cli_board(cli_env: Path) -> Path:
    settings = get_settings()
    settings.ensure_home()
    _fill(settings.db_url)
    return cli_env


def _strict(text: str) -> object:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON number {token}")

    return json.loads(text, parse_constant=refuse)


def test_cli_json_has_every_ticker_and_the_fleet_summary(cli_board):
    result = runner.invoke(app, ["leaderboard", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = _strict(result.stdout)
    assert [t["ticker"] for t in data["tickers"]] == TICKERS
    fleet = data["fleet"]
    odd = sum(i % 2 for i in range(N))
    assert fleet["tickers"] == N
    assert fleet["family_wins"] == {"naive": N - odd, "arima": odd}
    assert fleet["interval_wins"] == {"ewma": N - odd, "garch": odd}
    # champions' test skill: 0 for naive, (i % 7 - 3) / 1000 for arima (odd i)
    skills = sorted([0.0] * (N - odd) + [(i % 7 - 3) / 1000 for i in range(1, N, 2)])
    q = fleet["skill"]["quantiles"]
    assert q["q00"] == pytest.approx(skills[0]) and q["q100"] == pytest.approx(skills[-1])
    assert q["q50"] == pytest.approx(skills[N // 2])
    assert fleet["skill"]["beat_naive"] == sum(s > 0 for s in skills)
    assert sum(b["count"] for b in fleet["skill"]["histogram"]) == N
    # interval skill of a garch champion: 1 - 4.1 / 4.05 (< 0); of an ewma one 1 - 4.0 / 4.05
    assert fleet["interval_skill"]["quantiles"]["q00"] == pytest.approx(1 - 4.1 / 4.05)
    assert fleet["interval_skill"]["beat_naive"] == N - odd
    first = data["tickers"][1]
    assert first["champion"] == {
        "model_type": "arima",
        "label": "ARIMA(0,1,1)",
        "interval": "garch",
    }
    assert first["reason"] == "arima won because 1" and len(first["candidates"]) == 8


def test_cli_one_ticker_as_table_csv_and_json(cli_board):
    table = runner.invoke(app, ["leaderboard", "--ticker", "t003"])
    assert table.exit_code == 0, table.output
    assert "T003 v1" in table.stdout and "* arima" in table.stdout
    assert "why: arima won because 3" in table.stdout
    out = runner.invoke(app, ["leaderboard", "-t", "T003", "-f", "csv"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 8 and list(rows[0]) == list(CSV_COLUMNS)
    assert {r["ticker"] for r in rows} == {"T003"}
    chosen = [r for r in rows if r["chosen"] == "True"]
    assert [(r["stage"], r["model_type"], r["interval"]) for r in chosen] == [
        ("test", "arima", "garch"),
        ("validation", "arima", "garch"),
    ]
    naive = next(r for r in rows if r["model_type"] == "naive")
    assert naive["dm_pvalue"] == "" and float(naive["skill"]) == 0.0
    assert float(chosen[0]["interval_skill"]) == pytest.approx(1 - 4.1 / 4.05)
    js = _strict(runner.invoke(app, ["leaderboard", "-t", "T003", "-f", "json"]).stdout)
    assert "fleet" not in js and [t["ticker"] for t in js["tickers"]] == ["T003"]


def test_cli_fleet_table_and_an_unknown_ticker(cli_board):
    table = runner.invoke(app, ["leaderboard"])
    assert table.exit_code == 0, table.output
    assert "family arima" in table.stdout and "interval garch" in table.stdout
    missing = runner.invoke(app, ["leaderboard", "--ticker", "NOPE"])
    assert missing.exit_code != 0 and "NOPE has no leaderboard" in missing.output
    bad = runner.invoke(app, ["leaderboard", "--format", "xml"])
    assert bad.exit_code == 2


@pytest.fixture
def client(tmp_path: Path):
    settings = make_settings(tmp_path / "home")
    settings.ensure_home()
    _fill(settings.db_url)
    with TestClient(create_app(settings, clock=lambda: TRAINED_AT)) as c:
        yield c


def test_api_pages_through_every_ticker_once(client):
    seen: list[str] = []
    url: str | None = "/leaderboard?limit=10"
    pages = 0
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        data = _strict(response.text)
        assert data["total"] == N and data["limit"] == 10
        assert data["fleet"]["tickers"] == N
        seen += [t["ticker"] for t in data["tickers"]]
        assert data["next_offset"] == (data["offset"] + 10 if data["offset"] + 10 < N else None)
        url = data["next"]
        pages += 1
    assert seen == TICKERS and pages == 3
    empty = client.get("/leaderboard?offset=100").json()
    assert empty["tickers"] == [] and empty["next_offset"] is None and empty["total"] == N
    assert client.get("/leaderboard?limit=0").status_code == 422


def test_api_ticker_filter_and_strict_json(client):
    data = _strict(client.get("/leaderboard", params={"ticker": "t004"}).text)
    assert data["total"] == 1 and "fleet" not in data
    (board,) = data["tickers"]
    assert board["ticker"] == "T004" and board["champion"]["model_type"] == "naive"
    naive = [c for c in board["candidates"] if c["model_type"] == "naive"]
    assert all(c["dm_pvalue"] is None and c["direction_accuracy"] is None for c in naive)
    for c in board["candidates"]:
        assert all(not isinstance(v, float) or math.isfinite(v) for v in c.values())
    missing = client.get("/leaderboard", params={"ticker": "NOPE"})
    assert missing.status_code == 404 and "has no leaderboard" in missing.json()["detail"]


def test_page_and_dashboard_link(client):
    page = client.get("/leaderboard/page?limit=10")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.count('class="champion"') == 10 and 'id="next"' in page.text
    assert 'id="family-wins"' in page.text
    one = client.get("/leaderboard/page", params={"ticker": "T001"})
    assert one.status_code == 200 and one.text.count('class="champion"') == 1
    assert 'href="/leaderboard/page"' in client.get("/dashboard").text
