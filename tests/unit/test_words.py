"""Words that match the numbers: plurals, version changes, the model against naive, the
training totals. Errors here are SYNTHETIC, drawn from a seeded generator."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.stats
from rich.console import Console

from stocky.cli.train import _report, totals
from stocky.core.assessment import AssessmentConfig, assess_drift, versus_naive
from stocky.core.metrics import Scores
from stocky.core.words import count, version_change
from stocky.pipelines.fleet import FleetResult, TrainFailure, TrainSummary


def test_plurals_and_version_arrows():
    assert [count(n, "ticker") for n in (0, 1, 2)] == ["0 tickers", "1 ticker", "2 tickers"]
    assert (
        count(1, "policy", "policies") == "1 policy"
        and count(3, "policy", "policies") == "3 policies"
    )
    assert version_change(None, 1) == "new -> v1"
    assert version_change(2, 3) == "v2 -> v3" and version_change(2, None) == "v2 -> none"


def _errors(n: int, worse: float, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Actuals, a model off by `worse` times naive's noise plus its own, and naive."""
    rng = np.random.default_rng(seed)
    actual = 100 + np.cumsum(rng.normal(0, 1, n + 1))[1:]
    naive = actual - rng.normal(0, 1, n)
    prediction = naive + rng.normal(0, worse, n)
    return actual, prediction, naive


def test_versus_naive_says_significance_with_skill_and_p():
    actual, prediction, naive = _errors(40, 0.4, seed=1)
    words = versus_naive(actual, prediction, naive)
    # the reference: skill by hand, p as the one-sample t-test of the squared-loss
    # differential (Diebold-Mariano at h = 1 with the HLN correction is exactly that)
    model_err, naive_err = actual - prediction, actual - naive
    skill = 1 - np.sqrt(np.mean(model_err**2)) / np.sqrt(np.mean(naive_err**2))
    p = scipy.stats.ttest_1samp(model_err**2 - naive_err**2, 0.0).pvalue
    assert skill < 0 and p > 0.05  # the case of the issue: worse, not significantly
    assert words == f"not significantly worse than naive (skill {skill:+.1%}, p = {p:.2f})"
    clearly = versus_naive(*_errors(200, 3.0))
    assert clearly.startswith("significantly worse than naive (skill -")
    same = versus_naive(actual, naive, naive)
    assert same == "no worse than naive (skill +0.0%, p = 1.00)"


def test_the_assessment_no_longer_says_no_worse_of_a_worse_model():
    actual, prediction, naive = _errors(40, 0.4, seed=1)
    half = np.abs(actual - naive).max() * 3  # wide intervals: no coverage alarm
    result = assess_drift(
        actual, prediction, naive, prediction - half, prediction + half,
        config=AssessmentConfig(min_sessions=20),
    )  # fmt: skip
    assert not result.model_degraded
    (reason,) = result.reasons
    assert "no worse" not in reason
    assert reason.startswith(
        "no change: errors within the intervals, model not significantly worse"
    )


def _summary(i: int, skill: float, p: float, family: str) -> TrainSummary:
    scores = Scores(
        n=60, mae=1.0, rmse=1 - skill, mape=1.0, mase=None, naive_mae=1.0, naive_rmse=1.0,
        naive_mape=1.0, skill=skill, dm_stat=0.0, dm_pvalue=p, coverage=0.95,
    )  # fmt: skip
    return TrainSummary(
        f"T{i:03d}", "synthetic", f"run{i}", 1, "champion", family, family.upper(), scores,
        "chosen", (), 0.1,
    )  # fmt: skip


def _printed(result: FleetResult, **kw: object) -> str:
    out = io.StringIO()
    _report(Console(file=out, width=200), result, seconds=1.0, workers=2, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def test_training_many_tickers_prints_totals_and_the_table_only_when_asked():
    skills = [0.02, -0.01, 0.0, 0.03, -0.05] * 5  # 25 tickers
    trained = tuple(
        _summary(i, s, 0.01 if s == 0.03 else 0.5, "naive" if s == 0 else "arima")
        for i, s in enumerate(skills)
    )
    result = FleetResult(trained, (TrainFailure("BAD", "too short", 2),))
    text = _printed(result, table=False)
    assert (
        "walk-forward vs naive over 25 tickers: 10 beat naive (5 significantly, DM p < 0.05)"
        in text
    )
    assert "15 do not" in text
    assert f"median {float(np.median(skills)):+.2%}" in text and "min -5.00%" in text
    assert "models chosen: arima 20, naive 5" in text
    assert "T000" not in text  # no per-ticker table or lines
    assert "--table prints the per-ticker table" in text
    assert "1 ticker failed" in text and "(2 workers)" in text
    with_table = _printed(result, table=True)
    assert "T024" in with_table and "walk-forward test vs the naive random walk" in with_table


@pytest.mark.parametrize("n", [1, 20])
def test_a_small_fleet_keeps_its_table(n):
    trained = tuple(_summary(i, 0.01, 0.5, "arima") for i in range(n))
    text = _printed(FleetResult(trained, ()), table=n <= 20)
    assert f"T{n - 1:03d}" in text and f"over {count(n, 'ticker')}" in text
    assert totals(trained)[-1] == f"models chosen: arima {n}"


def test_a_first_promotion_reads_new_not_v_dash():
    import datetime as dt

    from stocky.core.alert_messages import retrain_promoted

    common = {
        "ticker": "^GSPC", "session": dt.date(2018, 12, 28), "to_version": 1,
        "champion_rmse": None, "challenger_rmse": 1.0, "naive_rmse": 1.1, "reason": "better.",
    }  # fmt: skip
    first = retrain_promoted(from_version=None, **common)  # type: ignore[arg-type]
    assert "^GSPC: champion new -> v1 as of 2018-12-28" in first.message
    assert "v-" not in first.message
    later = retrain_promoted(from_version=1, **{**common, "to_version": 2})  # type: ignore[arg-type]
    assert "champion v1 -> v2 as of" in later.message
