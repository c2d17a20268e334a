"""STOCKY_INTERVAL=auto: the lowest validation interval score wins; the score by hand."""

from __future__ import annotations

import numpy as np
import pytest

from stocky.core.intervals import AUTO_METHODS, interval_method, validate_interval_setting
from stocky.core.intervals.auto import choose_interval
from stocky.core.intervals.conformal import leave_one_out_quantiles
from stocky.core.intervals.score import coverage, interval_scores
from stocky.errors import BadInput
from stocky.pipelines.train import TrainConfig, evaluate


def test_interval_score_by_hand() -> None:
    # alpha = 0.05: a miss costs 40 per unit outside
    actual = [10.0, 7.0, 14.5]
    lower = [8.0, 8.0, 8.0]
    upper = [12.0, 12.0, 12.0]
    assert interval_scores(actual, lower, upper).tolist() == pytest.approx(
        [4.0, 4.0 + 40.0 * 1.0, 4.0 + 40.0 * 2.5]
    )
    assert coverage(actual, lower, upper) == pytest.approx(1 / 3)
    with pytest.raises(BadInput, match=r"actual \(3,\), lower \(2,\)"):
        interval_scores(actual, lower[:2], upper)


def test_auto_picks_the_lowest_validation_score_and_each_is_recomputable(
    sp500_close: np.ndarray,
) -> None:
    span = sp500_close[-1386:]  # 1,260 training prices + 126 validation sessions
    start = 1260
    means = span[start - 1 : -1]  # the random walk's forecasts
    std = np.full(126, 15.0)
    chosen = choose_interval(
        span, start=start, means=means, model_std=std, methods=AUTO_METHODS, window=60
    )
    scores = {c.method: c.score for c in chosen.candidates}
    assert set(scores) == set(AUTO_METHODS)
    assert chosen.method == min(scores, key=lambda m: scores[m])
    assert chosen.method in chosen.reason and "validation window" in chosen.reason
    actual = span[start:]
    for name in ("ewma", "garch"):  # fitted on the training part, then served window by window
        method = interval_method(name)
        params = method.fit(span[:start], window=60)
        hw = [
            method.half_width(span[t - 60 : t], 0.95, params, model_std=15.0)
            for t in range(start, span.size)
        ]
        by_hand = np.mean(interval_scores(actual, means - hw, means + hw))
        assert scores[name] == pytest.approx(by_hand, rel=1e-9)
    # conformal: each session calibrated on the other 125 (leave one out)
    ratios = np.abs(actual - means) / chosen.scales
    hw = leave_one_out_quantiles(ratios, 0.95) * chosen.scales
    assert scores["conformal"] == pytest.approx(
        np.mean(interval_scores(actual, means - hw, means + hw)), rel=1e-12
    )


def test_a_given_method_is_used_and_a_failing_candidate_is_noted(
    sp500_close: np.ndarray,
) -> None:
    span = sp500_close[-300:]  # 174 training prices: too few for a GARCH fit
    means = span[173:-1]
    std = np.full(126, 15.0)
    auto = choose_interval(
        span, start=174, means=means, model_std=std, methods=AUTO_METHODS, window=60
    )
    garch = next(c for c in auto.candidates if c.method == "garch")
    assert np.isnan(garch.score) and "needs 250 returns" in garch.note
    assert auto.method != "garch" and "garch not fitted" in auto.reason
    with pytest.raises(BadInput, match="needs 250 returns"):
        choose_interval(
            span, start=174, means=means, model_std=std, methods=("garch",), window=60, given=True
        )
    model = choose_interval(
        span, start=174, means=means, model_std=std, methods=("model",), window=60, given=True
    )
    assert model.method == "model" and "as configured" in model.reason


def test_training_tests_with_the_method_chosen_on_validation(sp500_close: np.ndarray) -> None:
    config = TrainConfig(families=("naive",), test_size=126, validation_size=126, train_window=756)
    ev = evaluate(sp500_close[-1200:], config)
    assert ev.intervals is not None
    best = min((c for c in ev.intervals.candidates if np.isfinite(c.score)), key=lambda c: c.score)
    assert ev.interval == ev.walk.interval == best.method
    assert 0.85 < ev.scores.coverage < 1.0


def test_unknown_settings_are_named() -> None:
    assert validate_interval_setting("auto") == "auto"
    with pytest.raises(BadInput, match="STOCKY_INTERVAL='bands' is unknown: use one of auto"):
        validate_interval_setting("bands")
    with pytest.raises(BadInput, match="STOCKY_INTERVAL='bands'"):
        TrainConfig(interval="bands")
