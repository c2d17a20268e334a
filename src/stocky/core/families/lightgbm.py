"""One global LightGBM model per universe, trained on volatility-scaled lagged log returns.

Features of the window ending at price ``p_T`` (``r_t = log(p_t / p_{t-1})``; ``s_k`` the root
mean square of the last ``k`` returns, floored at `VOL_FLOOR`):

* ``ret_lag1..ret_lag{lags}``: the last `lags` returns divided by ``s_20``. Dividing by recent
  volatility puts a utility and a biotech stock on one scale, so one model serves both.
* ``log_vol5_vol20``: ``log(s_5 / s_20)``, the volatility regime (calm after a storm or not).
* ``mom20``: ``sum of the last 20 returns / (s_20 * sqrt(20))``, a trend t-statistic.

Every feature is scale-free. The target is the next return over ``s_20`` (clipped at +-`CLIP`
for training, so a split or a crash does not pull whole leaves). The forecast is
``mean = p_T * exp(f(x) * s_20)`` and ``std = p_T * resid_scale * s_20``: the per-window
volatility times the root mean square of the model's in-sample residuals on the scaled target
(unclipped; measured on up to `RESID_ROWS` evenly spaced training rows), so intervals widen and
narrow with each ticker's own recent volatility. With small trees on a pooled universe the
in-sample residuals are close to out-of-sample ones (the signal in daily returns is faint).

Serving never imports lightgbm: `to_params` stores the booster's own JSON dump
(``Booster.dump_model()``) and `from_params` flattens its trees into arrays evaluated in numpy
(`stocky.core.families.lightgbm_trees`), pinned to ``Booster.predict`` in the tests.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

from stocky.core.families.base import not_fitted, validate_window
from stocky.core.families.lightgbm_trees import TreeEnsemble
from stocky.errors import BadInput, DataQualityError

__all__ = ["VOL_FLOOR", "LightGBM", "feature_names", "features", "params_digest"]


FORMAT = 1
VOL_SHORT = 5
VOL_LONG = 20
#: One basis point a day: below it prices are frozen, and scaled values would blow up.
VOL_FLOOR = 1e-4
CLIP = 5.0
#: In-sample residuals are measured on at most this many evenly spaced training rows.
RESID_ROWS = 200_000


def feature_names(lags: int) -> list[str]:
    """The feature columns, in order."""
    return [*(f"ret_lag{i}" for i in range(1, lags + 1)), "log_vol5_vol20", "mom20"]


def features(
    returns: NDArray[np.float64], *, lags: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Feature rows and ``s_20`` from windows of log returns (one window per row, oldest first).

    Args:
        returns: ``(n, m)`` returns with ``m >= max(lags, 20)``; row i is one window.
        lags: How many scaled lagged returns to use.

    Returns:
        ``(X, vol)``: ``X`` of shape ``(n, lags + 2)`` and ``vol`` (``s_20``) of shape ``(n,)``.
    """
    long = returns[:, -VOL_LONG:]
    short = returns[:, -VOL_SHORT:]
    vol = np.maximum(np.sqrt(np.einsum("ij,ij->i", long, long) / VOL_LONG), VOL_FLOOR)
    vol_short = np.maximum(np.sqrt(np.einsum("ij,ij->i", short, short) / VOL_SHORT), VOL_FLOOR)
    x = np.empty((returns.shape[0], lags + 2))
    x[:, :lags] = returns[:, : -lags - 1 : -1] / vol[:, None]
    x[:, lags] = np.log(vol_short / vol)
    x[:, lags + 1] = long.sum(axis=1) / (vol * math.sqrt(VOL_LONG))
    return x, vol


def _features_one(r: NDArray[np.float64], lags: int) -> tuple[NDArray[np.float64], float]:
    """`features` of one window of returns, on the shortest path (the serving one)."""
    long = r[-VOL_LONG:]
    short = r[-VOL_SHORT:]
    vol = max(math.sqrt(float(np.einsum("i,i->", long, long)) / VOL_LONG), VOL_FLOOR)
    vol_short = max(math.sqrt(float(np.einsum("i,i->", short, short)) / VOL_SHORT), VOL_FLOOR)
    x = np.empty(lags + 2)
    np.divide(r[: -lags - 1 : -1], vol, out=x[:lags])
    x[lags] = math.log(vol_short / vol)
    x[lags + 1] = float(long.sum()) / (vol * math.sqrt(VOL_LONG))
    return x, vol


