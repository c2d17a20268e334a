"""A family's forecaster as served: its mean, and an interval sized by the chosen method.

Families report the mean and their own one-step standard deviation; how wide the served
interval is belongs to the interval method and parameters recorded in the spec
(`stocky.core.intervals`: "model", the family's own sigma; "ewma", the recent volatility of
the window times a calibrated scale; "garch"; "conformal"). ARIMA models keep their
precomputed Kalman weight tables for the mean (`prepare_many` stacks a thousand of them at
start-up).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from stocky.core.arima import ArimaForecaster
from stocky.core.arima import prepare_many as prepare_arima
from stocky.core.families.base import Forecast, Forecaster, validate_window
from stocky.core.intervals import check_interval, interval_method, normal_quantile
from stocky.errors import BadInput

__all__ = ["ServedModel", "prepare_many", "resolve_interval_params"]


def resolve_interval_params(
    interval: str, interval_params: Mapping[str, Any] | None, interval_scale: float
) -> dict[str, Any]:
    """The checked parameters of `interval`; without any, an "ewma" uses `interval_scale`
    (how specs stored it before interval parameters existed).

    Raises:
        BadInput: Unknown method, malformed parameters or a bad scale.
    """
    if not (np.isfinite(interval_scale) and interval_scale > 0):
        raise BadInput(
            f"interval_scale={interval_scale!r} is invalid: pass a finite number > 0 (1.0 for none)"
        )
    if not interval_params and interval == "ewma":
        interval_params = {"scale": float(interval_scale)}
    return check_interval(interval, interval_params or {})


class ServedModel:
    """A fitted family forecaster plus its interval method: what a server answers with."""

    def __init__(
        self,
        family: Forecaster,
        *,
        interval: str = "ewma",
        interval_scale: float = 1.0,
        interval_params: Mapping[str, Any] | None = None,
    ) -> None:
        self.family = family
        self.interval_params = resolve_interval_params(interval, interval_params, interval_scale)
        self._method = interval_method(interval)
        self.interval = interval
        self.interval_scale = float(self.interval_params.get("scale", interval_scale))
        arima = getattr(family, "forecaster", None)
        # ARIMA's mean (and own sigma) come from its forecaster's cached weight tables
        self._arima: ArimaForecaster | None = (
            ArimaForecaster.from_params(arima().params_, interval="model")
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
        z = normal_quantile(level)
        if self._arima is not None:
            fc = self._arima.forecast(window, level=level)
            if self.interval == "model":
                return fc
            arr = validate_window(window, min_len=self.min_window)
            mean, model_std = fc.mean, fc.std
        else:
            arr = validate_window(window, min_len=self.min_window)
            mean, model_std = self.family.predict_one(arr)
        half = self._method.half_width(arr, level, self.interval_params, model_std=model_std)
        # std: the normal-equivalent standard deviation of the interval (half-width / z)
        return Forecast(mean=mean, lower=mean - half, upper=mean + half, std=half / z, level=level)

    def prepare(self, lengths: range) -> ServedModel:
        """Precompute what forecasts of these window lengths need (ARIMA's weight tables)."""
        if self._arima is not None:
            self._arima.prepare(lengths)
        return self


def prepare_many(models: Sequence[ServedModel], lengths: range) -> None:
    """`prepare(lengths)` of every model; ARIMA weight tables computed in stacks."""
    prepare_arima([m._arima for m in models if m._arima is not None], lengths)
