"""The distribution scores: hand values, utilsforecast's losses and scipy as references."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from utilsforecast import losses

from stocky.core.metrics import score
from stocky.core.scores import (
    Z975,
    binomial_pvalue,
    crps_normal,
    direction,
    distribution_scores,
    expected_interval_score,
    interval_score,
    naive_interval,
    normal_cdf,
    pinball,
    sigma_of_interval,
)
from stocky.errors import BadInput


def _series(n: int = 80, seed: int = 3) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    actual = 100 + np.cumsum(rng.normal(size=n + 1))
    naive, actual = actual[:-1], actual[1:]
    prediction = naive + rng.normal(scale=0.3, size=n)
    half = 1.5 + rng.uniform(size=n)
    return actual, prediction, naive, prediction - half, prediction + half


def _frame(actual: np.ndarray, **columns: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": "x", "ds": np.arange(actual.size), "y": actual, **columns})


def test_interval_score_by_hand() -> None:
    # inside: the width; below: width + 40 x miss; above: width + 40 x miss
    got = interval_score([10.0, 7.0, 13.5], [9.0, 9.0, 9.0], [11.0, 11.0, 11.0])
    assert got.tolist() == pytest.approx([2.0, 2.0 + 40 * 2.0, 2.0 + 40 * 2.5])


def test_interval_score_matches_utilsforecast_winkler() -> None:
    actual, _, _, lower, upper = _series()
    frame = _frame(actual, **{"m-lo-95": lower, "m-hi-95": upper})
    expected = losses.winkler_score(frame, models=["m"], level=95)["m"].iloc[0]
    assert float(np.mean(interval_score(actual, lower, upper))) == pytest.approx(
        expected, rel=1e-12
    )


def test_pinball_by_hand_and_against_utilsforecast() -> None:
    assert pinball([10.0, 10.0], [12.0, 8.0], 0.025).tolist() == pytest.approx([1.95, 0.05])
    actual, _, _, lower, upper = _series()
    for q, bound in ((0.025, lower), (0.975, upper)):
        expected = losses.quantile_loss(_frame(actual, m=bound), models={"m": "m"}, q=q)
        assert float(np.mean(pinball(actual, bound, q))) == pytest.approx(
            expected["m"].iloc[0], rel=1e-12
        )


def test_interval_score_is_twenty_times_forty_pinballs() -> None:
    actual, _, _, lower, upper = _series()
    both = pinball(actual, lower, 0.025) + pinball(actual, upper, 0.975)
    assert interval_score(actual, lower, upper) == pytest.approx(both * 2 / 0.05, rel=1e-12)


def test_crps_matches_numerical_integration_and_zero_sigma_is_absolute_error() -> None:
    cases = [(101.3, 100.0, 1.2), (97.0, 100.0, 0.8), (100.0, 100.0, 2.0)]
    for y, mu, s in cases:
        dist = stats.norm(mu, s)
        below, _ = integrate.quad(lambda x, d=dist: d.cdf(x) ** 2, mu - 12 * s, y)
        above, _ = integrate.quad(lambda x, d=dist: (1 - d.cdf(x)) ** 2, y, mu + 12 * s)
        assert crps_normal([y], [mu], [s])[0] == pytest.approx(below + above, rel=1e-8)
    assert crps_normal([3.0], [1.0], [0.0])[0] == 2.0
    # hand value: at the mean, CRPS = sigma (2 phi(0) - 1/sqrt(pi)) = sigma (sqrt 2 - 1)/sqrt(pi)
    assert crps_normal([0.0], [0.0], [1.0])[0] == pytest.approx(
        (math.sqrt(2) - 1) / math.sqrt(math.pi)
    )


def test_crps_close_to_utilsforecast_quantile_losses_on_a_dense_grid() -> None:
    # CRPS = 2 x the integral over q of the pinball loss: mqloss on 999 quantiles approximates it
    actual, prediction, _, lower, upper = _series()
    sigma = sigma_of_interval(lower, upper)
    qs = np.arange(1, 1000) / 1000
    cols = {f"m-q-{i}": stats.norm.ppf(q, prediction, sigma) for i, q in enumerate(qs)}
    frame = _frame(actual, **cols)
    mq = losses.mqloss(frame, models={"m": list(cols)}, quantiles=qs)["m"].iloc[0]
    assert float(np.mean(crps_normal(actual, prediction, sigma))) == pytest.approx(2 * mq, rel=2e-3)


def test_normal_cdf_and_sigma_and_expected_score() -> None:
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.5])
    assert normal_cdf(x) == pytest.approx(stats.norm.cdf(x), abs=1e-15)
    assert sigma_of_interval([8.0], [12.0])[0] == pytest.approx(2.0 / Z975)
    assert sigma_of_interval([8.0], [12.0], alpha=0.1)[0] == pytest.approx(
        2.0 / stats.norm.ppf(0.95)
    )
    # the mean interval score of the exact 95% normal interval, by simulation of 400k draws
    draws = np.random.default_rng(1).normal(size=400_000)
    simulated = float(
        np.mean(interval_score(draws, np.full(draws.size, -Z975), np.full(draws.size, Z975)))
    )
    assert expected_interval_score(1.0) == pytest.approx(simulated, rel=5e-3)
    assert expected_interval_score(1.0) == pytest.approx(4.675, abs=1e-3)


def test_direction_excludes_ties_and_pvalue_matches_scipy() -> None:
    last = np.full(6, 10.0)
    actual = np.array([11.0, 9.0, 10.0, 12.0, 8.0, 11.0])
    prediction = np.array([10.5, 9.5, 10.5, 10.0, 8.5, 9.0])
    # session 2: flat actual, session 3: flat forecast -> left out; hits: 0, 1, 4
    assert direction(actual, prediction, last) == (3, 4)
    for hits, n in ((0, 1), (3, 4), (7, 10), (60, 100), (50, 100), (530, 1000), (1, 2000)):
        assert binomial_pvalue(hits, n) == pytest.approx(
            stats.binomtest(hits, n, 0.5).pvalue, rel=1e-9
        )
    assert binomial_pvalue(0, 0) is None
    with pytest.raises(BadInput, match="hits=5, n=3"):
        binomial_pvalue(5, 3)


def test_naive_interval_keeps_the_models_half_widths() -> None:
    lo, hi = naive_interval([100.0], [98.0], [103.0], [101.0])
    assert (lo[0], hi[0]) == (97.0, 102.0)


def test_distribution_scores_next_to_naive_and_skips_unusable_rows() -> None:
    actual, prediction, naive, lower, upper = _series()
    d = distribution_scores(actual, prediction, naive, lower, upper)
    nlo, nhi = naive_interval(naive, lower, upper, prediction)
    assert d.sessions == actual.size
    assert d.interval_score == pytest.approx(float(np.mean(interval_score(actual, lower, upper))))
    assert d.naive_interval_score == pytest.approx(float(np.mean(interval_score(actual, nlo, nhi))))
    assert d.interval_skill == pytest.approx(1 - d.interval_score / d.naive_interval_score)
    sigma = sigma_of_interval(lower, upper)
    assert d.naive_crps == pytest.approx(float(np.mean(crps_normal(actual, naive, sigma))))
    assert d.return_interval_score == pytest.approx(
        float(np.mean(interval_score(actual, lower, upper) / naive))
    )
    hits, n = direction(actual, prediction, naive)
    assert (d.direction_sessions, d.direction_accuracy) == (n, hits / n)
    assert d.direction_pvalue == pytest.approx(stats.binomtest(hits, n).pvalue)
    # a NaN row and an inverted interval are left out, never turned into NaN
    bad_lower = lower.copy()
    bad_lower[0], bad_lower[1] = np.nan, upper[1] + 1
    partial = distribution_scores(actual, prediction, naive, bad_lower, upper)
    assert partial.sessions == actual.size - 2
    assert all(v is None or math.isfinite(v) for v in partial.to_dict().values())
    empty = distribution_scores([], [], [], [], [])
    assert empty.sessions == 0 and empty.interval_score is None and empty.direction_pvalue is None


def test_walk_forward_scores_carry_the_distribution_scores() -> None:
    actual, prediction, naive, lower, upper = _series()
    s = score(actual, prediction, naive, lower=lower, upper=upper)
    d = distribution_scores(actual, prediction, naive, lower, upper)
    assert s.interval_score == d.interval_score and s.crps == d.crps
    assert s.coverage == d.coverage and s.naive_coverage == d.naive_coverage
    assert s.direction_pvalue == d.direction_pvalue
    point_only = score(actual, prediction, naive)
    assert point_only.interval_score is None and point_only.crps is None
    assert point_only.direction_sessions == d.direction_sessions  # direction needs no interval
