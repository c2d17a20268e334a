"""The dynamic Theta models (Fiorucci et al. 2016) as fitted by statsforecast.

`fit` runs statsforecast's ``auto_theta`` for the dynamic standard (DSTM, theta = 2) and the
dynamic optimised (DOTM, theta estimated) Theta models and keeps the lower in-sample MSE, as
``AutoTheta`` does (DSTM wins ties, having one parameter fewer). The static variants (STM, OTM)
are left out: their in-sample errors use a trend line fitted on the whole training series
(look-ahead), so their estimates answer a question the walk-forward never asks; from a given
(alpha, theta) all four forecast the next price with the same formula.

The recursion (statsforecast's ``theta.cpp``), with ``q = 1 - alpha``, ``k = 1 - 1/theta`` and
``A_i``, ``B_i`` the intercept and slope of the least-squares line through the prices so far
(at times 1..i+1)::

    mu_i = l_{i-1} + k * (A_{i-1} q^i + B_{i-1} (1 - q^(i+1)) / alpha)   (forecast of y_i)
    l_i  = alpha y_i + q l_{i-1}

Start-up: ``l_0 = alpha y_0 + q s`` with the initial smoothed value ``s``. stocky fixes
``s = y_0`` (so ``l_0 = y_0``) both when fitting (statsforecast's ``initial_smoothed``; its
errors skip the first three steps, so ``s`` is barely identified) and when serving, where the
window's first price plays ``y_0``. The fitted model and the served one thus start the same
way, and `one_step_path` over the training prices reproduces statsforecast's fitted values.
statsforecast's ``forward(y=w)`` starts a window from the *training* series' ``s``; the
difference decays like ``q^(n-1)`` over the window. Note that the trend term is the slope of
the line through the window itself, so a forecast depends on the window's length (about 60
prices when serving), not only on the start-up.

The forecast is linear in the window, so `predict_one` is one dot product with weights built in
closed form (SES weights for the level, least-squares weights for the line) and cached per
(parameters, window length); `one_step_path` runs the recursion above, and the tests pin the
two together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.core.families.base import (
    fit_prices,
    not_fitted,
    params_from_json,
    path_prices,
    validate_window,
)
from stocky.errors import BadInput, DataQualityError

__all__ = ["THETA_MODELS", "Theta", "ThetaParams", "theta_filter"]

#: The dynamic Theta models stocky fits, simplest first.
THETA_MODELS: tuple[str, ...] = ("DSTM", "DOTM")

_COMPLEXITY = {"DSTM": 1, "DOTM": 2}  # alpha; alpha and theta


@dataclass(frozen=True)
class ThetaParams:
    """A fitted dynamic Theta model: smoothing weight, theta and the one-step sigma."""

    model: str
    alpha: float
    theta: float
    sigma: float

    def __post_init__(self) -> None:
        if self.model not in THETA_MODELS:
            raise BadInput(
                f"Theta model={self.model!r} is unknown: use one of {', '.join(THETA_MODELS)}"
            )
        for name in ("alpha", "theta", "sigma"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise BadInput(f"Theta {name}={value!r} must be finite: retrain the model")
        if not 0 < self.alpha <= 1:
            raise BadInput(f"Theta alpha={self.alpha!r} must be in (0, 1]: retrain the model")
        if not self.theta >= 1:
            raise BadInput(f"Theta theta={self.theta!r} must be >= 1: retrain the model")
        if self.model == "DSTM" and self.theta != 2:
            raise BadInput(f"DSTM has theta 2, got {self.theta!r}: retrain the model")
        if not self.sigma > 0:
            raise BadInput(f"Theta sigma={self.sigma!r} must be > 0: retrain the model")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThetaParams:
        """Parameters from `to_dict` output.

        Raises:
            BadInput: Missing, extra or out-of-range fields.
        """
        return params_from_json(cls, data, name="Theta", text="model")


def theta_filter(
    y: NDArray[np.float64], alpha: float, theta: float, *, initial_smoothed: float
) -> NDArray[np.float64]:
    """Run the dynamic Theta recursion over `y` (statsforecast's ``theta.cpp`` ``update``).

    Returns:
        ``len(y)`` forecasts: of ``y[1]``, ..., ``y[n-1]`` and of the price after ``y[n-1]``.
    """
    q = 1.0 - alpha
    k = 1.0 - 1.0 / theta
    ys = y.tolist()
    y0 = ys[0]
    level = alpha * y0 + q * initial_smoothed
    mean, a_n, b_n = y0, y0, 0.0
    out = []
    n = len(ys)
    for i in range(1, n + 1):
        out.append(level + k * (a_n * q**i + b_n * (1.0 - q ** (i + 1)) / alpha))
        if i == n:
            break
        yi = ys[i]
        level = alpha * yi + q * level
        b_n = ((i - 1) * b_n + 6.0 * (yi - mean) / (i + 1)) / (i + 2)
        mean = (i * mean + yi) / (i + 1)
        a_n = mean - b_n * (i + 2) / 2.0
    return np.array(out, dtype=float)


@lru_cache(maxsize=4096)
def _weights(params: ThetaParams, n: int) -> NDArray[np.float64]:
    """Weights w with forecast = w @ window for windows of length n (start-up l_0 = w[0])."""
    alpha = params.alpha
    q = 1.0 - alpha
    k = 1.0 - 1.0 / params.theta
    # Level l_{n-1} = q^(n-1) w[0] + sum_{j>=1} alpha q^(n-1-j) w[j].
    level = alpha * q ** np.arange(n - 1, -1, -1, dtype=float)
    level[0] = q ** (n - 1)
    # Least-squares line through (1, w[0]), ..., (n, w[n-1]): slope and intercept at time 0.
    if n > 1:
        centred = np.arange(1, n + 1, dtype=float) - (n + 1) / 2
        slope = 12.0 * centred / (n * (n * n - 1.0))
    else:
        slope = np.zeros(1)
    intercept = 1.0 / n - slope * (n + 1) / 2
    coef = level + k * (intercept * q**n + slope * (1.0 - q ** (n + 1)) / alpha)
    coef.flags.writeable = False
    return coef


class Theta:
    """Dynamic Theta, DSTM or DOTM by in-sample MSE when `model` is None.

    Attributes set by `fit` / `from_params`: ``params_`` (ThetaParams); by `fit` also ``mse_``
    (statsforecast's criterion of each model tried) and ``nobs_``.
    """

    model_type: ClassVar[str] = "theta"
    description: ClassVar[str] = (
        "Dynamic Theta method (DSTM/DOTM by in-sample MSE), statsforecast fit"
    )

    def __init__(self, model: str | None = None) -> None:
        if model is not None and model not in THETA_MODELS:
            raise BadInput(
                f"Theta model={model!r} is unknown: use one of {', '.join(THETA_MODELS)}"
            )
        self.model = model
        self.params_: ThetaParams | None = None
        self.mse_: dict[str, float] = {}
        self.nobs_: int = 0

    @property
    def label(self) -> str:
        model = self.params_.model if self.params_ is not None else self.model
        return f"Theta({model})" if model is not None else "Theta(auto)"

    @property
    def complexity(self) -> int:
        model = self.params_.model if self.params_ is not None else self.model
        return _COMPLEXITY[model] if model is not None else 0

    @property
    def min_window(self) -> int:
        return 1

    def fit(self, y: ArrayLike) -> Theta:
        """Fit on prices `y` (oldest first) with statsforecast's ``auto_theta``.

        Raises:
            BadInput: Fewer than 30 prices, bad prices, or no movement at all.
            DataQualityError: statsforecast could not fit the model.
        """
        arr = fit_prices(y)
        from statsforecast.theta import auto_theta

        best: dict[str, Any] | None = None
        mse: dict[str, float] = {}
        for model in (self.model,) if self.model is not None else THETA_MODELS:
            try:
                fitted = auto_theta(arr, 1, model=model, initial_smoothed=float(arr[0]))
            # statsforecast signals "nothing could be fitted" with a bare Exception.
            except Exception as exc:
                raise DataQualityError(
                    f"Theta({model}) could not be fitted to these {len(arr)} prices "
                    f"({type(exc).__name__}: {exc}): try another family (e.g. naive)"
                ) from exc
            mse[model] = float(fitted["mse"])
            if math.isfinite(mse[model]) and (best is None or mse[model] < best["mse"]):
                best = fitted
        if best is None:
            raise DataQualityError(
                f"Theta has no finite in-sample error on these {len(arr)} prices ({mse}): "
                "try another family (e.g. naive)"
            )
        residuals = np.asarray(best["residuals"], dtype=float)[3:]
        self.params_ = ThetaParams(
            model=str(best["modeltype"]),
            alpha=float(best["par"]["alpha"]),
            theta=float(best["par"]["theta"]),
            # statsforecast's interval sigma: the residuals after its three start-up steps.
            sigma=float(np.std(residuals, ddof=1)),
        )
        self.mse_ = mse
        self.nobs_ = len(arr)
        return self

    def _fitted(self) -> ThetaParams:
        if self.params_ is None:
            raise not_fitted(self.model_type)
        return self.params_

    def predict_one(self, window: ArrayLike) -> tuple[float, float]:
        params = self._fitted()
        arr = validate_window(window, min_len=1)
        return float(_weights(params, len(arr)) @ arr), params.sigma

    def one_step_path(
        self, y: ArrayLike, *, start: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        params = self._fitted()
        arr = path_prices(y, start=start)
        means = theta_filter(arr[:-1], params.alpha, params.theta, initial_smoothed=arr[0])
        out = means[start - 1 :]
        return out, np.full(out.size, params.sigma)

    def to_params(self) -> dict[str, Any]:
        return self._fitted().to_dict()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Theta:
        theta = ThetaParams.from_dict(params)
        model = cls(theta.model)
        model.params_ = theta
        return model
