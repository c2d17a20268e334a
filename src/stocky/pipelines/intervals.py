"""The interval method of one ticker's model: chosen on the validation window, fitted for the
test walk and for the served model (`stocky.core.intervals`).

Training and retraining share this: the chosen model's validation walk-forward (its means as
served) is scored under every candidate method (``STOCKY_INTERVAL=auto``) or the configured
one, the test (or holdout) walk then uses the chosen method, and the served model stores its
parameters fitted on the latest data (conformal: calibrated on the test walk's errors).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stocky.core.backtest import WalkForward, walk_forward_model
from stocky.core.families.base import Forecaster
from stocky.core.intervals import AUTO, AUTO_METHODS, interval_method, normal_quantile
from stocky.core.intervals.auto import IntervalChoice, choose_interval
from stocky.core.intervals.conformal import CONFORMAL
from stocky.core.volatility import ewma_std_path
from stocky.pipelines.choice import ModelChoice

__all__ = ["choose_walk_interval", "served_interval_params", "test_interval_params"]


def choose_walk_interval(
    pre_test: np.ndarray,
    *,
    choice: ModelChoice,
    fitted: Forecaster | None,
    setting: str,
    validation_size: int,
    train_window: int,
    window: int,
    level: float = 0.95,
) -> IntervalChoice:
    """Walk the chosen model over the validation window of `pre_test` and choose its
    interval method there (`stocky.core.intervals.auto.choose_interval`).

    Args:
        pre_test: Prices before the test (or holdout) period, oldest first.
        choice: The chosen model.
        fitted: It fitted before the validation window (None: fitted here from `choice.make`).
        setting: STOCKY_INTERVAL: "auto" or one method.
        validation_size: Final sessions of `pre_test` the methods are scored on.
        train_window: Prices before the validation window the methods are fitted on.
        window: Prices behind each served forecast and interval (STOCKY_MAX_PRICES).
        level: Interval level.

    Returns:
        The IntervalChoice (with the validation errors conformal calibrates on).
    """
    walk = walk_forward_model(
        pre_test,
        make=choice.make,
        fitted=fitted,
        test_size=validation_size,
        train_window=train_window,
        serve_window=window,
        interval="model",
        interval_window=window,
        level=level,
    )
    first = max(0, walk.start - train_window) if train_window else 0
    model_std = (walk.upper - walk.mean) / normal_quantile(level)
    return choose_interval(
        pre_test[first:],
        start=walk.start - first,
        means=walk.mean,
        model_std=model_std,
        methods=AUTO_METHODS if setting == AUTO else (setting,),
        window=window,
        level=level,
        given=setting != AUTO,
    )


def test_interval_params(
    chosen: IntervalChoice, *, window: int, level: float = 0.95
) -> dict[str, Any] | None:
    """Parameters of the chosen method for the test walk: conformal's from the validation
    errors; None for the others (the walk fits them on the prices before the test period)."""
    if chosen.method != CONFORMAL.name:
        return None
    return CONFORMAL.fit([], window=window, level=level, errors=chosen.errors, scales=chosen.scales)


def served_interval_params(
    method: str,
    *,
    prices: np.ndarray,
    walk: WalkForward,
    close: np.ndarray,
    window: int,
    level: float = 0.95,
) -> dict[str, Any]:
    """Parameters of `method` for the served model.

    Args:
        method: The chosen interval method.
        prices: The prices the served model is fitted on (ewma's calibration, garch's fit).
        walk: The latest out-of-sample walk (test or holdout) of the model over `close`:
            conformal calibrates on its errors.
        close: The prices `walk` was computed on.
        window: Prices behind each served interval.
        level: Interval level.
    """
    if method == CONFORMAL.name:
        scales = ewma_std_path(close, start=walk.start, window=window)
        return CONFORMAL.fit(
            [], window=window, level=level, errors=walk.actual - walk.mean, scales=scales
        )
    return interval_method(method).fit(prices, window=window, level=level)
