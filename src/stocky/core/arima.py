"""ARIMA(p, d, q): fit an order with statsmodels, forecast one step fast from fixed parameters.

`ArimaForecaster` follows the estimator shape: ``fit(y) -> self`` stores fitted state in
trailing-underscore attributes; ``forecast(window)`` returns a frozen `Forecast`. The fast path
uses `stocky.core.kalman` weights (per window length, or a table of all lengths made by
`prepare`), so a forecast is a
dot product that equals statsmodels' own forecast for the same parameters and window.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtri  # norm.ppf's kernel; scipy.stats takes ~1 s to import

from stocky.core.families.base import Forecast, validate_window
from stocky.core.fitcache import FitCache, digest
from stocky.core.kalman import LinearForecast, WeightTable, linear_forecast, weight_table
from stocky.core.kalman_batch import FilterModel, weight_tables
from stocky.core.volatility import IntervalMethod, ewma_std, validate_interval_method
from stocky.errors import BadInput, DataQualityError

__all__ = [
    "ArimaForecaster",
    "ArimaOrder",
    "ArimaParams",
    "Forecast",
    "prepare_many",
    "validate_window",
]

_MAX_P = _MAX_Q = 5
_MAX_D = 2


@dataclass(frozen=True, order=True)
class ArimaOrder:
    """An ARIMA order; ``str()`` gives the seed API's "(p, d, q)" form."""

    p: int
    d: int
    q: int

    def __post_init__(self) -> None:
        for name, value, high in (
            ("p", self.p, _MAX_P),
            ("d", self.d, _MAX_D),
            ("q", self.q, _MAX_Q),
        ):
            if not 0 <= value <= high:
                raise BadInput(f"ARIMA {name}={value} is out of range: use 0..{high}")

    def __str__(self) -> str:
        return f"({self.p}, {self.d}, {self.q})"

    @property
    def n_params(self) -> int:
        """Estimated parameters excluding sigma2 and any constant."""
        return self.p + self.q

    @classmethod
    def parse(cls, text: str) -> ArimaOrder:
        """Parse "2,1,2" or "(2, 1, 2)".

        Raises:
            BadInput: If the text is not three non-negative integers.
        """
        parts = re.findall(r"-?\d+", text)
        if len(parts) != 3 or re.sub(r"[\d\s,()\-]", "", text):
            raise BadInput(f"order {text!r} is not p,d,q: write three integers such as 2,1,2")
        p, d, q = (int(x) for x in parts)
        return cls(p, d, q)


RANDOM_WALK = ArimaOrder(0, 1, 0)


