"""A family's forecaster as served: its mean, and an interval sized by the chosen method.

Families report the mean and their own one-step standard deviation; how wide the served
interval is belongs to the interval method recorded in the spec ("model": the family's own
sigma; "ewma": the recent volatility of the window times a calibrated scale). ARIMA models keep
their precomputed Kalman weight tables (`prepare_many` stacks a thousand of them at start-up).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtri  # norm.ppf's kernel; scipy.stats takes ~1 s to import

from stocky.core.arima import ArimaForecaster
from stocky.core.arima import prepare_many as prepare_arima
from stocky.core.families.base import Forecast, Forecaster, validate_window
from stocky.core.volatility import IntervalMethod, ewma_std, validate_interval_method
from stocky.errors import BadInput

__all__ = ["ServedModel", "prepare_many"]


@lru_cache(maxsize=16)
def _z(level: float) -> float:
    if not 0 < level < 1:
        raise BadInput(f"level={level} must be between 0 and 1: use e.g. 0.95")
    return float(ndtri(0.5 + level / 2))


class ServedModel:
    """A fitted family forecaster plus its interval method: what a server answers with."""

    def __init__(
        self, family: Forecaster, *, interval: str = "ewma", interval_scale: float = 1.0
    ) -> None:
        self.family = family
        self.interval: IntervalMethod = validate_interval_method(interval)
        if not (np.isfinite(interval_scale) and interval_scale > 0):
            raise BadInput(
                f"interval_scale={interval_scale!r} is invalid: pass a finite number > 0 "
                "(1.0 for none)"
            )
        self.interval_scale = float(interval_scale)
        arima = getattr(family, "forecaster", None)
        # ARIMA serves through its own forecaster (cached weight tables, same numbers)
        self._arima: ArimaForecaster | None = (
            ArimaForecaster.from_params(
                arima().params_, interval=self.interval, interval_scale=self.interval_scale
            )
            if callable(arima) and family.model_type == "arima"
            else None
        )

    @property
    def model_type(self) -> str:
        return self.family.model_type

    @property
    def label(self) -> str:
        return self.family.label

    @property
    def arima_order(self) -> str | None:
        """The seed API's "(p, d, q)" for ARIMA models, None for other families."""
        return (
            str(self._arima.params_.order)
            if self._arima is not None and self._arima.params_
            else None
        )

    @property
    def min_window(self) -> int:
        return max(2, self.family.min_window)

    def forecast(self, window: ArrayLike, *, level: float = 0.95) -> Forecast:
        """One-step forecast after `window` (oldest first) with a central `level` interval.

        Raises:
            BadInput: The window is too short or holds a price that is not finite and > 0.
        """
        if self._arima is not None:
            return self._arima.forecast(window, level=level)
        arr = validate_window(window, min_len=self.min_window)
        mean, model_std = self.family.predict_one(arr)
        std = model_std if self.interval == "model" else ewma_std(arr) * self.interval_scale
        z = _z(level)
        return Forecast(mean=mean, lower=mean - z * std, upper=mean + z * std, std=std, level=level)

    def prepare(self, lengths: range) -> ServedModel:
        """Precompute what forecasts of these window lengths need (ARIMA's weight tables)."""
        if self._arima is not None:
            self._arima.prepare(lengths)
        return self


def prepare_many(models: Sequence[ServedModel], lengths: range) -> None:
    """`prepare(lengths)` of every model; ARIMA weight tables computed in stacks."""
    prepare_arima([m._arima for m in models if m._arima is not None], lengths)
