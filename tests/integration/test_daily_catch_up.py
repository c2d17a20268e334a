"""`stocky daily` catches up: every session missed since the last run, once each, in order;
`--from/--to`; non-session dates refused; a static source that has ended said once, and not
called stale, nor its labels late. Real bundled S&P 500 closes, real SQLite and MLflow."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from stocky.adapters.prices import BundledSource
from stocky.adapters.store import PriceRepository, create_schema, make_engine
from stocky.adapters.store.audit import AuditRepository
from stocky.adapters.store.tables import alerts
from stocky.cli.main import app
from stocky.config import get_settings
from stocky.pipelines.fleet_view import report_for_stack
from stocky.pipelines.train import train_ticker
from stocky.wiring import build_stack
from support import FAST_TRAIN, TRAINED_AT, make_settings, registry_for

pytestmark = pytest.mark.integration

STORED_TO = dt.date(2018, 12, 20)
#: The bundled S&P 500's sessions from the stored end to its own end (12-25 is Christmas).
MISSED = ["2018-12-20", "2018-12-21", "2018-12-24", "2018-12-26", "2018-12-27", "2018-12-28",
          "2018-12-31"]  # fmt: skip


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """^GSPC stored and trained up to a few sessions before the bundled data's end."""
    path = tmp_path / "home"
    settings = make_settings(path)
    settings.ensure_home()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    frame = BundledSource().fetch("^GSPC", end=STORED_TO)
    PriceRepository(engine).upsert("^GSPC", frame, source="bundled", fetched_at=TRAINED_AT)
    engine.dispose()
    train_ticker(
        ticker="^GSPC",
        prices=frame.iloc[-1000:].reset_index(drop=True),
        source="bundled",
        registry=registry_for(settings),
        config=FAST_TRAIN,
        now=TRAINED_AT,
    )
    monkeypatch.setenv("STOCKY_HOME", str(path))
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "bundled")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def _checked(home: Path) -> list[str]:
    engine = make_engine(f"sqlite:///{home / 'stocky.db'}")
    try:
        return sorted(c.as_of.isoformat() for c in AuditRepository(engine).drift_checks("^GSPC"))
    finally:
        engine.dispose()


def _sessions_run(output: str) -> list[str]:
    return re.findall(r"^daily (\d{4}-\d\d-\d\d): ", output, flags=re.MULTILINE)


def test_daily_runs_every_missed_session_once_in_order_then_says_the_source_ended(home):
    runner = CliRunner()
    r = runner.invoke(app, ["daily", "--no-report"])
    assert r.exit_code == 0, r.output
    assert _sessions_run(r.stdout) == MISSED  # in order, each once
    assert _checked(home) == MISSED
    assert "daily 2018-12-21: 1 ticker, +1 price, 1 labeled, 1 forecast;" in r.stdout
    assert "ran 7 sessions (2018-12-20 .. 2018-12-31): +6 prices, 6 labeled, 7 forecasts" in (
        r.stdout
    )
    assert "forecast for 2019-01-02" in r.stdout
    assert "None .. None" not in r.output and "1 tickers" not in r.output
    assert r.stdout.count("bundled prices end 2018-12-31") == 1

    again = runner.invoke(app, ["daily", "--no-report"])
    assert again.exit_code == 0, again.output
    assert _sessions_run(again.stdout) == []
    assert again.stdout.strip() == (
        "bundled prices end 2018-12-31: nothing to catch up after it "
        "(the daily job ran for 2018-12-31)"
    )
    assert _checked(home) == MISSED  # nothing ran twice

    # the source ended: ^GSPC is neither stale nor late, and no labels_late alert was queued
    # although the forecast for 2019-01-02 will never get its close
    settings = get_settings()
    with build_stack(settings) as stack:
        now = dt.datetime(2025, 6, 3, 12, tzinfo=dt.UTC)
        (row,) = report_for_stack(stack, tickers=["^GSPC"], now=now).overview
        assert engine_count(stack.engine, alerts.c.kind == "labels_late") == 0
    assert "stale_prices" not in row.problems and "labels_late" not in row.problems
    assert (row.prices_behind, row.source_end, row.oldest_pending) == (
        0,
        dt.date(2018, 12, 31),
        dt.date(2019, 1, 2),
    )


def engine_count(engine: sa.Engine | None, where: sa.ColumnElement[bool]) -> int:
    assert engine is not None
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(where)).scalar_one())


def test_from_to_runs_a_range_and_the_next_catch_up_continues_after_it(home):
    runner = CliRunner()
    r = runner.invoke(app, ["daily", "--from", "2018-12-21", "--to", "2018-12-27", "--no-report"])
    assert r.exit_code == 0, r.output
    assert _sessions_run(r.stdout) == ["2018-12-21", "2018-12-24", "2018-12-26", "2018-12-27"]
    rest = runner.invoke(app, ["daily", "--no-report"])
    assert rest.exit_code == 0, rest.output
    assert _sessions_run(rest.stdout) == ["2018-12-28", "2018-12-31"]
    assert _checked(home) == MISSED[1:]


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["--as-of", "2018-12-29"],
            "--as-of 2018-12-29 is not a XNYS trading session: give a session, e.g. "
            "2018-12-28 (the session before it)",
        ),
        (["--from", "2018-12-25"], "--from 2018-12-25 is not a XNYS trading session"),
        (["--from", "2018-12-24", "--to", "2018-12-30"], "e.g. 2018-12-28 (the session before"),
        (["--from", "2018-12-28", "--to", "2018-12-24"], "--from 2018-12-28 is after --to"),
        (["--as-of", "2018-12-28", "--from", "2018-12-24"], "--as-of and --from/--to both"),
        (["--as-of", "28/12/2018"], "--as-of '28/12/2018' is not YYYY-MM-DD"),
    ],
)
def test_non_sessions_and_bad_ranges_are_refused_with_exit_2(home, args, message):
    r = CliRunner().invoke(app, ["daily", *args, "--no-report"])
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert _checked(home) == []  # nothing ran