@dataclass(frozen=True)
class ArimaParams:
    """Fixed ARIMA parameters: everything a forecast needs, JSON-friendly."""

    order: ArimaOrder
    trend: str
    const: float
    ar: tuple[float, ...]
    ma: tuple[float, ...]
    sigma2: float

    def __post_init__(self) -> None:
        if self.trend not in ("n", "c"):
            raise BadInput(f"trend {self.trend!r} is not supported: use 'n' or 'c'")
        if self.trend == "c" and self.order.d != 0:
            raise BadInput("a constant needs d=0: use trend 'n' with d >= 1")
        if len(self.ar) != self.order.p or len(self.ma) != self.order.q:
            raise BadInput(
                f"{len(self.ar)} AR and {len(self.ma)} MA coefficients do not fit order "
                f"{self.order}: give p AR and q MA values"
            )
        values = (*self.ar, *self.ma, self.const, self.sigma2)
        if not all(np.isfinite(values)) or not self.sigma2 > 0:
            raise BadInput("ARIMA parameters must be finite with sigma2 > 0: refit the model")

    def as_vector(self) -> NDArray[np.float64]:
        """Parameters in statsmodels' order: [const], ar..., ma..., sigma2."""
        head = [self.const] if self.trend == "c" else []
        return np.array([*head, *self.ar, *self.ma, self.sigma2], dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": [self.order.p, self.order.d, self.order.q],
            "trend": self.trend,
            "const": self.const,
            "ar": list(self.ar),
            "ma": list(self.ma),
            "sigma2": self.sigma2,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArimaParams:
        """Rebuild from `to_dict` output.

        Raises:
            BadInput: If a key is missing or a value is malformed.
        """
        try:
            return cls(
                order=ArimaOrder(*(int(v) for v in data["order"])),
                trend=str(data["trend"]),
                const=float(data.get("const", 0.0)),
                ar=tuple(float(v) for v in data["ar"]),
                ma=tuple(float(v) for v in data["ma"]),
                sigma2=float(data["sigma2"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"model parameters are malformed ({exc!r}): retrain the model") from exc

    @classmethod
    def from_statsmodels(
        cls, order: ArimaOrder, trend: str, names: list[str], values: Any
    ) -> ArimaParams:
        """Build from a statsmodels result's ``param_names`` and ``params``."""
        by_name = dict(zip(names, np.asarray(values, dtype=float), strict=True))
        return cls(
            order=order,
            trend=trend,
            const=float(by_name.get("const", 0.0)),
            ar=tuple(by_name[f"ar.L{i}"] for i in range(1, order.p + 1)),
            ma=tuple(by_name[f"ma.L{i}"] for i in range(1, order.q + 1)),
            sigma2=float(by_name["sigma2"]),
        )


@lru_cache(maxsize=16)
def _z(level: float) -> float:
    """Two-sided normal quantile (scipy.stats.norm.ppf's kernel), cached per level."""
    if not 0 < level < 1:
        raise BadInput(f"level={level} must be between 0 and 1: use e.g. 0.95")
    return float(ndtri(0.5 + level / 2))


@lru_cache(maxsize=4096)
def _weights(params: ArimaParams, n: int) -> LinearForecast:
    return linear_forecast(
        n,
        ar=np.array(params.ar),
        ma=np.array(params.ma),
        d=params.order.d,
        sigma2=params.sigma2,
        mean=params.const,
    )


def _table(params: ArimaParams, n: int) -> WeightTable:
    return weight_table(
        n,
        ar=np.array(params.ar),
        ma=np.array(params.ma),
        d=params.order.d,
        sigma2=params.sigma2,
        mean=params.const,
    )


#: Fits by their exact prices, order, trend and warm start: a replay's retrains refit windows
#: they fitted before (`core.fitcache`).
_FITS: FitCache[tuple[ArimaParams, float, tuple[str, ...]]] = FitCache(256)


class ArimaForecaster:
    """ARIMA(p, d, q) with a constant when d=0 and none otherwise (statsmodels' defaults).

    `interval` chooses how `forecast` sizes its interval (see IntervalMethod), and
    `interval_scale` widens an "ewma" interval by a calibrated factor
    (`stocky.core.volatility.interval_scale`); the mean depends on neither.

    Attributes set by `fit` / `from_params`: ``params_`` (ArimaParams), ``aic_``, ``nobs_``,
    ``fit_warnings_`` (messages statsmodels raised while fitting, kept for the run record).
    """

    def __init__(
        self,
        order: ArimaOrder,
        *,
        trend: str | None = None,
        interval: str = "model",
        interval_scale: float = 1.0,
    ) -> None:
        self.order = order
        self.trend = trend if trend is not None else ("c" if order.d == 0 else "n")
        self.interval: IntervalMethod = validate_interval_method(interval)
        if not (np.isfinite(interval_scale) and interval_scale > 0):
            raise BadInput(
                f"interval_scale={interval_scale!r} is invalid: pass a finite number > 0 "
                "(1.0 for none)"
            )
        self.interval_scale = float(interval_scale)
        self.params_: ArimaParams | None = None
        self.aic_: float = float("nan")
        self.nobs_: int = 0
        self.fit_warnings_: tuple[str, ...] = ()
        self._table: WeightTable | None = None

    def _model(self, y: NDArray[np.float64]) -> Any:
        from statsmodels.tsa.arima.model import ARIMA

        return ARIMA(y, order=(self.order.p, self.order.d, self.order.q), trend=self.trend)

    def fit(self, y: ArrayLike, *, start_params: ArimaParams | None = None) -> ArimaForecaster:
        """Fit by exact maximum likelihood (statsmodels state space).

        Args:
            y: Prices, oldest first.
            start_params: Optional warm start (for example the previous fit's parameters).

        Returns:
            self, fitted.

        Raises:
            BadInput: If y is too short or not finite and positive.
        """
        arr = validate_window(
            y, min_len=max(30, 3 * (self.order.p + self.order.q + self.order.d) + 10), name="y"
        )
        start = (
            start_params.as_vector()
            if start_params is not None and start_params.order == self.order
            else None
        )
        key = (self.order, self.trend, digest(arr, start))
        self.params_, self.aic_, self.fit_warnings_ = _FITS.get_or_fit(
            key, lambda: self._fit(arr, start)
        )
        self.nobs_ = len(arr)
        self._table = None  # weights of the previous parameters
        return self

    def _fit(
        self, arr: NDArray[np.float64], start: NDArray[np.float64] | None
    ) -> tuple[ArimaParams, float, tuple[str, ...]]:
        """(parameters, AIC, warnings) of statsmodels' fit of `arr` (see `fit`)."""
        model = self._model(arr)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                # No standard errors (never used: cov_type="none" skips a numerical Hessian)
                # and no stored filter output (low_memory): the same estimates, cheaper.
                res = model.fit(start_params=start, cov_type="none", low_memory=True)
            except (np.linalg.LinAlgError, ValueError) as exc:
                # statsmodels gives up on some series (a singular covariance in the exact ML)
                raise DataQualityError(
                    f"ARIMA{self.order} could not be fitted to these {len(arr)} prices "
                    f"({type(exc).__name__}: {exc}): try another --order (e.g. 0,1,0, the "
                    "random walk) or check the prices for jumps"
                ) from exc
        params = ArimaParams.from_statsmodels(
            self.order, self.trend, list(model.param_names), res.params
        )
        found = tuple(sorted({f"{w.category.__name__}: {w.message}" for w in caught}))
        return params, float(res.aic), found

    @classmethod
    def from_params(
        cls, params: ArimaParams, *, interval: str = "model", interval_scale: float = 1.0
    ) -> ArimaForecaster:
        """A fitted forecaster from stored parameters (no data, no fitting)."""
        model = cls(
            params.order, trend=params.trend, interval=interval, interval_scale=interval_scale
        )
        model.params_ = params
        return model

    def _fitted(self) -> ArimaParams:
        if self.params_ is None:
            raise BadInput(
                "this forecaster is not fitted: call fit(y) or from_params() before forecasting"
            )
        return self.params_

    def prepare(self, lengths: range) -> ArimaForecaster:
        """Compute the forecast weights for every window length up to ``max(lengths)`` now.

        Serving does this at load: one filter pass yields every length (``weight_table``), and
        the table stays with this forecaster, so a thousand loaded models never evict each
        other's weights from a shared cache.
        """
        params = self._fitted()
        if len(lengths):
            self._table = _table(params, max(lengths))
        return self

    def _filter_model(self) -> FilterModel:
        params = self._fitted()
        return FilterModel(params.ar, params.ma, params.order.d, params.sigma2, params.const)

    def forecast(self, window: ArrayLike, *, level: float = 0.95) -> Forecast:
        """One-step forecast after `window` (oldest first) with a central `level` interval.

        The interval's standard deviation is the model's (``interval="model"``) or the EWMA
        volatility of the window's own changes times `interval_scale` (``interval="ewma"``).

        Raises:
            BadInput: If the window is too short, non-finite or not positive.
        """
        params = self._fitted()
        arr = validate_window(window, min_len=params.order.d + 1)
        table = self._table
        lf = table.get(len(arr)) if table is not None and len(arr) <= table.max_length else None
        if lf is None:
            lf = _weights(params, len(arr))
        mean = float(lf.intercept + lf.weights @ arr)
        std = (
            float(np.sqrt(lf.variance))
            if self.interval == "model"
            else ewma_std(arr) * self.interval_scale
        )
        z = _z(level)
        return Forecast(mean=mean, lower=mean - z * std, upper=mean + z * std, std=std, level=level)

    def one_step_path(
        self, y: ArrayLike, *, start: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """One-step forecasts of y[start:], each from all of y before it, with fixed parameters.

        This is the Kalman filter run once over the whole series (statsmodels `filter`), the
        fast way to walk forward without refitting.

        Returns:
            (means, standard deviations), each of length ``len(y) - start``.
        """
        params = self._fitted()
        arr = validate_window(y, min_len=start + 1, name="y")
        if start < params.order.d + 1:
            raise BadInput(
                f"start={start} leaves no history: start at {params.order.d + 1} or later"
            )
        res = self._model(arr).filter(params.as_vector())
        pred = res.get_prediction(start=start)
        return np.asarray(pred.predicted_mean, float), np.sqrt(
            np.asarray(pred.var_pred_mean, float)
        )


def prepare_many(models: Sequence[ArimaForecaster], lengths: range) -> None:
    """`prepare(lengths)` of every model, their weight tables computed in stacks.

    Same tables as preparing each model on its own (to rounding), for a fraction of the
    time (`stocky.core.kalman_batch`): a server loads a thousand champions at once.

    Args:
        models: Fitted forecasters, any mix of orders.
        lengths: The window lengths to prepare (only the longest matters).

    Raises:
        BadInput: A model is not fitted.
    """
    if not len(lengths):
        return
    tables = weight_tables(max(lengths), [model._filter_model() for model in models])
    for model, table in zip(models, tables, strict=True):
        model._table = table
