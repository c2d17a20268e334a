"""Walk-forward scores on day one, the fleet summary, and the pages' words (SYNTHETIC rows)."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest

from stocky.core.drift import DriftRule
from stocky.core.fleet import ChampionInfo, TickerFacts, classify
from stocky.core.fleet_summary import CheckOutcome, skill_histogram, state_history
from stocky.core.trained_scores import walk_forward_scores
from stocky.errors import BadInput
from stocky.report.html import OverviewQuery, render_overview
from stocky.report.words import (
    basis_label,
    detector_text,
    model_verdict,
    plural,
    version_arrow,
)

DUE = dt.date(2024, 7, 10)
NOW = dt.datetime(2024, 7, 11, 3, tzinfo=dt.UTC)
TAGS = {
    "walk_forward_rmse": "1.9",
    "naive_rmse": "2",
    "skill": "0.05",
    "walk_forward_coverage": "0.94",
    "walk_forward_sessions": "252",
    "direction_accuracy": "0.52",
}


def champion(**tags: str) -> ChampionInfo:
    return ChampionInfo(4, "ARIMA(0,1,1)", walk_forward_scores(TAGS | tags, {"dm_pvalue": 0.21}))


def test_walk_forward_scores_parse_tags_and_read_the_dm_pvalue_from_the_spec():
    w = walk_forward_scores(TAGS | {"walk_forward_crps": "nan"}, {"dm_pvalue": 0.21})
    assert w is not None
    assert (w.rmse, w.naive_rmse, w.skill, w.coverage, w.sessions) == (1.9, 2.0, 0.05, 0.94, 252)
    assert w.dm_pvalue == 0.21 and w.crps is None  # non-finite counts as missing
    assert walk_forward_scores({"dm_pvalue": "0.21"}) is None  # nothing to compare with naive
    older = walk_forward_scores({"walk_forward_rmse": "1", "naive_rmse": "1", "skill": "0"})
    assert older is not None and older.sessions is None


def test_a_ticker_without_live_labels_shows_its_walk_forward_scores_labelled():
    facts = TickerFacts("NEW", checked_as_of=None, last_price=DUE)
    row = classify(facts, champion=champion(), due=DUE, prices_behind=0)
    assert (row.basis, row.basis_sessions) == ("walk_forward", 252)
    assert (row.skill, row.rmse, row.naive_rmse, row.coverage) == (0.05, 1.9, 2.0, 0.94)
    assert row.dm_pvalue == 0.21 and row.walk_forward_skill == 0.05
    assert row.to_dict()["basis"] == "walk_forward"


def test_live_labels_win_over_walk_forward_and_keep_it_beside():
    facts = TickerFacts("OLD", sessions=21, mse=0.81, naive_mse=1.0, coverage=0.9, last_price=DUE)
    row = classify(facts, champion=champion(), due=DUE, prices_behind=0)
    assert (row.basis, row.basis_sessions) == ("live", 21)
    assert row.skill == pytest.approx(0.1) and row.coverage == 0.9
    assert row.dm_pvalue is None and row.walk_forward_skill == 0.05
    bare = classify(TickerFacts("X"), champion=None, due=DUE, prices_behind=0)
    assert (bare.basis, bare.skill) == (None, None)


def _rows(skills: list[float | None], basis: str = "walk_forward") -> list:
    out = []
    for i, skill in enumerate(skills):
        tags = TAGS | {"skill": str(skill)} if skill is not None else {"dm_pvalue": "1"}
        info = ChampionInfo(1, None, walk_forward_scores(tags))
        facts = TickerFacts(f"T{i:03d}", last_price=DUE)
        if basis == "live" and skill is not None:
            facts = TickerFacts(f"T{i:03d}", sessions=5, mse=(1 - skill) ** 2, naive_mse=1.0)
        out.append(classify(facts, champion=info, due=DUE, prices_behind=0))
    return out


def test_the_histogram_counts_every_skill_once_with_zero_on_an_edge():
    skills = [-0.031, -0.004, -0.001, 0.0, 0.002, 0.004, 0.009, 0.012, 0.3, None]
    h = skill_histogram(_rows(skills))
    kept = [s for s in skills if s is not None]
    assert h.tickers == len(kept) == sum(b.count for b in h.bins)
    assert h.beat_naive == 5 and h.median == pytest.approx(statistics.median(kept))
    assert any(b.low == pytest.approx(0.0) for b in h.bins)  # 0 is an edge
    assert len(h.bins) <= 24
    # every value in its bin, the outliers (0.3) in the open end bin
    for s in kept:
        hits = [b for b in h.bins if b.low - 1e-12 <= s < b.high - 1e-12]
        assert len(hits) == 1 or (s > h.bins[-1].high and h.bins[-1].open_high)
    assert h.bins[-1].open_high and h.bins[-1].count >= 1
    assert (h.live, h.walk_forward) == (0, len(kept))


def test_the_histogram_of_nothing_is_empty():
    h = skill_histogram(_rows([None, None]))
    assert (h.bins, h.tickers, h.median) == ((), 0, None)


def test_state_history_counts_each_ticker_once_per_session_by_its_newest_check():
    d1, d2 = dt.date(2024, 7, 9), dt.date(2024, 7, 10)
    checks = [
        CheckOutcome("A", d1, "no_drift", False, None, None),
        CheckOutcome("B", d1, "no_drift", False, True, None),
        CheckOutcome("C", d1, "insufficient_data", False, None, None),
        CheckOutcome("A", d2, "drift", True, None, None),
        CheckOutcome("A", d2, "no_drift", False, None, None),  # a duplicate row: newest wins
        CheckOutcome("B", d2, "no_drift", False, None, True),
    ]
    history = state_history(checks, sessions=5)
    assert [h.session for h in history] == [d1, d2]
    assert history[0].counts == {"degraded": 0, "volatility": 1, "unchecked": 1, "ok": 1}
    assert history[1].counts == {"degraded": 1, "volatility": 0, "unchecked": 0, "ok": 1}
    assert [h.session for h in state_history(checks, sessions=1)] == [d2]


@pytest.mark.parametrize(
    ("degraded", "skill", "p", "words"),
    [
        (False, -0.083, 0.21, "not significantly worse than naive (skill -8.3%, p = 0.21)"),
        (False, 0.012, 0.4, "no worse than naive (skill +1.2%, p = 0.4)"),
        (True, -0.2, 0.001, "degraded vs naive (skill -20.0%, p = 0.001)"),
        (False, None, None, "not degraded (no skill measured yet)"),
        (None, -0.1, 0.5, "-"),
    ],
)
def test_the_verdict_agrees_with_the_skill(degraded, skill, p, words):
    assert model_verdict(degraded, skill, p).startswith(words)


def test_arrows_plurals_and_windows_read_cleanly():
    assert version_arrow(None, 1) == "new -> v1" and version_arrow(2, 3) == "v2 -> v3"
    assert plural(1, "ticker") == "1 ticker" and plural(1000, "ticker") == "1,000 tickers"
    assert basis_label("walk_forward", 252, 21) == (
        "walk-forward, 252 test sessions (no live labels yet)"
    )
    assert basis_label("live", 1, 21) == "live, last 1 labeled session"
    rule = DriftRule()
    assert "the assessment" in detector_text("assessment", rule)
    assert detector_text("rule", rule).startswith("Drift detector in charge: the rolling-error")


def test_the_overview_renders_the_view_from_its_query_and_refuses_a_bad_one():
    rows = _rows([-0.02, 0.01, 0.03])
    html = render_overview(
        rows,
        generated_at=NOW,
        window=21,
        href=lambda t: f"/t/{t}",
        query=OverviewQuery(q="t00", sort="skill", descending=True),
    )
    order = [t for t in ("T000", "T001", "T002") if f'data-ticker="{t}"' in html]
    assert order == ["T000", "T001", "T002"]
    positions = sorted((html.index(f'<tr data-ticker="{t}"'), t) for t in order)
    assert [t for _, t in positions] == ["T002", "T001", "T000"]  # skill, descending
    assert 'aria-sort="descending"' in html and "3 tickers" in html
    assert "walk-forward, 252 test sessions" in html
    one = render_overview(rows[:1], generated_at=NOW, window=21, href=lambda t: None)
    assert "1 ticker." in one
    with pytest.raises(BadInput, match="state 'nope' is unknown: use one of degraded"):
        OverviewQuery(states=("nope",))
    with pytest.raises(BadInput, match="sort 'colour' is not a column"):
        OverviewQuery(sort="colour")
