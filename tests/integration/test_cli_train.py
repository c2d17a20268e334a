"""`stocky train` and `stocky predictions export` through the real CLI (CliRunner)."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from typer.testing import CliRunner

from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.predictions import PredictionRecord, PredictionRepository
from stocky.cli.main import app
from stocky.pipelines.export import SEED_COLUMNS
from support import make_settings, registry_for

pytestmark = pytest.mark.integration

runner = CliRunner()
FAST = ["--order", "0,1,1", "--test-size", "60", "--train-window", "500"]


def test_train_registers_champion_and_prints_naive(cli_env):
    result = runner.invoke(app, ["train", "--ticker", "msft", *FAST])
    assert result.exit_code == 0, result.output
    assert "naive" in result.output and "champion" in result.output
    assert "MSFT (bundled prices): order (0, 1, 1) given by the caller" in result.output
    info = registry_for(make_settings(cli_env)).alias_version("MSFT", "champion")
    assert info is not None and info.version == 1

    again = runner.invoke(app, ["train", "--ticker", "MSFT", "--if-missing", *FAST])
    assert again.exit_code == 0
    assert "a champion exists, skipped" in again.output
    assert [v.version for v in registry_for(make_settings(cli_env)).versions("MSFT")] == [1]


def test_split_date_sets_the_test_period(cli_env):
    result = runner.invoke(
        app, ["train", "-t", "MSFT", "--order", "0,1,0", "--split-date", "2017-06-30"]
    )
    assert result.exit_code == 0, result.output
    registry = registry_for(make_settings(cli_env))
    run = registry.client.get_run(registry.alias_version("MSFT", "champion").run_id)  # type: ignore[union-attr]
    assert run.data.params["test_first"] == "2017-07-03"
    assert run.data.params["test_last"] == "2017-11-10"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--order", "9,1,0"], "ARIMA p=9 is out of range"),
        (["--order", "two"], "is not p,d,q"),
        (["--split-date", "2017-99-01"], "is not YYYY-MM-DD"),
        (["--split-date", "2017-11-09"], "only 1 sessions after --split-date"),
        (["--split-date", "2017-01-03", "--test-size", "30"], "use one of them"),
        (["--ticker", "NOPE"], "NOPE"),
        (["--jobs", "0"], "--jobs 0: give 1 or more worker processes"),
        (["--executor", "spark"], "--executor 'spark': use local or dask"),
    ],
)
def test_train_bad_options_exit_2_or_3_with_a_fix(cli_env, args, message):
    base = ["train"] if "--ticker" in args else ["train", "-t", "MSFT"]
    result = runner.invoke(app, [*base, *args])
    assert result.exit_code in (2, 3), result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_predictions_export_writes_seed_columns_first(cli_env, tmp_path):
    settings = make_settings(cli_env)
    settings.ensure_home()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    repo = PredictionRepository(engine)
    for i in range(3):
        repo.insert(
            PredictionRecord(
                ticker="^GSPC",
                created_at=dt.datetime(2024, 7, 3, 21, 0, i, tzinfo=dt.UTC),
                as_of=dt.date(2024, 7, 3),
                target_date=dt.date(2024, 7, 5),
                prediction=100.0 + i,
                lower=95.0,
                upper=105.0,
                naive=100.0,
                model_name="stocky-gspc",
                model_version=1,
                arima_order="(0, 1, 0)",
                history_len=10,
                input_hash="abc",
                request_id=f"r{i}",
            )
        )
    out = tmp_path / "predictions.csv"
    result = runner.invoke(app, ["predictions", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 3 predictions" in result.output
    rows = list(csv.reader(out.open()))
    assert tuple(rows[0][: len(SEED_COLUMNS)]) == SEED_COLUMNS
    assert rows[1][0] == "2024-07-03T21:00:00+00:00"
    assert rows[1][1] == "100.0" and rows[1][2] == "" and rows[1][5] == "arima"
    assert len(rows) == 4

    missing = runner.invoke(app, ["predictions", "export", "--out", str(tmp_path / "no" / "x.csv")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output


def test_bad_setting_is_a_clear_error(cli_env, monkeypatch):
    import subprocess
    import sys

    env = {"STOCKY_HOME": str(cli_env), "STOCKY_PORT": "not-a-port", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "stocky", "version"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "STOCKY_PORT" in proc.stderr and "Traceback" not in proc.stderr