def params_digest(params: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of `params` (sorted keys, no spaces): the artifact's key."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _int(params: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = params[key]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadInput(f"lightgbm {key}={value!r} must be an integer in {low}..{high}")
    return value


class LightGBM:
    """One LightGBM regressor over a universe's scaled lagged returns (a global family).

    Attributes set by `fit_many` / `from_params`: ``params_`` (the stored parameters),
    ``resid_scale_``, ``trees_`` (the numpy evaluator); ``booster_`` after `fit_many` only.
    """

    model_type: ClassVar[str] = "lightgbm"
    description: ClassVar[str] = "LightGBM on scaled lagged returns: one global model per universe"
    is_global: ClassVar[bool] = True

    def __init__(
        self,
        *,
        lags: int = 10,
        num_rounds: int = 100,
        num_leaves: int = 15,
        learning_rate: float = 0.05,
        min_data_in_leaf: int = 50,
        seed: int = 0,
    ) -> None:
        settings = {"lags": lags, "num_rounds": num_rounds, "num_leaves": num_leaves}
        settings |= {"min_data_in_leaf": min_data_in_leaf, "seed": seed}
        _int(settings, "lags", 1, 250)
        _int(settings, "num_rounds", 1, 10_000)
        _int(settings, "num_leaves", 2, TreeEnsemble.MAX_LEAVES)
        _int(settings, "min_data_in_leaf", 1, 10**9)
        _int(settings, "seed", 0, 2**31 - 1)
        if not (0 < learning_rate <= 1):
            raise BadInput(f"lightgbm learning_rate={learning_rate!r} must be in (0, 1]")
        self.lags = lags
        self.num_rounds = num_rounds
        self.num_leaves = num_leaves
        self.learning_rate = float(learning_rate)
        self.min_data_in_leaf = min_data_in_leaf
        self.seed = seed
        self.params_: dict[str, Any] | None = None
        self.resid_scale_: float = float("nan")
        self.trees_: TreeEnsemble | None = None
        self.booster_: Any = None

    @property
    def label(self) -> str:
        return f"LightGBM(lags={self.lags})"

    @property
    def complexity(self) -> int:
        """Leaves over all trees (each leaf is one fitted value); 0 before fitting."""
        return self.trees_.n_leaves if self.trees_ is not None else 0

    @property
    def min_window(self) -> int:
        """Prices for one forecast: the lagged returns and ``s_20`` share one window of returns."""
        return max(self.lags, VOL_LONG) + 1

    def _lightgbm_params(self) -> dict[str, Any]:
        return {
            "objective": "regression",
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_data_in_leaf": self.min_data_in_leaf,
            "num_threads": 1,
            "deterministic": True,
            "force_row_wise": True,  # measured faster than col-wise on 12 features
            "seed": self.seed,
            "verbosity": -1,
        }

    def fit_many(self, series: Sequence[ArrayLike]) -> LightGBM:
        """Fit one model on the training rows of every series (prices, oldest first).

        Raises:
            BadInput: No series, or a series that is too short or holds bad prices (named).
        """
        try:
            import lightgbm as lgb
        except (ImportError, OSError) as exc:  # e.g. libgomp.so.1 missing on a slim image
            raise DataQualityError(
                f"the lightgbm family cannot fit here: importing lightgbm failed ({exc}); "
                "install the OpenMP runtime (Debian: apt-get install libgomp1) or leave "
                "lightgbm out of STOCKY_FAMILIES"
            ) from exc

        if len(series) == 0:
            raise BadInput("fit_many got no series: pass at least one price series")
        m = self.min_window - 1
        xs, zs = [], []
        for i, prices in enumerate(series):
            arr = validate_window(prices, min_len=m + 2, name=f"series[{i}]")
            r = np.diff(np.log(arr))
            x, vol = features(sliding_window_view(r, m)[:-1], lags=self.lags)
            xs.append(x)
            zs.append(r[m:] / vol)
        x_all, z_all = np.concatenate(xs), np.concatenate(zs)
        names = feature_names(self.lags)
        data = lgb.Dataset(
            x_all, label=np.clip(z_all, -CLIP, CLIP), feature_name=names, free_raw_data=True
        )
        booster = lgb.train(self._lightgbm_params(), data, num_boost_round=self.num_rounds)
        step = -(-len(z_all) // RESID_ROWS)  # every step-th row: at most RESID_ROWS predictions
        resid = z_all[::step] - booster.predict(x_all[::step], num_threads=1)
        params = {
            "format": FORMAT,
            "lags": self.lags,
            "vol_short": VOL_SHORT,
            "vol_long": VOL_LONG,
            "vol_floor": VOL_FLOOR,
            "clip": CLIP,
            "features": names,
            "resid_scale": float(np.sqrt(np.mean(resid**2))),
            "train_rows": len(z_all),
            "train_series": len(series),
            "fit": {"lightgbm": lgb.__version__, "num_rounds": self.num_rounds}
            | self._lightgbm_params(),
            "booster": booster.dump_model(),
        }
        self._load(params)
        self.booster_ = booster
        return self

    def fit(self, y: ArrayLike) -> LightGBM:
        """`fit_many([y])`: a model of one series (the global fit is `fit_many`)."""
        return self.fit_many([y])

    def _load(self, params: dict[str, Any]) -> None:
        try:
            for key, expected in (
                ("format", FORMAT),
                ("vol_short", VOL_SHORT),
                ("vol_long", VOL_LONG),
                ("vol_floor", VOL_FLOOR),
                ("clip", CLIP),
            ):
                if params[key] != expected:
                    raise BadInput(
                        f"lightgbm {key}={params[key]!r} is not {expected!r} (another stocky "
                        "version wrote it): retrain the model"
                    )
            lags = _int(params, "lags", 1, 250)
            resid = float(params["resid_scale"])
            trees = TreeEnsemble.from_dump(params["booster"], n_features=lags + 2)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise BadInput(
                f"lightgbm parameters are malformed ({exc!r}): retrain the model"
            ) from exc
        if not (math.isfinite(resid) and resid > 0):
            raise BadInput(f"lightgbm resid_scale={resid!r} must be finite and > 0: retrain")
        self.lags = lags
        self.params_ = params
        self.resid_scale_ = resid
        self.trees_ = trees
        self.booster_ = None

    def _fitted(self) -> TreeEnsemble:
        if self.trees_ is None:
            raise not_fitted(self.model_type)
        return self.trees_

    def predict_one(self, window: ArrayLike) -> tuple[float, float]:
        trees = self._fitted()
        n = self.min_window
        arr = validate_window(window, min_len=n)
        logs = np.log(arr[-n:])
        x, vol = _features_one(logs[1:] - logs[:-1], self.lags)
        last = float(arr[-1])
        return last * math.exp(trees.predict_row(x) * vol), last * self.resid_scale_ * vol

    def one_step_path(
        self, y: ArrayLike, *, start: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        trees = self._fitted()
        arr = validate_window(y, min_len=start + 1, name="y")
        n = self.min_window
        if start < n:
            raise BadInput(f"start={start} leaves too short a window: start at {n} or later")
        r = np.diff(np.log(arr))
        windows = sliding_window_view(r, n - 1)[start - n : len(arr) - n]
        x, vol = features(windows, lags=self.lags)
        last = arr[start - 1 : -1]
        return last * np.exp(trees.predict(x) * vol), last * (self.resid_scale_ * vol)

    def to_params(self) -> dict[str, Any]:
        self._fitted()
        assert self.params_ is not None
        return copy.deepcopy(self.params_)

    def params_digest(self) -> str:
        """sha256 of the canonical JSON of `to_params()`: one artifact, many tickers."""
        self._fitted()
        assert self.params_ is not None
        return params_digest(self.params_)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> LightGBM:
        model = cls()
        model._load(copy.deepcopy(dict(params)))
        return model
