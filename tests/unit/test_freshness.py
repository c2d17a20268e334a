"""Freshness relative to the source: where static sources end, the due session a ticker is
measured against, and the one labels-late definition of the pages and the alerts.

Prices and pending forecasts here are SYNTHETIC unless a test loads the bundled data; the
calendar is the real XNYS one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakes import FakePredictionLog, price_frame
from stocky.adapters.ports import PredictionRecord
from stocky.adapters.prices import (
    AutoSource,
    BundledSource,
    CsvSource,
    FolderSource,
    LongFileSource,
    SyntheticSource,
    YahooSource,
    source_end,
)
from stocky.core.fleet import ChampionInfo, TickerFacts
from stocky.core.freshness import labels_late, prices_stale, ticker_due
from stocky.core.sessions import TradingCalendar
from stocky.errors import DataUnavailable
from stocky.pipelines.alerts import check_labels_late
from stocky.pipelines.fleet_view import fleet_overview, source_ends

END = dt.date(2018, 12, 31)


@pytest.fixture(scope="module")
def calendar() -> TradingCalendar:
    return TradingCalendar("XNYS", start="2018-01-01")


def test_ticker_due_is_the_earlier_of_the_calendar_and_the_source_end():
    today = dt.date(2025, 6, 2)
    assert ticker_due(today, END) == END  # a static source that has ended
    assert ticker_due(today, None) == today  # a live source: the calendar
    assert ticker_due(dt.date(2018, 12, 20), END) == dt.date(2018, 12, 20)  # not ended yet
    assert ticker_due(None, END) is None
    assert prices_stale(END, END) is False and prices_stale(dt.date(2018, 12, 28), END) is True
    assert prices_stale(None, END) is True and prices_stale(None, None) is False
    # a forecast for the session after the end never gets its close: never late
    assert labels_late(dt.date(2019, 1, 2), END) is False
    assert labels_late(END, END) is True and labels_late(None, END) is False


def test_bundled_sources_end_where_their_data_ends():
    import arch.data.sp500
    import pmdarima.datasets

    source = BundledSource()
    # the reference: the packages' own last rows
    assert source.ends("^GSPC") == arch.data.sp500.load().index[-1].date() == END
    msft = pmdarima.datasets.load_msft()
    assert source.ends("msft") == pd.Timestamp(msft["Date"].iloc[-1]).date()
    assert source_end(source, "^GSPC") == END
    with pytest.raises(DataUnavailable, match="not bundled"):
        source.ends("NOPE")


def test_synthetic_and_file_sources_end_at_their_last_row(tmp_path: Path):
    synthetic = SyntheticSource(3, sessions=40, end=dt.date(2024, 12, 29))  # a Sunday
    assert synthetic.ends("SYN0002") == dt.date(2024, 12, 27)  # the session on or before it
    assert synthetic.ends("SYN0002") == synthetic.fetch("SYN0002")["date"].iloc[-1].date()
    with pytest.raises(DataUnavailable):
        synthetic.ends("SYN0009")

    file = tmp_path / "one.csv"
    file.write_text("Date,Close\n2024-07-01,10\n2024-07-02,11\n")
    csv = CsvSource(file, "AAA")
    assert csv.ends("AAA") == dt.date(2024, 7, 2)
    file.write_text("Date,Close\n2024-07-01,10\n2024-07-02,11\n2024-07-03,12\n")
    assert csv.ends("AAA") == dt.date(2024, 7, 3)  # the file grew: read again

    long = tmp_path / "long.csv"
    long.write_text("Ticker,Date,Close\nAAA,2024-07-01,1\nBBB,2024-07-01,2\nAAA,2024-07-05,3\n")
    source = LongFileSource(long)
    assert (source.ends("AAA"), source.ends("bbb")) == (dt.date(2024, 7, 5), dt.date(2024, 7, 1))
    with pytest.raises(DataUnavailable, match="CCC"):
        source.ends("CCC")

    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "XYZ.csv").write_text("Date,Close\n2024-07-08,5\n2024-07-09,6\n")
    assert FolderSource(folder).ends("XYZ") == dt.date(2024, 7, 9)


def test_live_sources_have_no_end():
    assert YahooSource().ends("^GSPC") is None
    assert source_end(YahooSource(), "^GSPC") is None

    class NoEnds:  # a source without the optional method: live
        name = "plain"

    assert source_end(NoEnds(), "X") is None  # type: ignore[arg-type]
    offline = AutoSource(YahooSource(), BundledSource(), probe=lambda: False)
    online = AutoSource(YahooSource(), BundledSource(), probe=lambda: True)
    assert offline.ends("^GSPC") == END and online.ends("^GSPC") is None


class Facts:
    def __init__(self, facts: list[TickerFacts]) -> None:
        self.items = facts

    def facts(self, *, window: int, lookback_days: int, extra: list[str]) -> list[TickerFacts]:
        return self.items


def test_a_static_source_that_ended_is_not_stale_and_its_labels_not_late(calendar):
    # after `make run` on the bundled data: prices to 2018-12-31, a forecast for 2019-01-02
    facts = [
        TickerFacts("^GSPC", last_price=END, oldest_pending=dt.date(2019, 1, 2), pending=1),
        TickerFacts("LIVE", last_price=END, oldest_pending=dt.date(2019, 1, 2), pending=1),
        TickerFacts("GAP", last_price=dt.date(2018, 12, 27), oldest_pending=dt.date(2018, 12, 28)),
    ]
    ends = {"^GSPC": END, "GAP": END}
    rows = fleet_overview(
        store=Facts(facts),
        champions={t.ticker: ChampionInfo(1) for t in facts},
        calendar=TradingCalendar("XNYS"),
        now=dt.datetime(2025, 6, 3, 12, tzinfo=dt.UTC),
        grace=dt.timedelta(hours=6),
        source_end=ends.get,
    )
    by = {r.ticker: r for r in rows}
    assert by["^GSPC"].problems == ("unchecked",) and by["^GSPC"].prices_behind == 0
    assert by["^GSPC"].source_end == END and not by["^GSPC"].labels_late
    # measured against the calendar, a live source is years behind
    assert by["LIVE"].problems[:2] == ("stale_prices", "labels_late")
    assert by["LIVE"].prices_behind is not None and by["LIVE"].prices_behind > 1000
    # a static source's ticker short of the source's own end is stale by the sessions missed
    assert by["GAP"].prices_behind == 2 and by["GAP"].labels_late  # 12-28 and 12-31


def _pending(log: FakePredictionLog, ticker: str, as_of: dt.date, target: dt.date) -> None:
    log.insert(
        PredictionRecord(
            ticker=ticker,
            created_at=dt.datetime.combine(as_of, dt.time(22), tzinfo=dt.UTC),
            as_of=as_of,
            target_date=target,
            prediction=100.0,
            lower=99.0,
            upper=101.0,
            naive=100.0,
            model_name="m",
            model_version=1,
            arima_order="(0, 1, 0)",
            history_len=60,
            input_hash="h",
            source="daily",
            request_id=f"r-{ticker}-{target}",
        )
    )


class Closes:
    def __init__(self, last: dict[str, dt.date]) -> None:
        self.last = last

    def last_date(self, ticker: str) -> dt.date | None:
        return self.last.get(ticker)


def test_labels_late_alerts_use_the_pages_definition(calendar):
    log = FakePredictionLog()
    _pending(log, "ENDED", END, dt.date(2019, 1, 2))  # after the source's end
    _pending(log, "LATE", dt.date(2018, 12, 27), dt.date(2018, 12, 28))
    _pending(log, "LATE", dt.date(2018, 12, 28), END)
    _pending(log, "FINE", END, dt.date(2019, 1, 2))  # targets a session not yet due
    closes = Closes({"ENDED": END, "LATE": dt.date(2018, 12, 27), "FINE": END})
    now = dt.datetime(2019, 1, 2, 12, tzinfo=dt.UTC)  # 12-31 closed 19 h ago: it is due
    ends = {"ENDED": END}
    alerts = check_labels_late(
        prices=closes,
        calendar=calendar,
        tickers=["ENDED", "LATE", "FINE", "NONE"],
        now=now,
        grace_hours=6,
        pending=log,
        source_end=ends.get,
    )
    assert [(a.ticker, a.session) for a in alerts] == [("LATE", END)]
    assert alerts[0].data["waiting"] == 2
    assert alerts[0].data["oldest_pending"] == "2018-12-28"
    assert "2 forecasts unlabeled" in alerts[0].title
    assert "latest stored close is 2018-12-27" in alerts[0].message
    # the fleet page says the same of the same facts
    facts = [
        TickerFacts("ENDED", last_price=END, oldest_pending=dt.date(2019, 1, 2)),
        TickerFacts("LATE", last_price=dt.date(2018, 12, 27), oldest_pending=dt.date(2018, 12, 28)),
        TickerFacts("FINE", last_price=END, oldest_pending=dt.date(2019, 1, 2)),
    ]
    rows = fleet_overview(
        store=Facts(facts),
        champions={},
        calendar=calendar,
        now=now,
        grace=dt.timedelta(hours=6),
        source_end=ends.get,
    )
    assert sorted(r.ticker for r in rows if r.labels_late) == ["LATE"]


def test_source_ends_asks_once_per_ticker_and_survives_a_source_that_cannot_say():
    asked: list[str] = []

    class Counting:
        name = "counting"

        def ends(self, ticker: str) -> dt.date:
            asked.append(ticker)
            if ticker == "BAD":
                raise DataUnavailable("no BAD here")
            return END

    source = Counting()
    ends = source_ends(lambda: source)  # type: ignore[arg-type, return-value]
    assert [ends("A"), ends("A"), ends("BAD"), ends("BAD")] == [END, END, None, None]
    assert asked == ["A", "BAD"]


def test_price_frame_helper_is_on_sessions():  # guards the helper the tests above rely on
    frame = price_frame(np.arange(1.0, 4.0), end=END)
    assert frame["date"].dt.date.tolist() == [dt.date(2018, 12, 27), dt.date(2018, 12, 28), END]
