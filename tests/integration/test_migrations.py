"""Alembic migrations on SQLite and PostgreSQL: schema equals `metadata`, adoption, locking, cost."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from stocky.adapters.store import create_schema, make_engine, metadata, schema
from stocky.adapters.store.schema import HEAD_REVISION, alembic_config, current_revision
from stocky.adapters.store.tables import prices
from stocky.errors import StoreError

pytestmark = pytest.mark.integration

BASELINE_TABLES = {"prices", "predictions", "drift_checks", "promotions"}
"""The tables a database made by `metadata.create_all` before migrations existed could hold."""
STOCKY_TABLES = BASELINE_TABLES | {"alerts", "api_keys", "leaderboard"}


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def forget_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start with an empty per-process cache, as a new process would."""
    monkeypatch.setattr(schema, "_at_head", set())


def diffs(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_head_revision_is_the_only_head_of_the_scripts():
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [HEAD_REVISION]
    chain = [s.revision for s in scripts.walk_revisions()]  # newest first, raises on a fork
    assert chain[0] == HEAD_REVISION and chain[-1] == "0001"


def test_migrated_schema_equals_metadata(engine, forget_checks):
    create_schema(engine)
    assert current_revision(engine) == HEAD_REVISION
    assert table_names(engine) == STOCKY_TABLES | {"alembic_version"}
    assert diffs(engine) == []  # same columns, types, nullability, keys and indexes


@pytest.mark.parametrize("made", [sorted(BASELINE_TABLES), ["prices", "predictions"]])
def test_database_made_by_create_all_is_stamped_and_keeps_its_rows(engine, forget_checks, made):
    metadata.create_all(engine, tables=[metadata.tables[name] for name in made])
    row = {
        "ticker": "^GSPC",
        "date": dt.date(2018, 12, 31),
        "close": 2506.85,
        "source": "bundled",
        "fetched_at": dt.datetime(2019, 1, 2, tzinfo=dt.UTC),
    }
    with engine.begin() as conn:
        conn.execute(prices.insert().values(**row))
    assert current_revision(engine) is None

    create_schema(engine)

    assert current_revision(engine) == HEAD_REVISION
    assert table_names(engine) == STOCKY_TABLES | {"alembic_version"}
    assert diffs(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(prices.c.close)).scalars().all() == [2506.85]


def test_at_head_costs_one_read_then_nothing(engine, forget_checks):
    create_schema(engine)
    schema._at_head.clear()  # a new process: nothing known yet
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    create_schema(engine)
    assert statements, "the first call must look at the database"
    assert all(s.lstrip().upper().startswith(("SELECT", "PRAGMA")) for s in statements)
    assert not any("alembic_version" in s and "INSERT" in s.upper() for s in statements)

    statements.clear()
    create_schema(engine)
    create_schema(make_engine(engine.url.render_as_string(hide_password=False)))
    assert statements == []  # cached per URL for the life of the process


def test_at_head_a_new_process_does_not_import_alembic(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'stocky.db'}"
    create_schema(make_engine(url))
    check = (
        "import sys; from stocky.adapters.store import create_schema, make_engine; "
        f"create_schema(make_engine({url!r})); "
        "assert 'alembic' not in sys.modules, 'alembic was imported'"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_in_memory_databases_are_each_migrated():
    for _ in range(2):
        engine = make_engine("sqlite://")
        create_schema(engine)
        assert table_names(engine) >= STOCKY_TABLES
        engine.dispose()


def test_database_migrated_by_a_newer_stocky_is_refused(engine, forget_checks):
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    schema._at_head.clear()
    with pytest.raises(StoreError, match="revision '9999'.*upgrade stocky"):
        create_schema(engine)


def test_downgrade_to_base_and_upgrade_again(engine, forget_checks):
    create_schema(engine)
    url = engine.url.render_as_string(hide_password=False)
    command.downgrade(alembic_config(url), "base")
    assert table_names(engine) <= {"alembic_version"}
    schema._at_head.clear()
    create_schema(engine)
    assert diffs(engine) == []


CHILD = """
import sys, time
from pathlib import Path
import alembic.command, alembic.script  # imported before the start line, not after it
from stocky.adapters.store import create_schema, make_engine
ready, go, url = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
engine = make_engine(url)
ready.touch()
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.002)
create_schema(engine)
"""


def test_processes_starting_together_migrate_once(engine, tmp_path: Path):
    url = engine.url.render_as_string(hide_password=False)
    n = 3
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path / f"ready{i}"), str(tmp_path / "go"), url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(n)
    ]
    try:
        deadline = time.monotonic() + 60
        while sum((tmp_path / f"ready{i}").exists() for i in range(n)) < n:
            assert time.monotonic() < deadline, "the migrating processes did not start"
            assert all(p.poll() is None for p in procs), [p.communicate()[0] for p in procs]
            time.sleep(0.01)
        (tmp_path / "go").touch()
        outputs = [p.communicate(timeout=60)[0].decode() for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0] * n, "\n".join(outputs)
    with engine.connect() as conn:
        stamped = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    assert stamped == [(HEAD_REVISION,)]
    assert diffs(engine) == []


