"""The pure part of a retrain: a challenger fitted before the holdout, champion, challenger and
naive scored by walk-forward over it with fixed parameters, and the promotion decision."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stocky.adapters.ports import Champion
from stocky.core.arima import ArimaForecaster, ArimaOrder, ArimaParams
from stocky.core.backtest import walk_forward
from stocky.core.metrics import naive_scale, score
from stocky.core.promotion import Decision, HoldoutScore, PromotionPolicy, decide
from stocky.core.selection import select_order
from stocky.core.volatility import IntervalMethod, validate_interval_method
from stocky.pipelines.train import Evaluation

__all__ = ["RetrainConfig", "RetrainScoring", "decide_retrain", "score_retrain"]


@dataclass(frozen=True)
class RetrainConfig:
    """Order, holdout and policy of a retrain."""

    order: str = "auto"
    holdout_size: int = 63
    validation_size: int = 63
    train_window: int = 1260
    min_train_size: int = 250
    policy: PromotionPolicy = PromotionPolicy()
    #: As TrainConfig: the interval method the new model records, and its EWMA look-back.
    interval: IntervalMethod = "ewma"
    interval_window: int = 60

    def __post_init__(self) -> None:
        validate_interval_method(self.interval)


@dataclass(frozen=True)
class RetrainScoring:
    """The pure part of a retrain: the challenger fitted before the holdout, and the holdout
    errors of champion, challenger and naive (all with fixed parameters)."""

    order: ArimaOrder
    challenger: ArimaForecaster
    evaluation: Evaluation
    champion_errors: np.ndarray | None
    fit_part: np.ndarray
    start: int


def _holdout_errors(close: np.ndarray, params: ArimaParams, cfg: RetrainConfig) -> np.ndarray:
    walk = walk_forward(
        close,
        order=params.order,
        test_size=cfg.holdout_size,
        train_window=cfg.train_window,
        params=params,
    )
    return walk.actual - walk.mean


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
    if config.order == "auto":
        order = select_order(
            pre, validation_size=config.validation_size, train_window=config.train_window
        ).order
    else:
        order = ArimaOrder.parse(config.order)
    fit_part = pre[-config.train_window :] if config.train_window else pre
    challenger = ArimaForecaster(order).fit(fit_part)
    walk = walk_forward(
        close,
        order=order,
        test_size=config.holdout_size,
        train_window=config.train_window,
        params=challenger.params_,
        interval=config.interval,
        interval_window=config.interval_window,
    )
    scale = naive_scale(fit_part)
    scores = score(
        walk.actual, walk.mean, walk.naive, lower=walk.lower, upper=walk.upper, scale=scale
    )
    champion_errors = (
        _holdout_errors(close, champion.spec.params, config) if champion is not None else None
    )
    return RetrainScoring(
        order=order,
        challenger=challenger,
        evaluation=Evaluation(order=order, choice=None, walk=walk, scores=scores, scale=scale),
        champion_errors=champion_errors,
        fit_part=fit_part,
        start=start,
    )


def decide_retrain(scoring: RetrainScoring, policy: PromotionPolicy) -> Decision:
    """The promotion decision for a scored retrain (`core.promotion.decide`)."""
    walk = scoring.evaluation.walk
    champion_score = (
        HoldoutScore("champion", scoring.champion_errors)
        if scoring.champion_errors is not None
        else None
    )
    return decide(
        champion_score,
        HoldoutScore("challenger", walk.actual - walk.mean),
        HoldoutScore("naive", walk.actual - walk.naive),
        policy,
    )
