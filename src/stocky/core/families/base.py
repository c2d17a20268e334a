"""The one interface every model family implements, and the forecast it returns.

A family is a class with a ``model_type`` key that fits on an array of prices (``fit(y) ->
self``, fitted state in trailing-underscore attributes), forecasts one step from a price window
with its stored parameters, walks forward with fixed parameters, and round-trips those
parameters through JSON (``to_params`` / ``from_params``; never pickle). Interval *methods*
(EWMA, GARCH, conformal...) are separate from families: a family reports its own one-step
standard deviation and the caller decides how wide the served interval is.

Pure: numpy only. A family module imports its fitting library inside ``fit`` so that serving a
stored model never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.errors import BadInput

T = TypeVar("T")

__all__ = [
    "FamilyInfo",
    "fit_prices",
    "params_from_json",
    "path_prices",
    "Forecast",
    "Forecaster",
    "GlobalForecaster",
    "not_fitted",
    "validate_window",
]


@dataclass(frozen=True)
class Forecast:
    """A one-step forecast with a central interval at `level`."""

    mean: float
    lower: float
    upper: float
    std: float
    level: float = 0.95


@dataclass(frozen=True)
class FamilyInfo:
    """What `stocky families` lists about a family."""

    model_type: str
    description: str
    origin: str  # "built-in" or the plug-in's distribution name
    is_global: bool = False


def validate_window(
    window: ArrayLike, *, min_len: int = 2, name: str = "recent_prices"
) -> NDArray[np.float64]:
    """Check a price window and return it as a float array.

    Raises:
        BadInput: Naming the first bad index and the fix.
    """
    try:
        arr = np.asarray(window, dtype=float)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{name} must be a list of numbers: send finite prices > 0") from exc
    if arr.ndim != 1:
        raise BadInput(f"{name} must be a flat list of prices, got {arr.ndim} dimensions")
    if len(arr) < min_len:
        raise BadInput(
            f"{name} has {len(arr)} prices, fewer than {min_len}: send at least {min_len}"
        )
    bad = np.flatnonzero(~np.isfinite(arr) | (arr <= 0))
    if len(bad):
        i = int(bad[0])
        what = "NaN" if np.isnan(arr[i]) else ("infinite" if np.isinf(arr[i]) else f"{arr[i]:g}")
        raise BadInput(f"{name}[{i}] is {what}: send finite prices > 0")
    return arr


def fit_prices(y: ArrayLike, *, min_len: int = 30) -> NDArray[np.float64]:
    """Training prices checked for a fit: at least `min_len` finite prices > 0 that move.

    Raises:
        BadInput: Too few or bad prices (naming the first), or all of them equal.
    """
    arr = validate_window(y, min_len=min_len, name="y")
    if np.all(arr == arr[0]):
        raise BadInput(f"y's {len(arr)} prices are all {arr[0]:g}: send prices that move")
    return arr


def path_prices(y: ArrayLike, *, start: int, first: int = 1) -> NDArray[np.float64]:
    """Prices for `one_step_path(y, start=...)`: checked, with `first` prices before `start`.

    Raises:
        BadInput: Bad prices, or a `start` that leaves fewer than `first` prices of history.
    """
    arr = validate_window(y, min_len=start + 1, name="y")
    if start < first:
        raise BadInput(f"start={start} leaves no history: start at {first} or later")
    return arr


def params_from_json(cls: type[T], data: Mapping[str, Any], *, name: str, text: str) -> T:
    """A frozen parameters dataclass from its JSON form: exactly its fields, every one a
    number except the one `text` field (its validation is the dataclass's own).

    Raises:
        BadInput: Missing, extra or non-numeric fields, naming `name` and the fix.
    """
    fields = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    if set(data) != fields:
        raise BadInput(
            f"{name} parameters have fields {sorted(data)}, expected {sorted(fields)}: "
            "retrain the model"
        )
    try:
        numbers = {k: float(v) for k, v in data.items() if k != text}
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{name} parameters are malformed ({exc!r}): retrain the model") from exc
    return cls(**{text: str(data[text])}, **numbers)


def not_fitted(model_type: str) -> BadInput:
    """The error a family raises when asked to forecast before `fit` / `from_params`."""
    return BadInput(
        f"this {model_type} forecaster is not fitted: call fit(y) or from_params() before "
        "forecasting"
    )


@runtime_checkable
class Forecaster(Protocol):
    """One model family's forecaster (statsforecast's ``fit(y) -> self`` contract).

    Contract:
        * ``fit(y)`` fits on prices ``y`` (oldest first, finite, > 0) and returns self; it raises
          BadInput for input it cannot use and DataQualityError where the library gives up.
        * ``predict_one(window)`` returns ``(mean, std)`` of the next price after ``window``
          from stored parameters only: no fitting library import, no randomness; raises
          BadInput for a window shorter than ``min_window`` or with bad prices.
        * ``one_step_path(y, start=k)`` returns the means and standard deviations of
          ``predict_one`` over ``y[:t]`` for every ``t`` in ``k..len(y)-1`` (the walk-forward
          with fixed parameters); arrays of length ``len(y) - k``.
        * ``to_params()`` is JSON-serialisable and ``from_params(to_params())`` forecasts the
          same numbers.
        * ``label`` is short and human ("ARIMA(2,1,2)", "ETS(A,Ad,N)"); ``complexity`` counts
          estimated parameters (ties are broken towards the smaller).
    """

    model_type: ClassVar[str]
    description: ClassVar[str]

    @property
    def label(self) -> str: ...

    @property
    def complexity(self) -> int: ...

    @property
    def min_window(self) -> int: ...

    def fit(self, y: ArrayLike) -> Forecaster: ...

    def predict_one(self, window: ArrayLike) -> tuple[float, float]: ...

    def one_step_path(
        self, y: ArrayLike, *, start: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...

    def to_params(self) -> dict[str, Any]: ...

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Forecaster: ...


@runtime_checkable
class GlobalForecaster(Forecaster, Protocol):
    """A family fitted once on a whole universe (e.g. LightGBM on lagged returns).

    ``fit_many(series)`` fits one model on every series at once and returns self; it is then
    used per ticker like any other forecaster (``predict_one`` / ``one_step_path``), and its
    ``to_params()`` is shared by the tickers that use it.
    """

    def fit_many(self, series: Sequence[NDArray[np.float64]]) -> GlobalForecaster: ...
