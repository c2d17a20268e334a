"""A model family outside stocky, found through the `stocky.families` entry point.

AR(1) on log returns without intercept: r_t = phi * r_{t-1} + e_t, phi by least squares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from stocky.core.families.base import not_fitted, validate_window
from stocky.errors import BadInput


class Ar1Returns:
    model_type: ClassVar[str] = "ar1ret"
    description: ClassVar[str] = "AR(1) on log returns (a test plug-in)"

    def __init__(self) -> None:
        self.phi_: float | None = None
        self.sigma_: float | None = None

    @property
    def label(self) -> str:
        return f"AR1ret(phi={self.phi_:.2f})" if self.phi_ is not None else "AR1ret"

    @property
    def complexity(self) -> int:
        return 1

    @property
    def min_window(self) -> int:
        return 2

    def fit(self, y: Any) -> Ar1Returns:
        r = np.diff(np.log(validate_window(y, min_len=30, name="y")))
        x, z = r[:-1], r[1:]
        self.phi_ = float(x @ z / (x @ x))
        self.sigma_ = float(np.std(z - self.phi_ * x))
        return self

    def _params(self) -> tuple[float, float]:
        if self.phi_ is None or self.sigma_ is None:
            raise not_fitted(self.model_type)
        return self.phi_, self.sigma_

    def predict_one(self, window: Any) -> tuple[float, float]:
        phi, sigma = self._params()
        w = validate_window(window, min_len=2)
        return float(w[-1] * np.exp(phi * np.log(w[-1] / w[-2]))), float(sigma * w[-1])

    def one_step_path(self, y: Any, *, start: int) -> tuple[np.ndarray, np.ndarray]:
        phi, sigma = self._params()
        w = validate_window(y, min_len=start + 1, name="y")
        if start < 2:
            raise BadInput(f"start={start}: start at 2 or later")
        last, prev = w[start - 1 : -1], w[start - 2 : -2]
        return last * np.exp(phi * np.log(last / prev)), sigma * last

    def to_params(self) -> dict[str, Any]:
        phi, sigma = self._params()
        return {"phi": phi, "sigma": sigma}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Ar1Returns:
        model = cls()
        model.phi_, model.sigma_ = float(params["phi"]), float(params["sigma"])
        return model
