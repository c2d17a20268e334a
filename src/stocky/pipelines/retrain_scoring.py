"""The pure part of a retrain: a challenger fitted before the holdout, champion, challenger and
naive scored by walk-forward over it with fixed parameters, and the promotion decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from stocky.adapters.ports import Champion
from stocky.core.arima import ArimaOrder
from stocky.core.backtest import walk_forward_model
from stocky.core.families.base import Forecaster
from stocky.core.families.registry import DEFAULT_FAMILIES, parse_families
from stocky.core.intervals import AUTO, validate_interval_setting
from stocky.core.intervals.conformal import CONFORMAL
from stocky.core.metrics import naive_scale, score
from stocky.core.promotion import Decision, HoldoutScore, PromotionPolicy, decide
from stocky.core.spec import ModelSpec
from stocky.pipelines.choice import choose_model
from stocky.pipelines.intervals import (
    choose_walk_interval,
    served_interval_params,
    test_interval_params,
)
from stocky.pipelines.train import Evaluation

__all__ = ["RetrainConfig", "RetrainScoring", "decide_retrain", "score_retrain"]


@dataclass(frozen=True)
class RetrainConfig:
    """Families (or order), holdout and policy of a retrain."""

    order: str = "auto"
    #: As TrainConfig: the candidate families and the level a challenger must reach vs naive.
    families: tuple[str, ...] = DEFAULT_FAMILIES
    alpha: float = 0.05
    holdout_size: int = 63
    validation_size: int = 63
    train_window: int = 1260
    min_train_size: int = 250
    policy: PromotionPolicy = PromotionPolicy()
    #: As TrainConfig: "auto" or the interval method, and the prices behind each interval.
    interval: str = AUTO
    interval_window: int = 60

    def __post_init__(self) -> None:
        if self.order != "auto":
            ArimaOrder.parse(self.order)
        object.__setattr__(self, "families", parse_families(self.families))
        validate_interval_setting(self.interval)


@dataclass(frozen=True)
class RetrainScoring:
    """The pure part of a retrain: the challenger fitted before the holdout, and the holdout
    errors of champion, challenger and naive (all with fixed parameters)."""

    challenger: Forecaster
    evaluation: Evaluation
    champion_errors: np.ndarray | None
    fit_part: np.ndarray
    start: int
    #: The champion scored over the holdout as it serves (errors and interval).
    champion_score: HoldoutScore | None = None
    #: The chosen method's parameters fitted on `fit_part` for the served window: the holdout
    #: walk's own (None for conformal, which the served model calibrates on the holdout).
    fit_interval_params: Mapping[str, Any] | None = None

    @property
    def label(self) -> str:
        """The challenger's label ("ARIMA(0,1,1)", "ETS(A,N,N)"...)."""
        return self.challenger.label

    def served_interval(
        self, close: np.ndarray, prices: np.ndarray, window: int
    ) -> tuple[str, dict[str, Any]]:
        """The chosen interval method and its parameters for a model fitted on `prices`
        (conformal: calibrated on the holdout walk's errors over `close`)."""
        walk = self.evaluation.walk
        params = served_interval_params(
            walk.interval, prices=prices, walk=walk, close=close, window=window
        )
        return walk.interval, params

    def challenger_interval(self, close: np.ndarray, window: int) -> tuple[str, dict[str, Any]]:
        """`served_interval` of the challenger as fitted (on `fit_part`), `window` being the
        configured interval window: the holdout walk's parameters when it fitted them on
        those prices, rather than a second fit."""
        if self.fit_interval_params is not None:
            return self.evaluation.walk.interval, dict(self.fit_interval_params)
        return self.served_interval(close, self.fit_part, window)


def _champion_holdout(close: np.ndarray, spec: ModelSpec, cfg: RetrainConfig) -> HoldoutScore:
    """The champion over the holdout exactly as it serves: its mean and its own interval
    method, each session forecast from the `interval_window` prices before it."""
    served = spec.forecaster()
    start = len(close) - cfg.holdout_size
    window = cfg.interval_window
    forecasts = [
        served.forecast(close[max(0, t - window) if window else 0 : t])
        for t in range(start, len(close))
    ]
    actual = close[start:].astype(float)
    mean = np.array([f.mean for f in forecasts])
    return HoldoutScore(
        "champion",
        actual - mean,
        actual,
        np.array([f.lower for f in forecasts]),
        np.array([f.upper for f in forecasts]),
    )


def score_retrain(
    close: np.ndarray, *, champion: Champion | None, config: RetrainConfig
) -> RetrainScoring:
    """Fit a challenger on the sessions before the holdout and score it, the champion and the
    naive random walk by walk-forward over the holdout.

    Args:
        close: Closing prices up to the retrain's `as_of`, oldest first.
        champion: The current champion, scored with its own fixed parameters (None: no champion).
        config: Order, holdout, windows.

    Returns:
        The RetrainScoring.
    """
    start = len(close) - config.holdout_size
    pre = close[:start]
    choice = choose_model(
        pre,
        order=config.order,
        families=config.families,
        validation_size=config.validation_size,
        train_window=config.train_window,
        alpha=config.alpha,
        serve_window=config.interval_window,
    )
    fit_part = pre[-config.train_window :] if config.train_window else pre
    challenger = choice.make().fit(fit_part)
    intervals = choose_walk_interval(
        pre,
        choice=choice,
        fitted=choice.fitted,
        setting=config.interval,
        validation_size=config.validation_size,
        train_window=config.train_window,
        window=config.interval_window,
    )
    walk = walk_forward_model(
        close,
        make=choice.make,
        fitted=challenger,
        serve_window=config.interval_window,
        test_size=config.holdout_size,
        train_window=config.train_window,
        interval=intervals.method,
        interval_window=config.interval_window,
        interval_params=test_interval_params(intervals, window=config.interval_window),
    )
    scale = naive_scale(fit_part)
    scores = score(
        walk.actual, walk.mean, walk.naive, lower=walk.lower, upper=walk.upper, scale=scale
    )
    champion_score = (
        _champion_holdout(close, champion.spec, config) if champion is not None else None
    )
    # the walk fitted its method on the `train_window` prices before the holdout: `fit_part`
    own = walk.interval != CONFORMAL.name
    return RetrainScoring(
        challenger=challenger,
        evaluation=Evaluation(
            choice=choice, walk=walk, scores=scores, scale=scale, intervals=intervals
        ),
        champion_errors=champion_score.errors if champion_score is not None else None,
        fit_part=fit_part,
        start=start,
        champion_score=champion_score,
        fit_interval_params=dict(walk.interval_params) if own else None,
    )


def decide_retrain(scoring: RetrainScoring, policy: PromotionPolicy) -> Decision:
    """The promotion decision for a scored retrain (`core.promotion.decide`)."""
    walk = scoring.evaluation.walk
    champion_score = scoring.champion_score
    if champion_score is None and scoring.champion_errors is not None:
        champion_score = HoldoutScore("champion", scoring.champion_errors)
    return decide(
        champion_score,
        HoldoutScore("challenger", walk.actual - walk.mean, walk.actual, walk.lower, walk.upper),
        HoldoutScore("naive", walk.actual - walk.naive),
        policy,
    )
