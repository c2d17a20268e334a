"""Which model a ticker gets: the honest choice among its families, or the order given.

The one place training and retraining ask "which family, fitted how?": with ``order="auto"``
every configured family is a candidate and `stocky.core.choose` keeps the random walk unless a
candidate beats it significantly on the validation window; an explicit ``order="p,d,q"`` is an
ARIMA of that order, no choice made.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stocky.core.arima import ArimaOrder
from stocky.core.families.arima import Arima
from stocky.core.families.base import Forecaster

__all__ = ["ModelChoice", "choose_model", "refit_factory"]


@dataclass(frozen=True)
class ModelChoice:
    """The family chosen for one ticker, its configuration, and why."""

    model_type: str
    #: Builds an unfitted forecaster of the chosen family and configuration (refits keep it).
    make: Callable[[], Forecaster]
    reason: str
    label: str
    #: One row per candidate (label, validation RMSE, naive RMSE, DM p-values...).
    candidates: tuple[Mapping[str, Any], ...] = field(default=())
    #: The chosen forecaster fitted on the prices before the validation window (None when
    #: the order was given): what the validation walk of the interval choice reuses.
    fitted: Forecaster | None = None
    #: Every evaluated candidate fitted before the validation window, by model_type (naive
    #: included; empty when the order was given), and its validation forecasts as served
    #: (`stocky.core.choose.Choice.paths`): what the leaderboard reuses.
    models: Mapping[str, Forecaster] = field(default_factory=dict, repr=False)
    paths: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)


def refit_factory(model: Forecaster) -> Callable[[], Forecaster]:
    """A factory of unfitted forecasters with `model`'s configuration (ARIMA keeps its order)."""
    cls = type(model)
    params = model.to_params()

    def make() -> Forecaster:
        return cls.from_params(params)

    return make


def choose_model(
    pre_test: np.ndarray,
    *,
    order: str,
    families: Sequence[str],
    validation_size: int,
    train_window: int,
    alpha: float,
    fitted: Mapping[str, Forecaster] | None = None,
    serve_window: int = 0,
) -> ModelChoice:
    """Choose the model for prices `pre_test` (which end before any test period).

    Args:
        pre_test: Prices before the test period, oldest first.
        order: "auto" (choose among `families`) or "p,d,q" (that ARIMA, no choice).
        families: Candidate families (naive is always one).
        validation_size: Final points of `pre_test` the candidates are compared on.
        train_window: Points each candidate is fitted on (0 = all before the validation).
        alpha: Significance level a non-naive winner must reach against naive.
        fitted: Candidates already fitted on the part before validation (global models).
        serve_window: Prices behind each forecast as served (STOCKY_MAX_PRICES; 0 = all).

    Returns:
        The ModelChoice.
    """
    if order != "auto":
        fixed = ArimaOrder.parse(order)
        given = Arima(fixed)  # fitting keeps the order it was built with
        return ModelChoice(
            given.model_type,
            functools.partial(Arima, fixed),
            f"order {fixed} given by the caller",
            given.label,
        )
    from stocky.core.choose import choose

    result = choose(
        pre_test,
        families=tuple(families),
        validation_size=validation_size,
        train_window=train_window,
        alpha=alpha,
        fitted=dict(fitted or {}),
        serve_window=serve_window,
    )
    return ModelChoice(
        result.model_type,
        refit_factory(result.forecaster),
        result.reason,
        result.forecaster.label,
        tuple(dict(row) for row in result.table),
        fitted=result.forecaster,
        models=result.models,
        paths=result.paths,
    )
