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
    result = runner.invoke(app, ["data", "pull", "--all", "--end", "2012-05-21"])
    assert result.exit_code == 0, result.output
    assert "^GSPC: 3368 rows added" in result.stdout
    assert "MSFT: " in result.stdout
    assert "AAPL: " in result.stdout
    assert "FB: 2 rows added from bundled (2012-05-18 .. 2012-05-21)" in result.stdout


def test_pull_all_isolates_a_ticker_without_data_in_range(cli_env, runner):
    result = runner.invoke(app, ["data", "pull", "--all", "--end", "1999-01-05"])
    assert result.exit_code == 3
    assert "error: FB: bundled prices for FB cover 2012-05-18" in result.stderr
    assert "^GSPC: 2 rows added" in result.stdout  # the others are still stored


POISONED = "Date,Close\n2024-01-02,10\n2024-01-03,1e300\n2024-01-04,11\n"
FIXED = "Date,Close\n2024-01-02,10\n2024-01-03,10.5\n2024-01-04,11\n"


def test_a_poisoned_csv_is_refused_naming_the_row_and_nothing_is_stored(
    cli_env, runner, monkeypatch, tmp_path
):
    path = tmp_path / "prices.csv"
    path.write_text(POISONED)
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "csv")
    monkeypatch.setenv("STOCKY_CSV_PATH", str(path))
    result = runner.invoke(app, ["data", "pull", "--ticker", "ABC"])
    assert result.exit_code == 2
    assert "data row 2 (line 3 counting the header) has close = 1e+300" in result.stderr
    assert "above the plausible ceiling" in result.stderr
    listed = runner.invoke(app, ["data", "list"])
    assert "database" not in listed.stdout  # no row of the failed load was kept
    path.write_text(FIXED)
    fixed = runner.invoke(app, ["data", "pull", "--ticker", "ABC"])
    assert fixed.exit_code == 0, fixed.output
    assert "ABC: 3 rows added from csv (2024-01-02 .. 2024-01-04)" in fixed.stdout


def test_replace_repairs_a_store_loaded_before_prices_were_checked(
    cli_env, runner, monkeypatch, tmp_path
):
    import datetime as dt

    import pandas as pd

    from stocky.adapters.store import PriceRepository, create_schema, make_engine

    engine = make_engine(f"sqlite:///{cli_env / 'stocky.db'}")
    create_schema(engine)
    dates = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"])
    legacy = pd.DataFrame(
        {"date": dates, "open": 10.0, "high": 10.0, "low": 10.0, "volume": 0.0}
        | {"close": [10.0, 1e300, 11.0]}
    )[["date", "open", "high", "low", "close", "volume"]]
    now = dt.datetime(2024, 1, 5, tzinfo=dt.UTC)
    PriceRepository(engine).upsert("ABC", legacy, source="csv", fetched_at=now)  # the old way
    path = tmp_path / "prices.csv"
    path.write_text(FIXED)
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "csv")
    monkeypatch.setenv("STOCKY_CSV_PATH", str(path))
    plain = runner.invoke(app, ["data", "pull", "--ticker", "ABC"])
    assert "ABC: 0 rows added" in plain.stdout  # an incremental pull cannot see the fix
    result = runner.invoke(app, ["data", "pull", "--ticker", "ABC", "--replace"])
    assert result.exit_code == 0, result.output
    assert "ABC: stored prices replaced by 3 rows from csv" in result.stdout
    assert PriceRepository(engine).load("ABC")["close"].tolist() == [10.0, 10.5, 11.0]
    engine.dispose()


def test_a_long_file_lists_and_pulls_every_ticker(cli_env, runner, monkeypatch, tmp_path):
    path = tmp_path / "universe.csv"
    path.write_text("Symbol,Date,Close\nAAA,2024-01-02,10\nBBB,2024-01-02,20\nAAA,2024-01-03,11\n")
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "csv")
    monkeypatch.setenv("STOCKY_CSV_PATH", str(path))
    listed = runner.invoke(app, ["data", "list"])
    assert listed.exit_code == 0, listed.output
    rows = [line for line in listed.stdout.splitlines() if "AAA" in line or "BBB" in line]
    assert len(rows) == 2
    pulled = runner.invoke(app, ["data", "pull", "--all"])
    assert pulled.exit_code == 0, pulled.output
    assert "AAA: 2 rows added from csv" in pulled.stdout
    assert "BBB: 1 rows added from csv" in pulled.stdout


