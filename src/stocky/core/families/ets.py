"""Exponential smoothing (ETS) without season: additive errors, no / additive / damped trend.

`fit` runs statsforecast's ``AutoETS(model="AZN", damped=None)``, which fits ETS(A,N,N),
ETS(A,A,N) and ETS(A,Ad,N) by maximum likelihood and keeps the lowest AICc (or the one trend
asked for). The fitted smoothing parameters (alpha, beta, phi), the initial and final states
and sigma go to JSON; forecasts come from stocky's own recursion (statsforecast's update, in
error-correction form)::

    f_t = l_{t-1} + phi * b_{t-1}            (one-step forecast of y_t)
    l_t = f_t + alpha * (y_t - f_t)
    b_t = phi * b_{t-1} + beta * (y_t - f_t)

Window start-up: the server sees the last ~60 prices, not the training history, so a window
``w`` starts from level ``w[0]`` and trend ``b_T`` (the fitted trend at the end of the training
prices), and the recursion runs over ``w[1:]``. The start-up level's weight in the forecast
decays like ``(1 - alpha)^(n-1)`` (nothing at alpha near 1, < 1e-40 at alpha 0.8 and 60
prices); statsforecast's ``forward(y=w)`` starts instead from the fitted *initial* states of
the training series, so the two agree once that weight is negligible. `one_step_path` runs the
recursion once over ``y`` from the same start-up (``y[0]``, ``b_T``).

The forecast is linear in the window, so `predict_one` is one dot product with weights cached
per (parameters, window length).
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

__all__ = ["TRENDS", "Ets", "EtsParams", "ets_filter"]

#: Trend kinds: none, additive, additive damped.
TRENDS: tuple[str, ...] = ("N", "A", "Ad")

# Our trend -> statsforecast's (model, damped); None chooses among all three by AICc.
_SF_SPEC: dict[str | None, tuple[str, bool | None]] = {
    None: ("AZN", None),
    "N": ("ANN", False),
    "A": ("AAN", False),
    "Ad": ("AAN", True),
}

_COMPLEXITY = {"N": 2, "A": 4, "Ad": 5}  # smoothing parameters + initial states


@dataclass(frozen=True)
class EtsParams:
    """Fitted ETS(A,trend,N): smoothing parameters, states and the one-step sigma.

    ``beta`` is 0 and ``slope`` 0 without a trend; ``phi`` is 1 unless the trend is damped.
    ``level`` / ``slope`` are the states after the last training price, ``initial_level`` /
    ``initial_slope`` the fitted states before the first (kept to reproduce the fit).
    """

    trend: str
    alpha: float
    beta: float
    phi: float
    level: float
    slope: float
    sigma: float
    initial_level: float
    initial_slope: float

    def __post_init__(self) -> None:
        if self.trend not in TRENDS:
            raise BadInput(f"ETS trend={self.trend!r} is unknown: use one of {', '.join(TRENDS)}")
        for name, value in asdict(self).items():
            if name != "trend" and not math.isfinite(value):
                raise BadInput(f"ETS {name}={value!r} must be finite: retrain the model")
        if not 0 < self.alpha <= 1:
            raise BadInput(f"ETS alpha={self.alpha!r} must be in (0, 1]: retrain the model")
        if not 0 <= self.beta <= 1:
            raise BadInput(f"ETS beta={self.beta!r} must be in [0, 1]: retrain the model")
        if not 0 < self.phi <= 1:
            raise BadInput(f"ETS phi={self.phi!r} must be in (0, 1]: retrain the model")
        if not self.sigma > 0:
            raise BadInput(f"ETS sigma={self.sigma!r} must be > 0: retrain the model")
        if self.trend == "N" and (self.beta, self.slope, self.initial_slope) != (0, 0, 0):
            raise BadInput(
                "ETS without trend has beta, slope and initial_slope 0, got "
                f"{self.beta!r}, {self.slope!r}, {self.initial_slope!r}: retrain the model"
            )
        if self.trend != "Ad" and self.phi != 1:
            raise BadInput(
                f"ETS trend={self.trend!r} is undamped but phi={self.phi!r}: phi is 1 unless "
                "the trend is 'Ad'"
            )

    @property
    def label(self) -> str:
        return f"ETS(A,{self.trend},N)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EtsParams:
        """Parameters from `to_dict` output.

        Raises:
            BadInput: Missing, extra or out-of-range fields.
        """
        return params_from_json(cls, data, name="ETS", text="trend")


def ets_filter(
    y: NDArray[np.float64], params: EtsParams, *, level: float, slope: float
) -> tuple[NDArray[np.float64], float, float]:
    """Run the ETS recursion over `y` from the state (`level`, `slope`) before ``y[0]``.

    The update is statsforecast's (``ets.cpp`` ``Update``): ``l = q + alpha (y - q)`` with
    ``q = l + phi b``, ``b = phi b + (beta / alpha) (l_new - l - phi b)``.

    Returns:
        (one-step forecasts of each ``y[i]``, final level, final slope).
    """
    alpha, beta, phi = params.alpha, params.beta, params.phi
    trended = params.trend != "N"
    ratio = beta / alpha
    out = []
    lvl, b = float(level), float(slope) if trended else 0.0
    for yi in y.tolist():
        phib = phi * b if trended else 0.0
        q = lvl + phib
        out.append(q)
        new = q + alpha * (yi - q)
        if trended:
            b = phib + ratio * ((new - lvl) - phib)
        lvl = new
    return np.array(out, dtype=float), lvl, b


@lru_cache(maxsize=4096)
def _weights(params: EtsParams, n: int) -> tuple[NDArray[np.float64], float]:
    """Weights w and intercept c with forecast = w @ window + c for windows of length n.

    The state x = (l, b) moves as x_t = D x_{t-1} + g y_t with D = F - g h', F = [[1, phi],
    [0, phi]], g = (alpha, beta), h = (1, phi); the forecast is h' x. Price w[k] enters
    through h' D^(n-1-k) g, the start-up level w[0] through h' D^(n-1) e1 and the start-up
    trend b_T through h' D^(n-1) e2.
    """
    a, b, phi = params.alpha, params.beta, params.phi
    r0, r1 = 1.0, phi  # the row vector h' D^j, j = 0, 1, ...
    coef = np.empty(n)
    for j in range(n - 1):
        coef[n - 1 - j] = r0 * a + r1 * b
        r0, r1 = r0 * (1 - a) - r1 * b, (r0 * (1 - a) + r1 * (1 - b)) * phi
    coef[0] = r0
    coef.flags.writeable = False
    return coef, r1 * params.slope


class Ets:
    """ETS(A, trend, N), the trend chosen by AICc when `trend` is None.

    Attributes set by `fit` / `from_params`: ``params_`` (EtsParams); by `fit` also ``aicc_``
    and ``nobs_``.
    """

    model_type: ClassVar[str] = "ets"
    description: ClassVar[str] = (
        "Exponential smoothing ETS(A,N/A/Ad,N): trend by AICc, statsforecast AutoETS fit"
    )

    def __init__(self, trend: str | None = None) -> None:
        if trend is not None and trend not in TRENDS:
            raise BadInput(f"ETS trend={trend!r} is unknown: use one of {', '.join(TRENDS)}")
        self.trend = trend
        self.params_: EtsParams | None = None
        self.aicc_: float = float("nan")
        self.nobs_: int = 0

    @property
    def label(self) -> str:
        if self.params_ is not None:
            return self.params_.label
        return f"ETS(A,{self.trend},N)" if self.trend is not None else "ETS(auto)"

    @property
    def complexity(self) -> int:
        trend = self.params_.trend if self.params_ is not None else self.trend
        return _COMPLEXITY[trend] if trend is not None else 0

    @property
    def min_window(self) -> int:
        return 1

    def fit(self, y: ArrayLike) -> Ets:
        """Fit on prices `y` (oldest first) with statsforecast's AutoETS.

        Raises:
            BadInput: Fewer than 30 prices, bad prices, or no movement at all.
            DataQualityError: statsforecast could not fit any model.
        """
        arr = fit_prices(y)
        from statsforecast.models import AutoETS

        model, damped = _SF_SPEC[self.trend]
        try:
            fitted = AutoETS(model=model, damped=damped).fit(arr).model_
        # statsforecast signals "nothing could be fitted" with a bare Exception.
        except Exception as exc:
            raise DataQualityError(
                f"ETS could not be fitted to these {len(arr)} prices ({type(exc).__name__}: "
                f"{exc}): try another family (e.g. naive) or check the prices for jumps"
            ) from exc
        self.params_ = _from_statsforecast(fitted)
        self.aicc_ = float(fitted["aicc"])
        self.nobs_ = len(arr)
        return self

    def _fitted(self) -> EtsParams:
        if self.params_ is None:
            raise not_fitted(self.model_type)
        return self.params_

    def predict_one(self, window: ArrayLike) -> tuple[float, float]:
        params = self._fitted()
        arr = validate_window(window, min_len=1)
        coef, intercept = _weights(params, len(arr))
        return float(coef @ arr + intercept), params.sigma

    def one_step_path(
        self, y: ArrayLike, *, start: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        params = self._fitted()
        arr = path_prices(y, start=start)
        means, _, _ = ets_filter(arr[1:], params, level=float(arr[0]), slope=params.slope)
        out = means[start - 1 :]
        return out, np.full(out.size, params.sigma)

    def to_params(self) -> dict[str, Any]:
        return self._fitted().to_dict()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Ets:
        ets = EtsParams.from_dict(params)
        model = cls(ets.trend)
        model.params_ = ets
        return model


def _from_statsforecast(fitted: Mapping[str, Any]) -> EtsParams:
    """EtsParams from statsforecast's fitted ETS dict (``AutoETS().fit(y).model_``)."""
    components = str(fitted["components"])  # error, trend, season, damped: "AAND"
    if components[0] != "A" or components[2] != "N" or components[1] not in ("N", "A"):
        raise DataQualityError(
            f"statsforecast fitted ETS components {components!r}, not ETS(A,N/A/Ad,N): "
            "report this with the prices"
        )
    trend = "N" if components[1] == "N" else ("Ad" if components[3] == "D" else "A")
    par = np.asarray(fitted["par"], dtype=float)
    final = np.asarray(fitted["states"], dtype=float)[-1]
    trended = trend != "N"
    return EtsParams(
        trend=trend,
        alpha=float(par[0]),
        beta=float(par[1]) if trended else 0.0,
        phi=float(par[3]) if trend == "Ad" else 1.0,
        level=float(final[0]),
        slope=float(final[1]) if trended else 0.0,
        sigma=float(np.sqrt(fitted["sigma2"])),
        initial_level=float(par[4]),
        initial_slope=float(par[5]) if trended else 0.0,
    )
