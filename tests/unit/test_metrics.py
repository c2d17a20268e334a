"""Forecast metrics against hand computations and independent references."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from stocky.core.metrics import (
    DieboldMariano,
    Scores,
    coverage,
    diebold_mariano,
    mae,
    mape,
    mase,
    naive_scale,
    rmse,
    score,
    skill,
)
from stocky.errors import BadInput

ACTUAL = [100.0, 102.0, 101.0, 105.0]
PREDICTED = [101.0, 101.0, 103.0, 104.0]  # errors: -1, 1, -2, 1


def textbook_dm(e1: np.ndarray, e2: np.ndarray, h: int, power: float) -> tuple[float, float]:
    """Diebold & Mariano (1995) with the HLN (1997) correction, written out as loops."""
    n = len(e1)
    d = [abs(e1[t]) ** power - abs(e2[t]) ** power for t in range(n)]
    dbar = sum(d) / n
    gamma = []
    for k in range(h):
        total = 0.0
        for t in range(k, n):
            total += (d[t] - dbar) * (d[t - k] - dbar)
        gamma.append(total / n)
    long_run = gamma[0] + 2 * sum(gamma[1:])
    dm = dbar / math.sqrt(long_run / n)
    hln = dm * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    return hln, 2 * stats.t.sf(abs(hln), n - 1)


# --------------------------------------------------------------------------- point errors


def test_mae_rmse_mape_by_hand() -> None:
    assert mae(ACTUAL, PREDICTED) == pytest.approx((1 + 1 + 2 + 1) / 4)
    assert rmse(ACTUAL, PREDICTED) == pytest.approx(math.sqrt((1 + 1 + 4 + 1) / 4))
    expected_mape = 100 * (1 / 100 + 1 / 102 + 2 / 101 + 1 / 105) / 4
    assert mape(ACTUAL, PREDICTED) == pytest.approx(expected_mape)


def test_perfect_forecast_scores_zero() -> None:
    assert mae(ACTUAL, ACTUAL) == 0.0
    assert rmse(ACTUAL, ACTUAL) == 0.0
    assert mape(ACTUAL, ACTUAL) == 0.0


def test_mape_uses_absolute_actual() -> None:
    # |(-2) - (-1)| / |-2| = 0.5 -> 50 %
    assert mape([-2.0], [-1.0]) == pytest.approx(50.0)


def test_mape_rejects_zero_actual() -> None:
    with pytest.raises(BadInput, match=r"actual\[1\] is 0"):
        mape([1.0, 0.0, 2.0], [1.0, 1.0, 1.0])


def test_returns_python_floats() -> None:
    assert type(mae(ACTUAL, PREDICTED)) is float
    assert type(rmse(np.array(ACTUAL), np.array(PREDICTED))) is float


# --------------------------------------------------------------------------- validation


def test_length_mismatch_names_both_lengths() -> None:
    with pytest.raises(BadInput, match=r"differ in length \(4 vs 3\).*equal length"):
        mae(ACTUAL, PREDICTED[:3])


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_rejected_with_position(bad: float) -> None:
    with pytest.raises(BadInput, match=r"predicted\[2\] is .*finite"):
        rmse(ACTUAL, [1.0, 2.0, bad, 4.0])


def test_empty_rejected() -> None:
    with pytest.raises(BadInput, match="actual is empty"):
        mae([], [])


def test_two_dimensional_rejected() -> None:
    with pytest.raises(BadInput, match=r"shape \(2, 2\)"):
        mae([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]])


def test_non_numeric_rejected() -> None:
    with pytest.raises(BadInput, match="not numeric"):
        mae(["a", "b"], [1.0, 2.0])


# --------------------------------------------------------------------------- MASE and skill


def test_naive_scale_by_hand() -> None:
    # |12-10| + |11-12| + |15-11| = 2 + 1 + 4 = 7 over 3 steps
    assert naive_scale([10.0, 12.0, 11.0, 15.0]) == pytest.approx(7 / 3)


def test_mase_by_hand() -> None:
    scale = naive_scale([10.0, 12.0, 11.0, 15.0])
    # errors 1, -2 -> MAE 1.5; 1.5 / (7/3) = 9/14
    assert mase([16.0, 14.0], [15.0, 16.0], scale=scale) == pytest.approx(9 / 14)


def test_mase_of_naive_on_training_series_is_one() -> None:
    y = np.array([10.0, 12.0, 11.0, 15.0, 13.0])
    assert mase(y[1:], y[:-1], scale=naive_scale(y)) == pytest.approx(1.0)


@pytest.mark.parametrize("scale", [0.0, -1.0, math.nan, math.inf])
def test_mase_rejects_bad_scale(scale: float) -> None:
    with pytest.raises(BadInput, match="scale="):
        mase([1.0], [1.0], scale=scale)


def test_naive_scale_rejects_short_and_constant_series() -> None:
    with pytest.raises(BadInput, match="at least 2"):
        naive_scale([1.0])
    with pytest.raises(BadInput, match="constant"):
        naive_scale([3.0, 3.0, 3.0])


def test_skill() -> None:
    assert skill(0.9, 1.0) == pytest.approx(0.1)
    assert skill(1.0, 1.0) == 0.0
    assert skill(1.2, 1.0) == pytest.approx(-0.2)
    assert skill(0.0, 2.0) == 1.0


def test_skill_rejects_zero_naive_rmse() -> None:
    with pytest.raises(BadInput, match="naive_rmse=0"):
        skill(1.0, 0.0)
    with pytest.raises(BadInput, match="model_rmse=-1"):
        skill(-1.0, 1.0)


# --------------------------------------------------------------------------- coverage


def test_coverage_counts_exact_bounds_as_inside() -> None:
    actual = [1.0, 2.0, 3.0, 4.0]
    lower = [1.0, 1.0, 3.5, 0.0]  # 1 on the lower bound; 3 below
    upper = [2.0, 2.0, 4.0, 3.9]  # 2 on the upper bound; 4 above
    assert coverage(actual, lower, upper) == pytest.approx(0.5)


def test_coverage_degenerate_interval_and_extremes() -> None:
    assert coverage([5.0], [5.0], [5.0]) == 1.0
    assert coverage([5.0, 6.0], [0.0, 0.0], [1.0, 1.0]) == 0.0
    assert coverage([5.0, 6.0], [0.0, 0.0], [10.0, 10.0]) == 1.0


def test_coverage_just_outside_a_bound_is_not_covered() -> None:
    assert coverage([np.nextafter(2.0, 3.0)], [1.0], [2.0]) == 0.0


def test_coverage_rejects_crossed_interval() -> None:
    with pytest.raises(BadInput, match=r"lower\[1\]=3.0 exceeds upper\[1\]=2.0"):
        coverage([1.0, 2.0], [0.0, 3.0], [2.0, 2.0])


# --------------------------------------------------------------------------- Diebold-Mariano


def test_dm_hand_example() -> None:
    e1 = [1.0, -2.0, 3.0, 0.0, 1.0]
    e2 = [2.0, 1.0, -1.0, 2.0, -2.0]
    # d = [-3, 3, 8, -4, -3], dbar = 0.2, sum of squared deviations = 106.8
    gamma0 = 106.8 / 5
    expected = 0.2 / math.sqrt(gamma0 / 5) * math.sqrt(4 / 5)
    result = diebold_mariano(e1, e2)
    assert isinstance(result, DieboldMariano)
    assert result.statistic == pytest.approx(expected, rel=1e-12)
    assert result.statistic == pytest.approx(0.0865478, abs=1e-6)
    assert result.pvalue == pytest.approx(2 * stats.t.sf(expected, 4), rel=1e-12)


def test_dm_h1_equals_one_sample_t_test() -> None:
    # With h = 1 the HLN factor sqrt((n-1)/n) turns the 1/n variance into the 1/(n-1) one,
    # so the corrected DM is exactly the one-sample t-test of d against 0.
    rng = np.random.default_rng(7)
    e1, e2 = rng.normal(size=60), rng.normal(scale=1.3, size=60)
    reference = stats.ttest_1samp(e1**2 - e2**2, 0.0)
    result = diebold_mariano(e1, e2)
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-10)
    assert result.pvalue == pytest.approx(reference.pvalue, rel=1e-10)


@pytest.mark.parametrize(("h", "power"), [(1, 2), (2, 2), (3, 1), (5, 2)])
def test_dm_matches_textbook_loops(h: int, power: float) -> None:
    rng = np.random.default_rng(42)
    e1 = rng.normal(size=40)
    e2 = 0.6 * e1 + rng.normal(scale=0.9, size=40)
    statistic, pvalue = textbook_dm(e1, e2, h, power)
    result = diebold_mariano(e1, e2, h=h, power=power)
    assert result.statistic == pytest.approx(statistic, rel=1e-10)
    assert result.pvalue == pytest.approx(pvalue, rel=1e-10)


def test_dm_sign_and_significance() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(size=200)
    better, worse = 0.5 * noise, 2.0 * noise + rng.normal(size=200)
    result = diebold_mariano(better, worse)
    assert result.statistic < 0
    assert result.pvalue < 1e-6
    swapped = diebold_mariano(worse, better)
    assert swapped.statistic == pytest.approx(-result.statistic)
    assert swapped.pvalue == pytest.approx(result.pvalue)


def test_dm_identical_forecasts_is_zero_and_one() -> None:
    errors = [0.5, -1.0, 2.0]
    assert diebold_mariano(errors, errors) == DieboldMariano(0.0, 1.0)
    # equal absolute errors of opposite sign are also identical losses
    assert diebold_mariano(errors, [-0.5, 1.0, -2.0]) == DieboldMariano(0.0, 1.0)


def test_dm_constant_nonzero_differential_is_infinite() -> None:
    result = diebold_mariano([1.0, -1.0, 1.0], [2.0, 2.0, -2.0])
    assert result.statistic == -math.inf
    assert result.pvalue == 0.0


def test_dm_negative_long_run_variance_falls_back_to_gamma0() -> None:
    # alternating differentials: lag-1 autocovariance ~ -gamma0, so g0 + 2 g1 < 0
    d = np.array([1.0, -1.0] * 10) + 0.1
    e1, e2 = np.sqrt(np.abs(d) + 5 + d), np.sqrt(np.abs(d) + 5)  # e1^2 - e2^2 = d
    n, h = len(d), 2
    centred = d - d.mean()
    gamma0 = centred @ centred / n
    gamma1 = centred[1:] @ centred[:-1] / n
    assert gamma0 + 2 * gamma1 < 0
    expected = d.mean() / math.sqrt(gamma0 / n) * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    assert diebold_mariano(e1, e2, h=h).statistic == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"h": 0}, "h=0"),
        ({"h": 1.5}, "h=1.5"),
        ({"h": 4}, "h=4 is not below"),
        ({"power": 0}, "power=0"),
    ],
)
def test_dm_rejects_bad_options(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        diebold_mariano([1.0, 2.0, 3.0, 4.0], [2.0, 1.0, 1.0, 1.0], **kwargs)  # type: ignore[arg-type]


def test_dm_needs_two_errors() -> None:
    with pytest.raises(BadInput, match="at least 2 errors"):
        diebold_mariano([1.0], [2.0])


# --------------------------------------------------------------------------- score


def test_score_bundles_every_metric() -> None:
    actual = [101.0, 103.0, 102.0, 104.0, 106.0]
    predicted = [100.5, 102.0, 103.5, 103.0, 105.0]
    naive = [100.0, 101.0, 103.0, 102.0, 104.0]
    lower = [99.0, 101.0, 103.0, 102.0, 104.0]
    upper = [102.0, 103.0, 105.0, 105.0, 106.0]
    s = score(actual, predicted, naive, lower=lower, upper=upper, scale=2.0)
    assert s.n == 5
    assert s.mae == pytest.approx(mae(actual, predicted))
    assert s.rmse == pytest.approx(rmse(actual, predicted))
    assert s.mape == pytest.approx(mape(actual, predicted))
    assert s.mase == pytest.approx(mae(actual, predicted) / 2.0)
    assert s.naive_mae == pytest.approx(mae(actual, naive))
    assert s.naive_rmse == pytest.approx(rmse(actual, naive))
    assert s.naive_mape == pytest.approx(mape(actual, naive))
    assert s.skill == pytest.approx(1 - s.rmse / s.naive_rmse)
    assert s.skill > 0  # the model's errors are smaller here
    dm = diebold_mariano(np.subtract(actual, predicted), np.subtract(actual, naive))
    assert (s.dm_stat, s.dm_pvalue) == pytest.approx(dm)
    # 101 in [99,102], 103 on upper 103, 102 below 103, 104 in [102,105], 106 on upper 106
    assert s.coverage == pytest.approx(4 / 5)


def test_score_optional_fields_are_none_and_dict_is_json_ready() -> None:
    s = score([10.0, 11.0, 12.0], [10.5, 11.0, 11.5], [9.0, 10.0, 11.0])
    assert s.mase is None
    assert s.coverage is None
    d = s.to_dict()
    assert list(d) == [
        "n",
        "mae",
        "rmse",
        "mape",
        "mase",
        "naive_mae",
        "naive_rmse",
        "naive_mape",
        "skill",
        "dm_stat",
        "dm_pvalue",
        "coverage",
        "interval_score",
        "naive_interval_score",
        "interval_skill",
        "pinball_lower",
        "pinball_upper",
        "naive_pinball_lower",
        "naive_pinball_upper",
        "crps",
        "naive_crps",
        "naive_coverage",
        "return_interval_score",
        "direction_accuracy",
        "direction_sessions",
        "direction_pvalue",
    ]
    assert s.interval_score is None and s.crps is None  # no interval given
    # every forecast and every close is above its last close: 3 hits in 3
    assert (s.direction_accuracy, s.direction_sessions) == (1.0, 3)
    assert json.loads(json.dumps(d)) == d


def test_scores_is_frozen() -> None:
    s = score([10.0, 11.0], [10.0, 12.0], [9.0, 10.0])
    assert isinstance(s, Scores)
    with pytest.raises(AttributeError):
        s.mae = 0.0  # type: ignore[misc]


def test_score_requires_both_interval_bounds() -> None:
    with pytest.raises(BadInput, match="upper is missing"):
        score([10.0, 11.0], [10.0, 12.0], [9.0, 10.0], lower=[9.0, 9.0])


def test_score_rejects_naive_of_other_length() -> None:
    with pytest.raises(BadInput, match=r"actual and naive differ in length \(2 vs 1\)"):
        score([10.0, 11.0], [10.0, 12.0], [9.0])


def test_score_rejects_exact_naive() -> None:
    with pytest.raises(BadInput, match="naive RMSE 0"):
        score([10.0, 11.0], [10.0, 12.0], [10.0, 11.0])
