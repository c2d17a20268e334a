"""One bad row of a long price file in the daily loop: only its ticker fails, and the hostile
cell reaches `alerts.message` as quoted data, never as markup."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd

from fakes import FakeAuditLog, FakePriceStore, fake_stack
from stocky.adapters.prices import LongFileSource
from stocky.config import Settings
from stocky.pipelines.daily import DailyDeps
from stocky.pipelines.daily_fleet import run_daily_fleet

HOSTILE = "<img src=x onerror=alert(1)>"
AS_OF = dt.date(2024, 2, 12)
NOW = dt.datetime(2024, 2, 13, 2, 0, tzinfo=dt.UTC)


def _file(tmp_path: Path) -> Path:
    dates = pd.bdate_range("2024-01-02", periods=30)  # SYNTHETIC prices on weekdays
    frames = []
    for t, name in enumerate(("AAA", "BBB", "CCC")):
        close = [f"{10 * (t + 1) + i / 10:.2f}" for i in range(len(dates))]
        if name == "BBB":
            close[7] = HOSTILE
        frames.append(
            pd.DataFrame({"Ticker": name, "Date": dates.strftime("%Y-%m-%d"), "Close": close})
        )
    path = tmp_path / "fleet.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def test_a_hostile_cell_fails_its_ticker_alone_and_is_quoted_in_the_alert(tmp_path):
    from stocky.cli.daily import _failed_alerts

    stack = fake_stack(Settings(home=tmp_path, reload_interval_seconds=0), {})
    stack = dataclasses.replace(stack, _source=LongFileSource(_file(tmp_path)))
    deps = DailyDeps.from_stack(stack)
    day = run_daily_fleet(deps, tickers=["AAA", "BBB", "CCC"], as_of=AS_OF, now=NOW)

    assert list(day.failed) == ["BBB"]
    prices = stack.prices
    assert isinstance(prices, FakePriceStore)
    assert sorted(prices.last_dates()) == ["AAA", "CCC"]
    assert len(prices.load("AAA")) == 30

    error = str(day.failed["BBB"])
    _failed_alerts(deps, [("BBB", "daily", error)], session=AS_OF, now=NOW)
    audit = stack.audit
    assert isinstance(audit, FakeAuditLog)
    (alert,) = [q.alert for q in audit.alerts]
    assert alert.kind == "daily_failed" and alert.ticker == "BBB"
    assert "data row 38 (line 39 counting the header)" in alert.message
    assert r"Close '\x3cimg src=x onerror=alert(1)\x3e', which is not a number" in alert.message
    for text in (alert.message, alert.title, str(dataclasses.astuple(alert))):
        assert "<" not in text and ">" not in text
