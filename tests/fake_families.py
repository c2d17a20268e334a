"""Tiny model families for tests of the choice: an AR(1) on price changes with a fixed phi.

Registered by a test under a model_type of its own (`monkeypatch.setitem` on the registry's
table); identical forecasts under different complexities exercise the tie-break.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Ar1Lean", "Ar1Rich", "Ar1Twin"]


class _Ar1:
    model_type: ClassVar[str] = "ar1"
    description: ClassVar[str] = "TEST: next change = phi * last change"
    _complexity: ClassVar[int] = 1
    #: Relative nudge of every forecast towards the actual side (a near-tie with a twin).
    nudge: ClassVar[float] = 0.0

    def __init__(self, phi: float = 0.3) -> None:
        self.phi = phi
        self.sigma_: float | None = None

    @property
    def label(self) -> str:
        return f"{type(self).__name__}({self.phi:g})"

    @property
    def complexity(self) -> int:
        return self._complexity

    @property
    def min_window(self) -> int:
        return 2

    def fit(self, y: ArrayLike) -> _Ar1:
        self.sigma_ = float(np.diff(np.asarray(y, dtype=float)).std())
        return self

    def predict_one(self, window: ArrayLike) -> tuple[float, float]:
        w = np.asarray(window, dtype=float)
        return float(w[-1] + self.phi * (w[-1] - w[-2])), float(self.sigma_ or 1.0)

    def one_step_path(
        self, y: ArrayLike, *, start: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        arr = np.asarray(y, dtype=float)
        last, prev = arr[start - 1 : -1], arr[start - 2 : -2]
        means = last + self.phi * (last - prev)
        means = means + self.nudge * (arr[start:] - means)
        return means, np.full(means.size, float(self.sigma_ or 1.0))

    def to_params(self) -> dict[str, Any]:
        return {"phi": self.phi, "sigma": self.sigma_}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> _Ar1:
        model = cls(float(params["phi"]))
        model.sigma_ = float(params["sigma"])
        return model


class Ar1Lean(_Ar1):
    model_type: ClassVar[str] = "ar1_lean"
    _complexity: ClassVar[int] = 1


class Ar1Rich(_Ar1):
    """The same forecasts as Ar1Lean, a hair closer to the actuals (1e-10), three parameters."""

    model_type: ClassVar[str] = "ar1_rich"
    _complexity: ClassVar[int] = 3
    nudge: ClassVar[float] = 1e-10


class Ar1Twin(_Ar1):
    model_type: ClassVar[str] = "ar1_twin"
    _complexity: ClassVar[int] = 1
