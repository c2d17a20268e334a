"""`stocky data list` and `stocky data pull` against the bundled prices and a temp SQLite DB."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from stocky.cli.main import app


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_list_shows_bundled_tickers_and_ranges(cli_env, runner):
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    gspc = next(line for line in lines if "^GSPC" in line)
    assert "1999-01-04" in gspc
    assert "2018-12-31" in gspc
    assert "5031" in gspc
    msft = next(line for line in lines if "MSFT" in line)
    assert "1986-03-13" in msft
    assert "database" not in result.stdout
    assert (cli_env / "stocky.db").is_file()


def test_pull_adds_rows_once_and_list_shows_them(cli_env, runner):
    first = runner.invoke(app, ["data", "pull", "--ticker", "^GSPC"])
    assert first.exit_code == 0, first.output
    assert "^GSPC: 5031 rows added from bundled (1999-01-04 .. 2018-12-31)" in first.stdout
    again = runner.invoke(app, ["data", "pull", "-t", "^gspc"])
    assert again.exit_code == 0, again.output
    assert "^GSPC: 0 rows added, stored through 2018-12-31" in again.stdout
    listed = runner.invoke(app, ["data", "list"])
    stored = [line for line in listed.stdout.splitlines() if "database" in line]
    assert len(stored) == 1
    assert "^GSPC" in stored[0]
    assert "5031" in stored[0]


def test_pull_defaults_to_the_default_ticker(cli_env, runner, monkeypatch):
    monkeypatch.setenv("STOCKY_DEFAULT_TICKER", "^ixic")
    result = runner.invoke(app, ["data", "pull", "--end", "1999-01-31"])
    assert result.exit_code == 0, result.output
    assert "^IXIC: 19 rows added from bundled (1999-01-04 .. 1999-01-29)" in result.stdout


def test_pull_several_tickers_with_an_end(cli_env, runner):
    from pmdarima.datasets import load_msft

    expected = int((load_msft()["Date"] <= "2000-01-01").sum())
    result = runner.invoke(
        app, ["data", "pull", "--ticker", "MSFT", "--ticker", "^GSPC", "--end", "2000-01-01"]
    )
    assert result.exit_code == 0, result.output
    assert f"MSFT: {expected} rows added" in result.stdout
    assert "^GSPC: 252 rows added from bundled (1999-01-04 .. 1999-12-31)" in result.stdout


def test_pull_all_takes_every_bundled_ticker(cli_env, runner):
    result = runner.invoke(app, ["data", "pull", "--all", "--end", "1999-01-05"])
    assert result.exit_code == 0, result.output
    assert "^GSPC: 2 rows added" in result.stdout
    assert "^IXIC: 2 rows added" in result.stdout
    assert "MSFT: " in result.stdout


def test_unknown_ticker_is_reported_with_the_data_unavailable_exit_code(cli_env, runner):
    result = runner.invoke(app, ["data", "pull", "--ticker", "NOPE", "--ticker", "^GSPC"])
    assert result.exit_code == 3
    assert "error: NOPE: 'NOPE' is not bundled" in result.stderr
    assert "^GSPC: 5031 rows added" in result.stdout  # the other ticker is still pulled


def test_csv_source_without_a_path_says_what_to_set(cli_env, runner, monkeypatch):
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "csv")
    result = runner.invoke(app, ["data", "pull"])
    assert result.exit_code == 2
    assert "set STOCKY_CSV_PATH" in result.stderr


def test_bad_end_date_is_a_usage_error(cli_env, runner):
    result = runner.invoke(app, ["data", "pull", "--end", "31/12/2000"])
    assert result.exit_code == 2
    assert "31/12/2000" in result.output


def test_help_texts_live_on_the_options(runner):
    result = runner.invoke(app, ["data", "pull", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.replace("│", " ").split())  # undo rich's wrapping
    assert "repeat for several" in text
    assert "Last session to pull (inclusive), YYYY-MM-DD" in text
