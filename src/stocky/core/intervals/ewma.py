"""``ewma``: the recent volatility of the window (RiskMetrics, decay 0.94) times a scale
calibrated on the training prices so that the interval holds its level there
(`stocky.core.volatility`). Parameters: ``{"scale": s}``.

Half-width: ``z(level) × scale × ewma_std(window)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.core.intervals.base import normal_quantile, param_float, validate_level
from stocky.core.volatility import ewma_std, ewma_std_path, interval_scale

__all__ = ["EWMA"]


class _Ewma:
    name = "ewma"

    def fit(
        self,
        prices: ArrayLike,
        *,
        window: int,
        level: float = 0.95,
        errors: ArrayLike | None = None,
        scales: ArrayLike | None = None,
    ) -> dict[str, Any]:
        """``{"scale": interval_scale(prices, window, level)}`` (1.0 with too little history)."""
        return {"scale": interval_scale(prices, window=window, level=validate_level(level))}

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"scale": param_float(params, "scale", self.name, low=0.0, strict=True)}

    def half_width(
        self, window: NDArray[np.float64], level: float, params: Mapping[str, Any], *,
        model_std: float,
    ) -> float:  # fmt: skip
        return normal_quantile(level) * float(params["scale"]) * ewma_std(window)

    def half_width_path(
        self, y: NDArray[np.float64], *, start: int, window: int, level: float,
        params: Mapping[str, Any], model_std: NDArray[np.float64],
    ) -> NDArray[np.float64]:  # fmt: skip
        std = ewma_std_path(y, start=start, window=window)
        return normal_quantile(level) * float(params["scale"]) * std


EWMA = _Ewma()
