"""Interval-score drift: the CUSUM on the interval score's ratio to the validation level.

Every series here is SYNTHETIC and seeded: closes whose log returns are normal with a known
sigma, forecast by the random walk with the exact 95% normal interval (so the validation level
is known in closed form), then a change that widens the moves or the intervals.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from stocky.core.assessment import AssessmentConfig, assess_drift, state_path
from stocky.core.detectors import cusum_interval_score
from stocky.core.scores import Z975, expected_interval_score, interval_score
from stocky.errors import BadInput

SIGMA = 0.01


def _series(
    rng: np.random.Generator, n: int, *, move_sd: np.ndarray | float = SIGMA,
    width: np.ndarray | float = 1.0,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Random walk closes with 95% intervals of sigma SIGMA x `width` around the last close."""
    moves = rng.normal(0.0, 1.0, n) * move_sd
    closes = 100.0 * np.exp(np.cumsum(np.concatenate(([0.0], moves))))
    naive, actual = closes[:-1], closes[1:]
    half = Z975 * SIGMA * np.asarray(width) * naive
    return actual, naive, naive, naive - half, naive + half


def test_ratio_is_one_on_average_without_change() -> None:
    arrays = _series(np.random.default_rng(0), 20_000)
    actual, _, naive, lower, upper = arrays
    ratio = interval_score(actual, lower, upper) / naive / expected_interval_score(SIGMA)
    assert float(np.mean(ratio)) == pytest.approx(1.0, abs=0.03)


def test_no_change_raises_at_most_one_false_alarm_per_thousand_sessions() -> None:
    rng = np.random.default_rng(11)
    baseline = expected_interval_score(SIGMA)
    onsets = sessions = 0
    for _ in range(40):
        alarms = cusum_interval_score(*_series(rng, 1000), baseline=baseline)
        onsets += alarms.onsets.size
        sessions += alarms.flags.size
    assert 1000 * onsets / sessions <= 1.0


@pytest.mark.parametrize(
    ("name", "move_sd", "width", "within"),
    [
        ("moves widen x2", SIGMA * 2, 1.0, 20),
        ("intervals widen x2", SIGMA, 2.0, 60),
        ("intervals narrow /2", SIGMA, 0.5, 60),
    ],
)
def test_a_widening_is_detected(name: str, move_sd: float, width: float, within: int) -> None:
    rng = np.random.default_rng(5)
    change, n = 200, 400
    sd = np.where(np.arange(n) < change, SIGMA, move_sd)
    w = np.where(np.arange(n) < change, 1.0, width)
    delays, early = [], 0
    for _ in range(20):
        alarms = cusum_interval_score(
            *_series(rng, n, move_sd=sd, width=w), baseline=expected_interval_score(SIGMA)
        )
        if alarms.flags[:change].any():  # a false alarm before the change: no delay to measure
            early += 1
            continue
        hit = np.flatnonzero(alarms.flags[change:])
        delays.append(hit[0] + 1 if hit.size else math.inf)
    assert early <= 1, name  # 4,000 sessions before the changes
    assert float(np.median(delays)) <= within, (name, delays)


def test_cusum_by_hand() -> None:
    # interval [99, 101] around 100: inside scores 2 (ratio 1 at baseline 0.02), a close at
    # 102 scores 2 + 40 = 42 (ratio 21, capped at 4): S = 0, 0, 4 - 1 - 0.25 = 2.75
    actual = [100.5, 99.5, 102.0]
    arrays = (actual, [100.0] * 3, [100.0] * 3, [99.0] * 3, [101.0] * 3)
    alarms = cusum_interval_score(*arrays, baseline=0.02, k=0.25, h=2.0)
    assert alarms.statistic.tolist() == pytest.approx([0.0, 0.0, 2.75])
    assert alarms.flags.tolist() == [False, False, True]
    with pytest.raises(BadInput, match="baseline"):
        cusum_interval_score(*arrays, baseline=0.0)


def test_the_assessment_reports_interval_degradation_only_with_a_baseline() -> None:
    rng = np.random.default_rng(3)
    sd = np.where(np.arange(150) < 50, SIGMA, 3 * SIGMA)
    arrays = _series(rng, 150, move_sd=sd)
    baseline = expected_interval_score(SIGMA)
    a = assess_drift(*arrays, baseline_interval_score=baseline)
    assert a.interval_degraded
    assert any(r.startswith("interval score degraded: CUSUM") for r in a.reasons)
    assert a.statistics["cusum_interval_score"] > AssessmentConfig().interval_h
    without = assess_drift(*arrays)
    assert not without.interval_degraded and "cusum_interval_score" not in without.statistics
    path = state_path(*arrays, config=AssessmentConfig(), baseline_interval_score=baseline)
    assert not path.interval_degraded[:50].any() and path.interval_degraded[-1]
    with pytest.raises(BadInput, match="interval_h"):
        AssessmentConfig(interval_h=0.0)
