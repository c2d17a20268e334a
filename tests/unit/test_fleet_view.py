"""The fleet overview offline: classification, ordering, paging, the pipeline on a fake store.

Facts here are SYNTHETIC; the calendar is the real XNYS one (2024-07-04 is a holiday).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

import pytest

from stocky.core.fleet import (
    COLUMNS,
    MAX_PAGE,
    ChampionInfo,
    TickerFacts,
    classify,
    problems_first,
    select_rows,
    state_counts,
)
from stocky.core.sessions import TradingCalendar
from stocky.errors import BadInput
from stocky.pipelines.fleet_view import due_session, fleet_overview, lookback_days
from stocky.report.html import OVERVIEW_COLUMNS, render_overview

DUE = dt.date(2024, 7, 10)
HOSTILE = "<img src=x onerror=alert(1)>"


def fresh(ticker: str, **values: object) -> TickerFacts:
    """A ticker with nothing wrong: checked, labeled, prices up to DUE."""
    base: dict[str, object] = {
        "checked_as_of": DUE,
        "decision": "no_drift",
        "breach_streak": 0,
        "sessions": 21,
        "mse": 0.81,
        "naive_mse": 1.0,
        "coverage": 0.95,
        "last_price": DUE,
    }
    base.update(values)
    return TickerFacts(ticker=ticker, **base)  # type: ignore[arg-type]


def row(facts: TickerFacts, champion: ChampionInfo | None = None):
    return classify(facts, champion=champion, due=DUE, prices_behind=0)


def test_skill_rmse_and_coverage_come_from_the_window_sums():
    r = row(fresh("AAA"), ChampionInfo(3, "(0, 1, 1)"))
    assert r.rmse == pytest.approx(0.9) and r.naive_rmse == pytest.approx(1.0)
    assert r.skill == pytest.approx(0.1)  # 1 - 0.9 / 1.0
    assert (r.state, r.problems) == ("ok", ())
    assert (r.model_version, r.model_order) == (3, "(0, 1, 1)")


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({"decision": "drift", "drifted": True}, ("degraded",)),
        ({"model_degraded": True}, ("degraded",)),
        ({"last_price": DUE - dt.timedelta(days=1)}, ("stale_prices",)),
        ({"last_price": None}, ("stale_prices",)),
        ({"oldest_pending": DUE}, ("labels_late",)),
        ({"oldest_pending": DUE + dt.timedelta(days=1)}, ()),  # not due yet
        ({"volatility_changed": True}, ("volatility",)),
        ({"decision": None}, ("unchecked",)),
        ({"decision": "insufficient_data"}, ("unchecked",)),
        (
            {"decision": "drift", "last_price": None, "oldest_pending": DUE},
            ("degraded", "stale_prices", "labels_late"),
        ),
    ],
)
def test_problems_in_urgency_order(values, problems):
    r = row(fresh("AAA", **values))
    assert r.problems == problems
    assert r.state == (problems[0] if problems else "ok")


def test_no_due_session_calls_nothing_stale_or_late():
    facts = fresh("AAA", last_price=None, oldest_pending=dt.date(2000, 1, 3))
    r = classify(facts, champion=None, due=None, prices_behind=None)
    assert r.problems == () and not r.labels_late


def test_numbers_that_are_not_finite_become_none():
    r = row(fresh("AAA", mse=math.inf, naive_mse=0.0, coverage=math.nan))
    assert (r.rmse, r.naive_rmse, r.skill, r.coverage) == (None, 0.0, None, None)
    text = json.dumps(r.to_dict(), allow_nan=False)  # strict JSON: no NaN, no Infinity
    assert '"checked_as_of": "2024-07-10"' in text and '"problems": []' in text


def test_problems_first_then_worst_skill_then_ticker():
    rows = [
        row(fresh("OK-GOOD", mse=0.25)),
        row(fresh("OK-BAD", mse=1.44)),
        row(fresh("OK-NONE", mse=None)),
        row(fresh("STALE", last_price=None)),
        row(fresh("DRIFT-B", decision="drift", mse=0.5)),
        row(fresh("DRIFT-A", decision="drift", mse=0.5)),
        row(fresh("LATE", oldest_pending=DUE)),
        row(fresh("NEW", decision=None)),
    ]
    order = [r.ticker for r in problems_first(rows)]
    assert order == ["DRIFT-A", "DRIFT-B", "STALE", "LATE", "NEW", "OK-BAD", "OK-GOOD", "OK-NONE"]


@pytest.fixture
def fleet():
    rows = [
        row(fresh(f"T{i:03d}", mse=(0.5 + i / 100) ** 2, decision="drift" if i % 4 == 0 else None))
        for i in range(30)
    ]
    rows.append(row(fresh("NOSKILL", mse=None)))
    return problems_first(rows)


def test_pages_cover_every_row_once_and_say_where_the_next_starts(fleet):
    seen, offset = [], 0
    while offset is not None:
        page = select_rows(fleet, limit=7, offset=offset)
        assert page.total == len(fleet) and len(page.rows) <= 7
        seen += [r.ticker for r in page.rows]
        offset = page.next_offset
    assert seen == [r.ticker for r in fleet]


def test_filter_by_problem_and_by_ok(fleet):
    degraded = select_rows(fleet, states=["degraded"], limit=MAX_PAGE)
    assert degraded.total == 8 and {r.drift for r in degraded.rows} == {"drift"}
    ok = select_rows(fleet, states=["ok"], limit=MAX_PAGE)
    assert [r.ticker for r in ok.rows] == ["NOSKILL"]
    both = select_rows(fleet, states=["ok", "degraded"], limit=MAX_PAGE)
    assert both.total == 9


def test_sort_by_a_column_keeps_missing_values_last(fleet):
    up = select_rows(fleet, sort="skill", limit=MAX_PAGE).rows
    down = select_rows(fleet, sort="skill", descending=True, limit=MAX_PAGE).rows
    skills = [r.skill for r in up if r.skill is not None]
    assert skills == sorted(skills) and up[-1].ticker == "NOSKILL"
    assert [r.skill for r in down if r.skill is not None] == skills[::-1]
    assert down[-1].ticker == "NOSKILL"
    by_name = select_rows(fleet, sort="ticker", descending=True, limit=3).rows
    assert [r.ticker for r in by_name] == ["T029", "T028", "T027"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"states": ["broken"]}, "state 'broken' is unknown: use one of degraded"),
        ({"sort": "colour"}, "sort 'colour' is not a column: use one of ticker"),
        ({"limit": MAX_PAGE + 1}, f"limit {MAX_PAGE + 1} is out of range: use 1 to {MAX_PAGE}"),
        ({"offset": -1}, "offset -1 is negative"),
    ],
)
def test_bad_page_requests_say_what_to_send(fleet, kwargs, message):
    with pytest.raises(BadInput, match=re.escape(message)):
        select_rows(fleet, **kwargs)


def test_every_column_but_problems_is_sortable(fleet):
    assert "problems" not in COLUMNS
    for column in COLUMNS:
        assert len(select_rows(fleet, sort=column, limit=MAX_PAGE).rows) == len(fleet)


class FakeFleetStore:
    """Returns fixed facts and records what it was asked."""

    def __init__(self, facts: list[TickerFacts]) -> None:
        self.items = facts
        self.calls: list[dict[str, object]] = []

    def facts(self, *, window: int, lookback_days: int, extra: list[str]) -> list[TickerFacts]:
        self.calls.append({"window": window, "lookback_days": lookback_days, "extra": extra})
        known = {f.ticker for f in self.items}
        return self.items + [TickerFacts(ticker=t) for t in extra if t not in known]


def test_due_session_waits_for_the_grace_after_the_close():
    calendar = TradingCalendar("XNYS")
    grace = dt.timedelta(hours=6)
    # Wednesday 07-10 closes 20:00 UTC: due only from 02:00 UTC on Thursday
    assert due_session(calendar, dt.datetime(2024, 7, 11, 1, 0, tzinfo=dt.UTC), grace) == (
        dt.date(2024, 7, 9)
    )
    assert due_session(calendar, dt.datetime(2024, 7, 11, 3, 0, tzinfo=dt.UTC), grace) == DUE


def test_overview_counts_price_lag_in_sessions_and_lists_champions_without_data():
    store = FakeFleetStore(
        [
            fresh("FRESH"),
            fresh("HOLIDAY", last_price=dt.date(2024, 7, 3)),  # 07-04 closed: 07-05, 08, 09, 10
            fresh("NEVER", last_price=None),
        ]
    )
    rows = fleet_overview(
        store=store,
        champions={"FRESH": ChampionInfo(2, "(1, 1, 0)"), "TRAINED": ChampionInfo(1)},
        calendar=TradingCalendar("XNYS"),
        now=dt.datetime(2024, 7, 11, 3, 0, tzinfo=dt.UTC),
        grace=dt.timedelta(hours=6),
        window=21,
    )
    by = {r.ticker: r for r in rows}
    assert store.calls == [
        {"window": 21, "lookback_days": lookback_days(21), "extra": ["FRESH", "TRAINED"]}
    ]
    assert by["FRESH"].prices_behind == 0 and by["FRESH"].model_version == 2
    assert by["HOLIDAY"].prices_behind == 4 and by["HOLIDAY"].state == "stale_prices"
    assert by["NEVER"].prices_behind is None
    assert by["TRAINED"].problems == ("stale_prices", "unchecked")
    assert [r.ticker for r in rows] == ["HOLIDAY", "NEVER", "TRAINED", "FRESH"]


def test_window_out_of_range_is_refused():
    with pytest.raises(BadInput, match="window 0 is out of range: use 1 to 252"):
        fleet_overview(
            store=FakeFleetStore([]),
            champions={},
            calendar=TradingCalendar("XNYS"),
            now=dt.datetime(2024, 7, 11, tzinfo=dt.UTC),
            grace=dt.timedelta(0),
            window=0,
        )


def test_overview_page_escapes_links_each_row_and_loads_nothing_from_elsewhere():
    rows = problems_first(
        [row(fresh(HOSTILE, decision="drift")), row(fresh("AAA", volatility_changed=False))]
    )
    html = render_overview(
        rows,
        generated_at=dt.datetime(2024, 7, 11, 3, tzinfo=dt.UTC),
        window=21,
        href=lambda t: None if t == HOSTILE else f"/dashboard/{t}?x=1&y=2",
    )
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<a href="/dashboard/AAA?x=1&amp;y=2">AAA</a>' in html
    assert html.count("<tr data-ticker=") == 2
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    first = body.split("</tr>")[0]
    assert first.count("<td") == len(OVERVIEW_COLUMNS)  # one cell per sortable header
    assert 'data-state="degraded"' in first  # problems first
    assert "degraded: 1" in html and "ok: 1" in html
    assert "<script>" in html and not re.search(r"https?://|<script src|@import|url\(", html)
    assert ">no</td>" in html and ">-</td>" in html  # a recorded False vs nothing recorded


def test_state_counts_count_each_problem():
    rows = [row(fresh("A", decision="drift", last_price=None)), row(fresh("B"))]
    assert state_counts(rows) == {
        "degraded": 1,
        "stale_prices": 1,
        "labels_late": 0,
        "volatility": 0,
        "unchecked": 0,
        "ok": 1,
    }
