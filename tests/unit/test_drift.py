"""The drift rule on constructed error series, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stocky.core.drift import DriftRule, evaluate_drift, per_session, rolling_metric
from stocky.errors import BadInput


def labeled(
    errors: list[float], *, start: str = "2024-01-02", naive_errors: list[float] | None = None
) -> pd.DataFrame:
    """One prediction per business day; actual 100, prediction = actual - error."""
    dates = pd.bdate_range(start, periods=len(errors))
    actual = np.full(len(errors), 100.0)
    nerr = np.array(naive_errors if naive_errors is not None else [1.0] * len(errors))
    return pd.DataFrame(
        {
            "target_date": dates,
            "prediction": actual - np.array(errors),
            "naive": actual - nerr,
            "actual": actual,
        }
    )


RULE = DriftRule(window=3, threshold_multiplier=2.0, consecutive_days=2)


def test_rolling_rmse_by_hand():
    values = rolling_metric(
        np.full(4, 100.0),
        np.array([99.0, 98.0, 97.0, 100.0]),
        np.full(4, 100.0),
        window=3,
        metric="rmse",
    )
    assert np.isnan(values[:2]).all()
    assert values[2] == pytest.approx(np.sqrt((1 + 4 + 9) / 3))
    assert values[3] == pytest.approx(np.sqrt((4 + 9 + 0) / 3))


def test_exactly_at_threshold_is_not_a_breach():
    # baseline 1, threshold 2: rolling RMSE of errors all equal to 2 is exactly 2
    report = evaluate_drift(labeled([2.0] * 6), rule=RULE, baseline=1.0, baseline_source="test")
    assert report.threshold == 2.0
    assert all(p.value == pytest.approx(2.0) for p in report.series)
    assert report.breach_streak == 0
    assert report.decision == "no_drift" and not report.drifted


def test_consecutive_breaches_make_drift():
    errs = [1.0, 1.0, 1.0, 1.0, 5.0, 5.0, 5.0]
    report = evaluate_drift(labeled(errs), rule=RULE, baseline=1.0, baseline_source="test")
    # rolling values: [1, 1, sqrt(9), sqrt(17), 5] -> breaches at the last three (> 2)
    assert [p.breach for p in report.series] == [False, False, True, True, True]
    assert report.breach_streak == 3
    assert report.drifted and report.decision == "drift"
    assert report.latest_value == pytest.approx(5.0)
    assert report.naive_latest_value == pytest.approx(1.0)


def test_one_breach_is_not_enough():
    report = evaluate_drift(
        labeled([1.0, 1.0, 1.0, 1.0, 1.0, 9.0]), rule=RULE, baseline=1.0, baseline_source="t"
    )
    assert report.breach_streak == 1 and not report.drifted


def test_streak_must_end_at_latest_session():
    errs = [1.0, 9.0, 9.0, 9.0, 1.0, 1.0, 1.0]
    report = evaluate_drift(labeled(errs), rule=RULE, baseline=1.0, baseline_source="t")
    assert report.series[-1].breach is False
    assert not report.drifted


def test_too_few_sessions_gives_no_decision():
    report = evaluate_drift(labeled([9.0, 9.0]), rule=RULE, baseline=1.0, baseline_source="t")
    assert report.decision == "insufficient_data" and not report.drifted
    assert report.series == ()
    assert "fewer than the window of 3" in report.reason


def test_duplicates_per_session_keep_the_last_logged():
    frame = labeled([1.0, 1.0, 1.0])
    dup = frame.iloc[[1]].copy()
    dup["prediction"] = 50.0  # a later, terrible prediction for the same session
    both = pd.concat([frame, dup], ignore_index=True)
    both["id"] = range(len(both))
    sessions = per_session(both)
    assert len(sessions) == 3
    assert (
        sessions.loc[sessions["target_date"] == frame["target_date"][1], "prediction"].item()
        == 50.0
    )


def test_gaps_count_labeled_sessions_not_calendar_days():
    frame = labeled([1.0, 1.0, 5.0, 5.0])
    frame.loc[2:, "target_date"] = frame.loc[2:, "target_date"] + pd.Timedelta(days=30)
    report = evaluate_drift(frame, rule=RULE, baseline=1.0, baseline_source="t")
    assert len(report.series) == 2  # windows over the 4 labeled sessions, the gap ignored


def test_cooldown_holds_back_the_alarm():
    errs = [5.0] * 6
    rule = DriftRule(window=3, threshold_multiplier=2.0, consecutive_days=2, cooldown_sessions=5)
    held = evaluate_drift(
        labeled(errs), rule=rule, baseline=1.0, baseline_source="t", sessions_since_retrain=2
    )
    assert held.decision == "cooldown" and not held.drifted
    fired = evaluate_drift(
        labeled(errs), rule=rule, baseline=1.0, baseline_source="t", sessions_since_retrain=5
    )
    assert fired.drifted


def test_return_rmse_is_scale_free():
    small = labeled([1.0] * 5)
    big = small.copy()
    big[["prediction", "naive", "actual"]] *= 10
    rule = DriftRule(window=3, threshold_multiplier=1.5, consecutive_days=1, metric="return_rmse")
    a = evaluate_drift(small, rule=rule, baseline=0.01, baseline_source="t")
    b = evaluate_drift(big, rule=rule, baseline=0.01, baseline_source="t")
    assert a.latest_value == pytest.approx(b.latest_value)
    # by hand: error 1 on a last price of 99 (naive error 1) is a return error of 1/99
    assert a.latest_value == pytest.approx(1.0 / 99.0)


def test_no_baseline_reports_values_without_deciding():
    report = evaluate_drift(labeled([1.0] * 4), rule=RULE, baseline=None, baseline_source="none")
    assert report.decision == "no_baseline" and report.latest_value == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"window": 1}, "at least 2"),
        ({"threshold_multiplier": 0}, "> 0"),
        ({"consecutive_days": 0}, "1 or more"),
        ({"metric": "xyz"}, "unknown"),
    ],
)
def test_rule_validation(kwargs, message):
    with pytest.raises(BadInput, match=message):
        DriftRule(**kwargs)


def test_report_round_trips_to_dict():
    report = evaluate_drift(
        labeled([1.0, 1.0, 5.0, 5.0, 5.0]), rule=RULE, baseline=1.0, baseline_source="t"
    )
    data = report.to_dict()
    assert data["decision"] == "drift"
    assert data["series"][-1]["breach"] is True
    assert data["rule"]["window"] == 3


def test_a_stored_report_keeps_the_last_year_of_its_series():
    from stocky.core.drift import SERIES_KEPT

    errors = [1.0] * (SERIES_KEPT + 100) + [5.0, 5.0, 5.0]
    report = evaluate_drift(labeled(errors), rule=RULE, baseline=1.0, baseline_source="t")
    data = report.to_dict()
    assert len(report.series) == len(errors) - RULE.window + 1  # the check saw everything
    assert len(data["series"]) == SERIES_KEPT  # what is stored is bounded
    assert data["series"][-1] == {
        "session": report.series[-1].session,
        "value": report.series[-1].value,
        "naive_value": report.series[-1].naive_value,
        "breach": True,
    }
    assert data["series"][0]["session"] == report.series[-SERIES_KEPT].session