def test_a_hostile_ticker_in_a_file_is_refused_naming_its_row(
    cli_env, runner, monkeypatch, tmp_path
):
    path = tmp_path / "universe.csv"
    path.write_text(
        "Ticker,Date,Close\nAAA,2024-01-02,10\n<img src=x onerror=alert(1)>,2024-01-02,5\n"
    )
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "csv")
    monkeypatch.setenv("STOCKY_CSV_PATH", str(path))
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 2
    assert "AAA" in result.stdout  # the rest of the file is listed
    assert r"data row 2 (line 3 counting the header) has ticker '\x3cimg src=x" in result.stderr
    assert "is not a symbol" in result.stderr and "<img" not in result.stderr


def test_synthetic_universe_lists_and_pulls_in_bulk(cli_env, runner, monkeypatch):
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "synthetic")
    monkeypatch.setenv("STOCKY_SYNTHETIC_TICKERS", "30")
    monkeypatch.setenv("STOCKY_SYNTHETIC_SESSIONS", "100")
    listed = runner.invoke(app, ["data", "list"])
    assert listed.exit_code == 0, listed.output
    syn = [line for line in listed.stdout.splitlines() if "SYN00" in line]
    assert len(syn) == 30
    assert "synthetic" in syn[0]
    assert "2024-12-31" in syn[0]
    pulled = runner.invoke(app, ["data", "pull", "--all"])
    assert pulled.exit_code == 0, pulled.output
    assert "30 tickers: 3000 rows added for 30, 0 already up to date; 0 failed" in pulled.stdout


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


HOSTILE = "<img src=x onerror=alert(1)>"


def _long_file(tmp_path, rows_per_ticker: int = 30):
    """AAA, BBB, CCC, DDD on 30 weekdays; BBB has Close=abc on one row, CCC a hostile Close,
    and one row's ticker is A/B."""
    import pandas as pd

    dates = pd.bdate_range("2024-01-02", periods=rows_per_ticker)
    lines = ["Ticker,Date,Close"]
    for t, name in enumerate(("AAA", "BBB", "CCC", "DDD")):
        for i, day in enumerate(dates):
            close = f"{10 * (t + 1) + i / 10:.2f}"
            if (name, i) == ("BBB", 20):
                close = "abc"
            if (name, i) == ("CCC", 5):
                close = HOSTILE
            lines.append(f"{name},{day:%Y-%m-%d},{close}")
    lines.append("A/B,2024-01-02,5")
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_pull_all_stores_every_ticker_but_those_with_a_bad_row(
    cli_env, runner, monkeypatch, tmp_path
):
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "csv")
    monkeypatch.setenv("STOCKY_CSV_PATH", str(_long_file(tmp_path)))
    result = runner.invoke(app, ["data", "pull", "--all", "--end", "2024-02-12"])
    assert result.exit_code == 2, result.output
    assert "AAA: 30 rows added from csv (2024-01-02 .. 2024-02-12)" in result.stdout
    assert "DDD: 30 rows added" in result.stdout
    err = result.stderr
    # each failure names its row (BBB's 21st row is data row 51: the rows run AAA then BBB)
    assert (
        "error: BBB:" in err and "data row 51 (line 52 counting the header) has Close 'abc'" in err
    )
    assert (
        r"data row 66 (line 67 counting the header) has Close '\x3cimg src=x onerror=alert(1)\x3e'"
        in err
    )
    assert "data row 121 (line 122 counting the header) has ticker 'A/B'" in err
    assert "<img" not in err and "<img" not in result.stdout
    listed = runner.invoke(app, ["data", "list"])
    stored = sorted(line.split()[1] for line in listed.stdout.splitlines() if "database" in line)
    assert stored == ["AAA", "DDD"]
