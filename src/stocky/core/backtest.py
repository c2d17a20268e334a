"""Walk-forward evaluation: forecast each test session from everything before it.

Parameters are fitted once on the training window and then held fixed while the Kalman filter
walks through the test period (optionally refitting every K sessions). Refitting at every step,
the seed's method, is `refit_every=1`: two orders of magnitude slower for no gain in RMSE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from stocky.core.arima import (
    ArimaForecaster,
    ArimaOrder,
    ArimaParams,
    validate_window,
)
from stocky.core.families.base import Forecaster
from stocky.core.intervals import interval_method
from stocky.core.volatility import ewma_std_path, interval_scale, validate_interval_method
from stocky.errors import BadInput

__all__ = ["WalkForward", "served_path", "walk_forward", "walk_forward_model"]


@dataclass(frozen=True)
class WalkForward:
    """One-step forecasts over a test period; positions index the input series."""

    start: int
    actual: NDArray[np.float64]
    mean: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    naive: NDArray[np.float64]
    params: tuple[ArimaParams, ...]
    refits: int
    #: The calibrated widening of "ewma" intervals (1.0 for "model").
    interval_scale: float = 1.0
    #: The fitted family forecaster of each block (family-neutral walks; () for ARIMA walks).
    models: tuple[Forecaster, ...] = ()
    #: The interval method of the walk and its parameters (`stocky.core.intervals`).
    interval: str = "model"
    interval_params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rmse(self) -> float:
        return float(np.sqrt(np.mean((self.actual - self.mean) ** 2)))

    @property
    def naive_rmse(self) -> float:
        return float(np.sqrt(np.mean((self.actual - self.naive) ** 2)))


def _validate_split(n: int, test_size: int, train_window: int, order: ArimaOrder) -> None:
    if test_size < 1:
        raise BadInput(f"test_size={test_size}: use at least 1 test session")
    need = test_size + max(30, order.d + 1)
    if n < need:
        raise BadInput(
            f"{n} prices are too few for a {test_size}-session test: need at least {need}; "
            "use a shorter --test-size or more history"
        )
    if train_window < 0:
        raise BadInput(f"train_window={train_window}: use 0 (all history) or a positive count")


def walk_forward(
    y: ArrayLike,
    *,
    order: ArimaOrder,
    test_size: int,
    train_window: int = 0,
    refit_every: int = 0,
    params: ArimaParams | None = None,
    level: float = 0.95,
    interval: str = "model",
    interval_window: int = 60,
) -> WalkForward:
    """Walk forward over the last `test_size` points of `y`.

    Args:
        y: Prices, oldest first.
        order: ARIMA order to evaluate.
        test_size: Number of final points to forecast one step ahead.
        train_window: Points used to fit before each block (0 = everything before it).
        refit_every: Refit every K test points (0 = never, 1 = the seed's refit at every step).
        params: Fixed parameters to use instead of fitting on the training window.
        level: Interval level.
        interval: "model" (the ARIMA's own variance) or "ewma" (the EWMA volatility of the
            `interval_window` prices before each session, as a server given that many would,
            times `interval_scale` calibrated on the training window before the test period).
        interval_window: Prices behind each EWMA interval.

    Returns:
        A WalkForward with forecasts, naive forecasts (previous price) and intervals.

    Raises:
        BadInput: If the series is too short for the split or contains bad prices.
    """
    arr = validate_window(y, min_len=2, name="y")
    method = validate_interval_method(interval)
    n = len(arr)
    _validate_split(n, test_size, train_window, order)
    test_start = n - test_size
    block = refit_every if refit_every > 0 else test_size
    z = float(norm.ppf(0.5 + level / 2))
    means: list[NDArray[np.float64]] = []
    stds: list[NDArray[np.float64]] = []
    used: list[ArimaParams] = []
    current = params
    refits = 0
    for b in range(test_start, n, block):
        end = min(b + block, n)
        seg_start = max(0, b - train_window) if train_window else 0
        if current is None or (refit_every > 0 and b > test_start):
            model = ArimaForecaster(order).fit(arr[seg_start:b], start_params=current)
            current = model.params_
            refits += 1
        assert current is not None
        m, s = ArimaForecaster.from_params(current).one_step_path(
            arr[seg_start:end], start=b - seg_start
        )
        means.append(m)
        stds.append(s)
        used.append(current)
    mean = np.concatenate(means)
    scale = 1.0
    if method == "model":
        std = np.concatenate(stds)
    else:
        history = arr[max(0, test_start - train_window) if train_window else 0 : test_start]
        scale = interval_scale(history, window=interval_window, level=level)
        std = scale * ewma_std_path(arr, start=test_start, window=interval_window)
    return WalkForward(
        start=test_start,
        actual=arr[test_start:].copy(),
        mean=mean,
        lower=mean - z * std,
        upper=mean + z * std,
        naive=arr[test_start - 1 : n - 1].copy(),
        params=tuple(used),
        refits=refits,
        interval_scale=scale,
    )


def served_path(
    model: Forecaster, y: ArrayLike, *, start: int, window: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One-step forecasts of ``y[start:]`` as a server given the last `window` prices makes them.

    With ``window=0`` each forecast uses everything before it (`one_step_path`, one pass).
    Otherwise forecast t is ``predict_one(y[t - window:t])``: what `POST /predict` and the
    daily job answer from their ``STOCKY_MAX_PRICES`` window. The two differ where a family's
    forecast depends on the window (Theta's trend line, a recursion's start-up), and what is
    served is what must be evaluated.

    Returns:
        (means, standard deviations), each of length ``len(y) - start``.
    """
    if window <= 0:
        return model.one_step_path(y, start=start)
    arr = np.asarray(y, dtype=float)
    n = len(arr) - start
    means = np.empty(n)
    stds = np.empty(n)
    for j, t in enumerate(range(start, len(arr))):
        means[j], stds[j] = model.predict_one(arr[max(0, t - window) : t])
    return means, stds


def walk_forward_model(
    y: ArrayLike,
    *,
    make: Callable[[], Forecaster],
    test_size: int,
    train_window: int = 0,
    refit_every: int = 0,
    fitted: Forecaster | None = None,
    level: float = 0.95,
    interval: str = "ewma",
    interval_window: int = 60,
    serve_window: int = 0,
    interval_params: Mapping[str, Any] | None = None,
) -> WalkForward:
    """Walk any family forward over the last `test_size` points of `y` (fixed parameters).

    The family-neutral `walk_forward`: `make()` returns an unfitted forecaster, fitted on the
    training window before each block (only once with ``refit_every=0``), or `fitted` is used
    as is for the first block. Each block is one `one_step_path` call.

    Args:
        y: Prices, oldest first.
        make: Builds an unfitted forecaster of the family (and its configuration).
        test_size: Number of final points to forecast one step ahead.
        train_window: Points used to fit before each block (0 = everything before it).
        refit_every: Refit every K test points (0 = never).
        fitted: Already fitted forecaster for the first block (e.g. a global model).
        level: Interval level.
        interval: An interval method (`stocky.core.intervals`): "model" (the family's own
            sigma), "ewma" (as `walk_forward`), "garch" or "conformal".
        interval_window: Prices behind each served interval.
        serve_window: Prices behind each forecast, as served (0 = all before it; see
            `served_path`).
        interval_params: The method's parameters; without them the method is fitted on the
            training window before the test period (conformal cannot be: it needs them).

    Returns:
        A WalkForward; ``models`` holds the forecaster of each block.

    Raises:
        BadInput: If the series is too short for the split or contains bad prices.
    """
    arr = validate_window(y, min_len=2, name="y")
    method = interval_method(interval)
    n = len(arr)
    _validate_split(n, test_size, train_window, ArimaOrder(0, 1, 0))
    test_start = n - test_size
    block = refit_every if refit_every > 0 else test_size
    means: list[NDArray[np.float64]] = []
    stds: list[NDArray[np.float64]] = []
    used: list[Forecaster] = []
    current = fitted
    for b in range(test_start, n, block):
        end = min(b + block, n)
        seg_start = max(0, b - train_window) if train_window else 0
        if current is None or (refit_every > 0 and b > test_start):
            current = make().fit(arr[seg_start:b])
        m, s = served_path(current, arr[seg_start:end], start=b - seg_start, window=serve_window)
        means.append(np.asarray(m, dtype=float))
        stds.append(np.asarray(s, dtype=float))
        used.append(current)
    mean = np.concatenate(means)
    if interval_params is None:
        history = arr[max(0, test_start - train_window) if train_window else 0 : test_start]
        fitted_params = method.fit(history, window=interval_window, level=level)
    else:
        fitted_params = method.check(interval_params)
    half = method.half_width_path(
        arr,
        start=test_start,
        window=interval_window,
        level=level,
        params=fitted_params,
        model_std=np.concatenate(stds),
    )
    return WalkForward(
        start=test_start,
        actual=arr[test_start:].copy(),
        mean=mean,
        lower=mean - half,
        upper=mean + half,
        naive=arr[test_start - 1 : n - 1].copy(),
        params=(),
        refits=len(used) - (1 if fitted is not None else 0),
        interval_scale=float(fitted_params.get("scale", 1.0)),
        models=tuple(used),
        interval=method.name,
        interval_params=fitted_params,
    )
