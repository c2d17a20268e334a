"""Split-conformal intervals against hand computations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from stocky.core.intervals.conformal import (
    CONFORMAL,
    leave_one_out_quantiles,
    min_scores,
)
from stocky.core.volatility import ewma_std
from stocky.errors import BadInput, DataQualityError


def test_quantile_with_the_finite_sample_correction_by_hand() -> None:
    # 39 scores 1..39 (errors 2k over scales 2): k = ceil(40 * 0.95) = 38 -> the 38th smallest
    errors = -2.0 * np.arange(1, 40)
    params = CONFORMAL.fit([], window=60, errors=errors, scales=np.full(39, 2.0))
    assert params["q"] == 38.0 and params["n"] == 39 and params["level"] == 0.95
    # 19 scores: k = ceil(20 * 0.95) = 19, the largest; 18 are too few for 95%
    assert min_scores(0.95) == 19
    assert CONFORMAL.fit([], window=60, errors=np.arange(1.0, 20), scales=np.ones(19))["q"] == 19
    with pytest.raises(DataQualityError, match="18 usable errors are too few .* need 19"):
        CONFORMAL.fit([], window=60, errors=np.arange(1.0, 19), scales=np.ones(18))


def test_half_width_is_q_times_the_window_ewma_by_hand() -> None:
    params = CONFORMAL.fit([], window=60, errors=np.arange(1.0, 40), scales=np.ones(39))
    window = np.array([100.0, 101.0, 99.0, 100.0])
    # EWMA (0.94) of the squared changes 1, 4, 1, newest weighing most
    w = np.array([0.94**2, 0.94, 1.0])
    by_hand = math.sqrt((w @ np.array([1.0, 4.0, 1.0])) / w.sum())
    assert ewma_std(window) == pytest.approx(by_hand, rel=1e-12)
    assert CONFORMAL.half_width(window, 0.95, params, model_std=0.0) == pytest.approx(
        38.0 * by_hand, rel=1e-12
    )
    # another level uses the stored scores: k = ceil(40 * 0.8) = 32
    assert CONFORMAL.half_width(window, 0.8, params, model_std=0.0) == pytest.approx(
        32.0 * by_hand, rel=1e-12
    )


def test_leave_one_out_equals_recomputing_without_each_score() -> None:
    rng = np.random.default_rng(3)
    scores = np.round(rng.exponential(1.0, 50), 1)  # ties included
    loo = leave_one_out_quantiles(scores, 0.95)
    for i in range(scores.size):
        others = np.sort(np.delete(scores, i))
        k = math.ceil(others.size * 0.95 + 0.95 - 1e-9)  # ceil((n - 1 + 1) * level)
        assert loo[i] == others[k - 1]


def test_parameters_round_trip_through_json_and_bad_ones_are_named() -> None:
    params = CONFORMAL.fit([], window=60, errors=np.arange(1.0, 40), scales=np.ones(39))
    assert CONFORMAL.check(json.loads(json.dumps(params))) == params
    with pytest.raises(BadInput, match="conformal interval parameters lack 'q'"):
        CONFORMAL.check({k: v for k, v in params.items() if k != "q"})
    with pytest.raises(BadInput, match="scores=None is not a list of numbers"):
        CONFORMAL.check(params | {"scores": None})
    with pytest.raises(BadInput, match="pass errors= and scales="):
        CONFORMAL.fit([100.0, 101.0], window=60)
    with pytest.raises(BadInput, match=r"errors \(3,\) and scales \(2,\) differ"):
        CONFORMAL.fit([], window=60, errors=[1.0, 2.0, 3.0], scales=[1.0, 1.0])