def _prediction_row(**numbers: float) -> dict[str, object]:
    row: dict[str, object] = {
        "ticker": "^GSPC",
        "created_at": dt.datetime(2019, 1, 2, 21, 0, tzinfo=dt.UTC),
        "as_of": dt.date(2018, 12, 31),
        "target_date": dt.date(2019, 1, 2),
        "prediction": 2500.0,
        "lower": 2400.0,
        "upper": 2600.0,
        "naive": 2506.85,
        "model_name": "stocky-gspc",
        "model_version": 1,
        "arima_order": "(0, 1, 0)",
        "history_len": 10,
        "input_hash": "h",
        "request_id": "r",
        "source": "api",
    }
    row.update(numbers)
    return row


# reflecting a NOT VALID constraint, alembic's comparison passes PostgreSQL's flag on oddly
@pytest.mark.filterwarnings("ignore:Can't validate argument 'dialect_options'")
def test_finite_checks_keep_legacy_rows_and_refuse_new_ones(engine, forget_checks):
    from stocky.adapters.store.tables import predictions

    url = engine.url.render_as_string(hide_password=False)
    command.upgrade(alembic_config(url), "0001")
    legacy = [_prediction_row(lower=-math.inf, upper=math.inf), _prediction_row(actual=2510.0)]
    if engine.dialect.name == "postgresql":  # SQLite cannot hold NaN (it stores NULL)
        legacy.append(_prediction_row(sq_error=math.nan))
    with engine.begin() as conn:
        conn.execute(predictions.insert(), legacy)

    create_schema(engine)  # 0001 -> head

    assert current_revision(engine) == HEAD_REVISION
    assert diffs(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar() == len(
            legacy
        )
    refused: list[dict[str, float]] = [
        {"upper": math.inf},
        {"prediction": -math.inf},
        {"actual": math.inf},
        {"naive": math.nan},  # SQLite: NULL, refused by NOT NULL
    ]
    if engine.dialect.name == "postgresql":  # SQLite turns NaN into NULL, which a label may be
        refused.append({"naive_error": math.nan})
    for bad in refused:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(predictions.insert(), _prediction_row(**bad))
    with engine.begin() as conn:  # the largest finite numbers are fine
        conn.execute(predictions.insert(), _prediction_row(upper=1.7976931348623157e308))


def test_0005_keeps_the_newest_of_duplicate_drift_checks_and_refuses_new_ones(
    engine, forget_checks
):
    from stocky.adapters.store.tables import drift_checks

    url = engine.url.render_as_string(hide_password=False)
    command.upgrade(alembic_config(url), "0004")
    row = {
        "checked_at": dt.datetime(2024, 7, 3, 22, 0, tzinfo=dt.UTC),
        "metric": "rmse",
        "window": 14,
        "threshold_multiplier": 1.5,
        "consecutive_days": 3,
        "baseline_source": "holdout",
        "breach_streak": 0,
        "drifted": False,
        "decision": "ok",
        "report": "{}",
    }
    day, other = dt.date(2024, 7, 3), dt.date(2024, 7, 5)
    keys = [("A", day), ("A", day), ("A", day), ("A", other), ("B", day)]
    with engine.begin() as conn:
        for i, (ticker, as_of) in enumerate(keys):  # a rerun stored the session three times
            conn.execute(
                drift_checks.insert().values(ticker=ticker, as_of=as_of, **{**row, "window": i})
            )
    command.upgrade(alembic_config(url), "0005")
    with engine.connect() as conn:
        kept = conn.execute(
            sa.select(drift_checks.c.ticker, drift_checks.c.as_of, drift_checks.c.window).order_by(
                drift_checks.c.id
            )
        ).all()
    assert [tuple(k) for k in kept] == [("A", day, 2), ("A", other, 3), ("B", day, 4)]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(drift_checks.insert().values(ticker="B", as_of=day, **row))
    command.upgrade(alembic_config(url), "head")
    assert diffs(engine) == []


def test_0006_adds_the_model_family_columns_and_old_rows_keep_null(engine, forget_checks):
    """Rows logged before model families keep NULL family columns (readers show "arima")."""
    url = engine.url.render_as_string(hide_password=False)
    command.upgrade(alembic_config(url), "0005")
    cols = {c["name"] for c in sa.inspect(engine).get_columns("predictions")}
    assert "model_type" not in cols and "model_label" not in cols
    command.upgrade(alembic_config(url), "head")
    cols = {c["name"] for c in sa.inspect(engine).get_columns("predictions")}
    assert {"model_type", "model_label"} <= cols
    assert diffs(engine) == []
    command.downgrade(alembic_config(url), "0005")
    cols = {c["name"] for c in sa.inspect(engine).get_columns("predictions")}
    assert "model_type" not in cols
