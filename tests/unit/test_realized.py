"""core.realized: tolerant realized metrics, checked against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stocky.core.drift import rolling_skill
from stocky.core.metrics import score
from stocky.core.realized import DM_MIN_ROWS, Realized, realized
from stocky.errors import BadInput

ACTUAL = [10.0, 12.0, 11.0, 13.0]
PRED = [11.0, 11.0, 11.0, 12.0]  # errors -1, 1, 0, 1
NAIVE = [9.0, 10.0, 12.0, 11.0]  # naive errors 1, 2, -1, 2
LOWER = [9.0, 11.5, 10.0, 13.5]
UPPER = [11.0, 12.5, 10.5, 14.0]  # inside, inside, outside, outside


def _all_finite_or_none(r: Realized) -> bool:
    return all(v is None or math.isfinite(v) for v in r.to_dict().values())


def test_matches_a_hand_computation():
    r = realized(ACTUAL, PRED, NAIVE, lower=LOWER, upper=UPPER)
    assert r.n == 4
    assert r.rmse == pytest.approx(math.sqrt(3 / 4))
    assert r.mae == pytest.approx(3 / 4)
    assert r.mape == pytest.approx(100 * (1 / 10 + 1 / 12 + 0 + 1 / 13) / 4)
    assert r.naive_rmse == pytest.approx(math.sqrt(10 / 4))
    assert r.naive_mae == pytest.approx(6 / 4)
    assert r.skill == pytest.approx(1 - math.sqrt(3 / 10))
    assert r.coverage == pytest.approx(0.5)
    assert r.dm_pvalue is not None and 0.0 < r.dm_pvalue <= 1.0


def test_agrees_with_the_strict_score_where_both_apply():
    rng = np.random.default_rng(3)
    a = 100 + np.cumsum(rng.normal(size=50))
    p, nv = a + rng.normal(size=50), np.r_[a[0], a[:-1]]
    r, s = realized(a, p, nv, lower=p - 1, upper=p + 1), score(a, p, nv, lower=p - 1, upper=p + 1)
    for field in ("rmse", "mae", "mape", "naive_rmse", "naive_mae", "skill", "coverage"):
        assert getattr(r, field) == pytest.approx(getattr(s, field), rel=1e-12), field
    assert r.dm_pvalue == pytest.approx(s.dm_pvalue, rel=1e-12)


def test_zero_naive_error_gives_no_skill_instead_of_raising():
    r = realized([5.0, 5.0, 5.0], [4.0, 5.0, 6.0], [5.0, 5.0, 5.0])
    assert r.naive_rmse == 0.0 and r.skill is None
    assert r.rmse == pytest.approx(math.sqrt(2 / 3))
    assert r.dm_pvalue is not None and 0.0 < r.dm_pvalue < 1.0
    assert _all_finite_or_none(r)


def test_missing_naive_and_bounds_leave_their_metrics_none():
    r = realized(ACTUAL, PRED)
    assert (r.naive_rmse, r.naive_mae, r.skill, r.dm_pvalue, r.coverage) == (None,) * 5
    assert r.rmse == pytest.approx(math.sqrt(3 / 4))
    one_bound = realized(ACTUAL, PRED, NAIVE, lower=LOWER)
    assert one_bound.coverage is None and one_bound.skill is not None


def test_empty_input_gives_n_zero_and_nothing_else():
    assert realized([], [], [], lower=[], upper=[]) == Realized(n=0)


def test_rows_without_actual_or_forecast_are_left_out():
    r = realized([*ACTUAL, math.nan, 20.0], [*PRED, 1.0, math.inf], [*NAIVE, 1.0, 1.0])
    assert r == realized(ACTUAL, PRED, NAIVE)
    assert r.n == 4


def test_a_missing_naive_or_bound_on_a_used_row_gives_none_not_a_partial_figure():
    naive = [*NAIVE[:3], math.nan]
    r = realized(ACTUAL, PRED, naive, lower=LOWER, upper=[*UPPER[:3], math.nan])
    assert r.naive_rmse is None and r.skill is None and r.coverage is None
    assert r.rmse == pytest.approx(math.sqrt(3 / 4))


def test_a_zero_actual_drops_mape_only():
    r = realized([0.0, 2.0], [1.0, 2.0], [1.0, 1.0])
    assert r.mape is None and r.rmse == pytest.approx(math.sqrt(1 / 2))


def test_overflow_gives_none_never_infinity():
    r = realized([1e200, -1e200], [-1e200, 1e200], [1e200, -1e200])
    assert r.rmse is None and r.skill is None and r.naive_rmse == 0.0
    assert _all_finite_or_none(r)


def test_dm_needs_a_few_rows():
    assert realized(ACTUAL[: DM_MIN_ROWS - 1], PRED[: DM_MIN_ROWS - 1], NAIVE[:2]).dm_pvalue is None
    assert realized(ACTUAL[:DM_MIN_ROWS], PRED[:DM_MIN_ROWS], NAIVE[:DM_MIN_ROWS]).dm_pvalue


def test_inverted_bounds_cover_nothing():
    assert realized([1.0], [1.0], lower=[2.0], upper=[0.0]).coverage == 0.0


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"prediction": [1.0]}, "prediction has 1 values but actual has 4"),
        ({"prediction": PRED, "naive": [[1.0]] * 4}, "naive has shape (4, 1)"),
        ({"prediction": ["a"] * 4}, "prediction is not numeric"),
    ],
)
def test_caller_bugs_still_raise(kwargs, needle):
    with pytest.raises(BadInput, match=needle.replace("(", r"\(").replace(")", r"\)")):
        realized(ACTUAL, **kwargs)


def test_rolling_skill_by_hand():
    s = rolling_skill(ACTUAL, PRED, NAIVE, window=2)
    assert np.isnan(s[0])
    expected = [1 - math.sqrt(2 / 2) / math.sqrt(5 / 2), 1 - math.sqrt(1 / 2) / math.sqrt(5 / 2)]
    assert s[1:3] == pytest.approx(expected)
    flat = rolling_skill([1.0, 1.0, 2.0], [1.5, 1.0, 2.0], [1.0, 1.0, 1.0], window=2)
    assert np.isnan(flat[1]) and flat[2] == 1.0  # no model error
    with pytest.raises(BadInput, match="window=0"):
        rolling_skill(ACTUAL, PRED, NAIVE, window=0)
