"""The naive random walk: the next close is the last one.

Every model stocky serves is compared with it, and it is the fallback of every choice. Its one
parameter is the standard deviation of one-day changes on the training prices (the maximum
likelihood sigma of ARIMA(0,1,0): changes taken with mean zero).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.core.families.base import not_fitted, path_prices, validate_window
from stocky.errors import BadInput

__all__ = ["Naive"]


def _sigma(params: Mapping[str, Any]) -> float:
    try:
        sigma = float(params["sigma"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(f"naive parameters are malformed ({exc!r}): retrain the model") from exc
    if not (np.isfinite(sigma) and sigma > 0):
        raise BadInput(f"naive sigma={sigma!r} must be finite and > 0: retrain the model")
    return sigma


class Naive:
    """The random walk. Attributes set by `fit`: ``sigma_`` (std of one-day changes)."""

    model_type: ClassVar[str] = "naive"
    description: ClassVar[str] = "Random walk: the next close is the last close"

    def __init__(self) -> None:
        self.sigma_: float | None = None

    @property
    def label(self) -> str:
        return "Naive"

    @property
    def complexity(self) -> int:
        return 0

    @property
    def min_window(self) -> int:
        return 1

    def fit(self, y: ArrayLike) -> Naive:
        """Fit sigma on prices `y` (oldest first).

        Raises:
            BadInput: Fewer than 3 prices, bad prices, or no movement at all.
        """
        arr = validate_window(y, min_len=3, name="y")
        self.sigma_ = _sigma({"sigma": float(np.sqrt(np.mean(np.diff(arr) ** 2)))})
        return self

    def _fitted(self) -> float:
        if self.sigma_ is None:
            raise not_fitted(self.model_type)
        return self.sigma_

    def predict_one(self, window: ArrayLike) -> tuple[float, float]:
        sigma = self._fitted()
        arr = validate_window(window, min_len=1)
        return float(arr[-1]), sigma

    def one_step_path(
        self, y: ArrayLike, *, start: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        sigma = self._fitted()
        arr = path_prices(y, start=start)
        means = arr[start - 1 : -1].copy()
        return means, np.full(means.size, sigma)

    def to_params(self) -> dict[str, Any]:
        return {"sigma": self._fitted()}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Naive:
        model = cls()
        model.sigma_ = _sigma(params)
        return model
