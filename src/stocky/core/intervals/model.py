"""``model``: the family's own one-step standard deviation (a fitted ARIMA's constant
variance, ETS's residual variance...), ``mean ± z(level) × σ_model``. No parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.core.intervals.base import normal_quantile

__all__ = ["MODEL"]


class _Model:
    name = "model"

    def fit(
        self,
        prices: ArrayLike,
        *,
        window: int,
        level: float = 0.95,
        errors: ArrayLike | None = None,
        scales: ArrayLike | None = None,
    ) -> dict[str, Any]:
        return {}

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def half_width(
        self, window: NDArray[np.float64], level: float, params: Mapping[str, Any], *,
        model_std: float,
    ) -> float:  # fmt: skip
        return normal_quantile(level) * float(model_std)

    def half_width_path(
        self, y: NDArray[np.float64], *, start: int, window: int, level: float,
        params: Mapping[str, Any], model_std: NDArray[np.float64],
    ) -> NDArray[np.float64]:  # fmt: skip
        return normal_quantile(level) * np.asarray(model_std, dtype=np.float64)


MODEL = _Model()
