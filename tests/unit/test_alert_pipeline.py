"""Pipeline helpers of the alerts: the cooldown window in sessions and late-label checks."""

from __future__ import annotations

import datetime as dt

import pytest

from stocky.core.sessions import TradingCalendar
from stocky.errors import BadInput
from stocky.pipelines.alerts import check_labels_late, cooldown_start, send_probe


@pytest.fixture(scope="module")
def calendar() -> TradingCalendar:
    return TradingCalendar("XNYS")


class FakeCloses:
    def __init__(self, last: dict[str, dt.date | None]) -> None:
        self.last = last

    def last_date(self, ticker: str) -> dt.date | None:
        return self.last.get(ticker)


def test_cooldown_window_counts_sessions_not_days(calendar):
    # 2024-07-08 (Mon) back 3 sessions: 07-08, 07-05, 07-03 (07-04 is a holiday)
    assert cooldown_start(calendar, dt.date(2024, 7, 8), 3) == dt.date(2024, 7, 3)
    assert cooldown_start(calendar, dt.date(2024, 7, 8), 1) == dt.date(2024, 7, 8)
    assert cooldown_start(calendar, dt.date(2024, 7, 8), 0) is None
    with pytest.raises(BadInput, match="cooldown_sessions=-1"):
        cooldown_start(calendar, dt.date(2024, 7, 8), -1)


def test_labels_late_after_the_grace_only_for_missing_closes(calendar):
    # 2024-07-03 closed early (13:00 New York = 17:00 UTC); 07-04 is a holiday.
    prices = FakeCloses({"^GSPC": dt.date(2024, 7, 3), "MSFT": dt.date(2024, 7, 2), "NEW": None})
    now = dt.datetime(2024, 7, 3, 23, 30, tzinfo=dt.UTC)  # 6.5 h after the early close
    late = check_labels_late(
        prices=prices, calendar=calendar, tickers=["^GSPC", "MSFT", "NEW"], now=now, grace_hours=6
    )
    assert [(a.ticker, a.session) for a in late] == [
        ("MSFT", dt.date(2024, 7, 3)),
        ("NEW", dt.date(2024, 7, 3)),
    ]
    assert late[0].data["hours_late"] == pytest.approx(6.5)
    assert "latest stored close is 2024-07-02" in late[0].message

    before = check_labels_late(
        prices=prices,
        calendar=calendar,
        tickers=["MSFT"],
        now=now - dt.timedelta(hours=1),  # 5.5 h after the close: 07-02 is the one due
        grace_hours=6,
    )
    assert before == []


def test_probe_reports_each_target():
    from stocky.errors import DeliveryError

    class Target:
        def __init__(self, name: str, fail: bool) -> None:
            self.target_id, self.label, self.fail, self.sent = name, name, fail, []

        def send(self, envelope, *, now):
            if self.fail:
                raise DeliveryError(f"{self.label} is down")
            self.sent.append(envelope)

    good, bad = Target("good", False), Target("bad", True)
    now = dt.datetime(2024, 7, 3, 22, 0, tzinfo=dt.UTC)
    results = send_probe(notifiers=[good, bad], now=now)
    assert [(r.label, r.error) for r in results] == [("good", None), ("bad", "bad is down")]
    assert good.sent[0].alert.kind == "test" and "test alert" in good.sent[0].body
