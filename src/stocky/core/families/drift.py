"""The random walk with drift: the next close is the last one plus the mean daily change.

As statsforecast's ``RandomWalkWithDrift``: the drift is ``(y[-1] - y[0]) / (n - 1)`` on the
training prices (the line through the first and the last price), and sigma is the root mean
square of the in-sample residuals ``y[t] - y[t-1] - drift`` over the ``n - 1`` changes
(statsforecast's ``_calculate_sigma(residuals, n - 1)``). statsforecast widens its one-step
interval by ``sqrt(1 + 1/(n-1))`` for the drift's estimation error (1.0005 at 1,000 prices);
stocky reports the residual sigma, as it does for the naive random walk and ARIMA.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.core.families.base import not_fitted, path_prices, validate_window
from stocky.errors import BadInput

__all__ = ["Drift"]


def _validated(params: Mapping[str, Any]) -> tuple[float, float]:
    try:
        drift = float(params["drift"])
        sigma = float(params["sigma"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(f"drift parameters are malformed ({exc!r}): retrain the model") from exc
    if not np.isfinite(drift):
        raise BadInput(f"drift={drift!r} must be finite: retrain the model")
    if not (np.isfinite(sigma) and sigma > 0):
        raise BadInput(f"drift sigma={sigma!r} must be finite and > 0: retrain the model")
    return drift, sigma


class Drift:
    """Random walk with drift. Attributes set by `fit`: ``drift_``, ``sigma_``."""

    model_type: ClassVar[str] = "drift"
    description: ClassVar[str] = "Random walk with drift: the last close plus the mean daily change"

    def __init__(self) -> None:
        self.drift_: float | None = None
        self.sigma_: float | None = None

    @property
    def label(self) -> str:
        return "Drift"

    @property
    def complexity(self) -> int:
        return 1

    @property
    def min_window(self) -> int:
        return 1

    def fit(self, y: ArrayLike) -> Drift:
        """Fit the drift and sigma on prices `y` (oldest first).

        Raises:
            BadInput: Fewer than 3 prices, bad prices, or prices on an exact straight line
                (no residual variation to size an interval with).
        """
        arr = validate_window(y, min_len=3, name="y")
        n = len(arr)
        drift = float((arr[-1] - arr[0]) / (n - 1))
        residuals = np.diff(arr) - drift
        sigma = float(np.sqrt(np.sum(residuals**2) / (n - 1)))
        if not sigma > 0:
            raise BadInput(
                f"y's {n} prices lie on a straight line (residual sigma 0): send real prices"
            )
        self.drift_, self.sigma_ = _validated({"drift": drift, "sigma": sigma})
        return self

    def _fitted(self) -> tuple[float, float]:
        if self.drift_ is None or self.sigma_ is None:
            raise not_fitted(self.model_type)
        return self.drift_, self.sigma_

    def predict_one(self, window: ArrayLike) -> tuple[float, float]:
        drift, sigma = self._fitted()
        arr = validate_window(window, min_len=1)
        return float(arr[-1] + drift), sigma

    def one_step_path(
        self, y: ArrayLike, *, start: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        drift, sigma = self._fitted()
        arr = path_prices(y, start=start)
        means = arr[start - 1 : -1] + drift
        return means, np.full(means.size, sigma)

    def to_params(self) -> dict[str, Any]:
        drift, sigma = self._fitted()
        return {"drift": drift, "sigma": sigma}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Drift:
        model = cls()
        model.drift_, model.sigma_ = _validated(params)
        return model
