"""ARIMA(p, d, q) as a family: the order given, or chosen on the data by `fit`.

With no order given, `fit` chooses d by the ADF test and (p, q) by conditional-sum-of-squares
AIC (`stocky.core.selection`), then fits that order by exact maximum likelihood (statsmodels).
A winner whose CSS estimates put a root on the unit circle (cancelling AR and MA factors) is the
random walk in disguise: the order becomes (0, 1, 0). Forecasts come from stored parameters
through the Kalman weights of `stocky.core.arima` (no statsmodels import to serve).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.core.arima import RANDOM_WALK, ArimaForecaster, ArimaOrder, ArimaParams
from stocky.core.families.base import not_fitted, validate_window

__all__ = ["Arima"]


class Arima:
    """ARIMA with a fixed `order`, or chosen by AIC when `order` is None.

    Attributes set by `fit` / `from_params`: ``params_`` (ArimaParams), ``aic_``,
    ``candidates_`` (the AIC table when the order was chosen).
    """

    model_type: ClassVar[str] = "arima"
    description: ClassVar[str] = "ARIMA(p,d,q): d by ADF test, (p,q) by AIC, exact ML fit"

    def __init__(self, order: ArimaOrder | str | None = None, *, max_p: int = 3, max_q: int = 3):
        self.order = ArimaOrder.parse(order) if isinstance(order, str) else order
        self.max_p = max_p
        self.max_q = max_q
        self.params_: ArimaParams | None = None
        self.aic_: float = float("nan")
        self.candidates_: tuple[tuple[str, float], ...] = ()
        self.fit_warnings_: tuple[str, ...] = ()
        self._model: ArimaForecaster | None = None

    @property
    def label(self) -> str:
        order = self.params_.order if self.params_ is not None else self.order
        return f"ARIMA{order}".replace(" ", "") if order is not None else "ARIMA(auto)"

    @property
    def complexity(self) -> int:
        order = self.params_.order if self.params_ is not None else self.order
        if order is None:
            return 0
        return order.p + order.q + (1 if order.d == 0 else 0)

    @property
    def min_window(self) -> int:
        return self._fitted().order.d + 1

    def _choose(self, arr: NDArray[np.float64]) -> ArimaOrder:
        from stocky.core.selection import _css_fits, _on_unit_circle, choose_d

        d = choose_d(arr)
        fits = _css_fits(arr, d=d, max_p=self.max_p, max_q=self.max_q)
        self.candidates_ = tuple((str(f.order), round(f.aic, 3)) for f in fits)
        best = fits[0]
        if d > 0 and best.order != RANDOM_WALK and _on_unit_circle(best):
            return RANDOM_WALK
        return best.order

    def fit(self, y: ArrayLike, *, start: ArimaParams | None = None) -> Arima:
        """Fit on prices `y` (oldest first); choose the order first when none was given.

        Raises:
            BadInput: Too few or bad prices.
            DataQualityError: statsmodels could not fit the order.
        """
        arr = validate_window(y, min_len=30, name="y")
        order = self.order if self.order is not None else self._choose(arr)
        model = ArimaForecaster(order).fit(arr, start_params=start)
        self._model = model
        self.params_ = model.params_
        self.aic_ = model.aic_
        self.fit_warnings_ = model.fit_warnings_
        return self

    def _fitted(self) -> ArimaParams:
        if self.params_ is None:
            raise not_fitted(self.model_type)
        return self.params_

    def forecaster(self) -> ArimaForecaster:
        """The underlying `ArimaForecaster` (weights cached with it)."""
        params = self._fitted()
        if self._model is None:
            self._model = ArimaForecaster.from_params(params)
        return self._model

    def predict_one(self, window: ArrayLike) -> tuple[float, float]:
        fc = self.forecaster().forecast(window)
        return fc.mean, fc.std

    def one_step_path(
        self, y: ArrayLike, *, start: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return self.forecaster().one_step_path(y, start=start)

    def to_params(self) -> dict[str, Any]:
        return self._fitted().to_dict()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Arima:
        arima = ArimaParams.from_dict(dict(params))
        model = cls(arima.order)
        model.params_ = arima
        return model
