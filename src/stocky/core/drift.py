"""The drift rule: a rolling error over target sessions against a multiple of a baseline.

Rule. Take labeled predictions, one per target session (when several predictions share a
session, the LAST one logged counts: it used the most recent information, and it is the one a
user acted on). Over the last `window` sessions compute the metric; a session breaches when that
rolling value exceeds ``threshold_multiplier x baseline``. Drift is `consecutive_days`
breaching sessions in a row, ending at the latest session. Windows count labeled sessions, not
calendar days: a session with no prediction is skipped, not treated as zero error.

Metrics. ``rmse`` (the seed's, in price units) grows with the price level: fine for one ticker
over months, misleading across years or tickers. ``return_rmse`` (RMSE of the error divided by
the last price, i.e. of the predicted return) and ``mape`` are scale-free; ``mase`` scales the
absolute error by the in-sample naive error. Choose a scale-free metric when prices trend
strongly or when comparing tickers; keep ``rmse`` to match a dollar baseline.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from stocky.errors import BadInput

__all__ = [
    "SERIES_KEPT",
    "DriftReport",
    "DriftRule",
    "SessionPoint",
    "evaluate_drift",
    "evaluate_sessions",
    "per_session",
    "rolling_metric",
    "rolling_skill",
]

Metric = Literal["rmse", "return_rmse", "mape", "mase"]


@dataclass(frozen=True)
class DriftRule:
    """Parameters of the rule."""

    window: int = 14
    threshold_multiplier: float = 1.5
    consecutive_days: int = 3
    metric: Metric = "rmse"
    cooldown_sessions: int = 0

    def __post_init__(self) -> None:
        if self.window < 2:
            raise BadInput(f"window={self.window}: use at least 2 sessions")
        if not self.threshold_multiplier > 0:
            raise BadInput(
                f"threshold_multiplier={self.threshold_multiplier}: use a number > 0, e.g. 1.5"
            )
        if self.consecutive_days < 1:
            raise BadInput(f"consecutive_days={self.consecutive_days}: use 1 or more")
        if self.metric not in ("rmse", "return_rmse", "mape", "mase"):
            raise BadInput(
                f"metric {self.metric!r} is unknown: use rmse, return_rmse, mape or mase"
            )


@dataclass(frozen=True)
class SessionPoint:
    """The rolling metric at one target session."""

    session: str
    value: float
    naive_value: float
    breach: bool


#: Sessions of the rolling series a stored report keeps (the newest).
SERIES_KEPT = 252


@dataclass(frozen=True)
class DriftReport:
    """What the check saw and decided."""

    rule: DriftRule
    baseline: float | None
    baseline_source: str
    threshold: float | None
    sessions: int
    series: tuple[SessionPoint, ...]
    breach_streak: int
    drifted: bool
    decision: str
    reason: str
    latest_value: float | None = None
    naive_latest_value: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, keys in field order; built field by field (`asdict`'s deep recursion
        over the series cost ~20 ms a check, most of a fleet's drift step). The series keeps
        its last SERIES_KEPT sessions (`sessions` counts them all): a check is stored every
        session, and the whole history in each made a ticker's checks grow with the square
        of its age (~120 KB a check after five years)."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "rule":
                value = asdict(value)
            elif f.name == "series":  # the last SERIES_KEPT sessions: a check stays small
                value = [
                    {"session": p.session, "value": p.value, "naive_value": p.naive_value,
                     "breach": p.breach}
                    for p in value[-SERIES_KEPT:]
                ]  # fmt: skip
            elif f.name == "extra":
                value = copy.deepcopy(value)
            data[f.name] = value
        return data


def per_session(labeled: pd.DataFrame) -> pd.DataFrame:
    """One row per target session: the last logged prediction for it.

    Args:
        labeled: Columns target_date, prediction, naive, actual (and optionally id / created_at
            to order predictions of the same session; otherwise row order is used).

    Returns:
        Sorted by target_date, unique target_date.
    """
    _validate_columns(labeled, ("target_date", "prediction", "naive", "actual"))
    order = [c for c in ("target_date", "created_at", "id") if c in labeled.columns]
    frame = labeled.sort_values(order, kind="stable")
    return frame.drop_duplicates("target_date", keep="last").reset_index(drop=True)


def _validate_columns(frame: pd.DataFrame, needed: tuple[str, ...]) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise BadInput(
            f"labeled predictions lack column(s) {missing}: pass target_date, prediction, naive, actual"
        )


def _losses(
    actual: np.ndarray, pred: np.ndarray, last: np.ndarray, metric: Metric, scale: float | None
) -> np.ndarray:
    err = actual - pred
    if metric == "rmse":
        return err**2
    if metric == "return_rmse":
        return (err / last) ** 2
    if metric == "mape":
        return np.abs(err / actual) * 100.0
    if scale is None or not scale > 0:
        raise BadInput("metric mase needs the naive scale of the training data: pass scale > 0")
    return np.abs(err) / scale


def rolling_metric(
    actual: np.ndarray,
    pred: np.ndarray,
    last: np.ndarray,
    *,
    window: int,
    metric: Metric,
    scale: float | None = None,
) -> np.ndarray:
    """Rolling metric over `window` consecutive entries (NaN before the window fills).

    Finite losses are averaged window by window in numpy (a tenth of the cost of pandas'
    rolling mean, equal to it within 1e-12 relative: `tests/unit/test_drift_rows.py`); losses
    with a NaN or infinity keep pandas' rules (a window holding one is NaN).
    """
    losses = _losses(actual, pred, last, metric, scale)
    if 0 < window <= losses.size and np.isfinite(losses).all():
        mean = np.full(losses.size, np.nan)
        mean[window - 1 :] = sliding_window_view(losses, window).mean(axis=1)
    else:
        mean = pd.Series(losses).rolling(window, min_periods=window).mean().to_numpy()
    return np.sqrt(mean) if metric in ("rmse", "return_rmse") else mean


def rolling_skill(
    actual: ArrayLike, prediction: ArrayLike, naive: ArrayLike, *, window: int
) -> np.ndarray:
    """Skill against naive over each run of `window` consecutive rows, for charts.

    Args:
        actual: Observed values, finite.
        prediction: Forecasts of the same targets, same length.
        naive: Naive forecasts, same length.
        window: Rows per window, at least 1.

    Returns:
        ``1 - rmse / naive_rmse`` of the window ending at each row: NaN before the first
        window fills and where the window's naive RMSE is 0 (an array to plot, not a value to
        send: use `stocky.core.realized` for those).

    Raises:
        BadInput: If the lengths differ or `window` is below 1.
    """
    a, p, nv = (np.asarray(x, dtype=float) for x in (actual, prediction, naive))
    if not a.shape == p.shape == nv.shape:
        raise BadInput(
            f"actual, prediction and naive have shapes {a.shape}, {p.shape}, {nv.shape}: "
            "pass one value of each per session"
        )
    if window < 1:
        raise BadInput(f"window={window}: use at least 1 row")
    model = rolling_metric(a, p, nv, window=window, metric="rmse")
    base = rolling_metric(a, nv, nv, window=window, metric="rmse")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(base > 0, 1.0 - model / base, np.nan)


def evaluate_drift(
    labeled: pd.DataFrame,
    *,
    rule: DriftRule,
    baseline: float | None,
    baseline_source: str,
    scale: float | None = None,
    sessions_since_retrain: int | None = None,
) -> DriftReport:
    """Apply the rule to labeled predictions.

    Args:
        labeled: Labeled predictions (see `per_session`).
        rule: Window, multiplier, consecutive sessions, metric, cooldown.
        baseline: The metric's expected level (e.g. the champion's walk-forward RMSE).
        baseline_source: Where the baseline came from, for the record.
        scale: Naive in-sample MAE, needed for metric mase.
        sessions_since_retrain: Sessions since the last retrain or promotion; within the
            cooldown a breach is reported but not raised as drift.

    Returns:
        The DriftReport; `decision` is one of drift, no_drift, insufficient_data, cooldown,
        no_baseline.
    """
    sessions = per_session(labeled)
    return evaluate_sessions(
        pd.to_datetime(sessions["target_date"]).dt.strftime("%Y-%m-%d").to_numpy(),
        sessions["actual"].to_numpy(float),
        sessions["prediction"].to_numpy(float),
        sessions["naive"].to_numpy(float),
        rule=rule,
        baseline=baseline,
        baseline_source=baseline_source,
        scale=scale,
        sessions_since_retrain=sessions_since_retrain,
    )


def evaluate_sessions(
    dates: ArrayLike,
    actual: np.ndarray,
    pred: np.ndarray,
    last: np.ndarray,
    *,
    rule: DriftRule,
    baseline: float | None,
    baseline_source: str,
    scale: float | None = None,
    sessions_since_retrain: int | None = None,
) -> DriftReport:
    """`evaluate_drift` over arrays already one per target session, oldest first.

    Args:
        dates: The target sessions as ``YYYY-MM-DD`` strings.
        actual: The closes.
        pred: The forecasts.
        last: The previous closes (naive's forecasts).
        rule, baseline, baseline_source, scale, sessions_since_retrain: As `evaluate_drift`.

    Returns:
        The DriftReport `evaluate_drift` returns for the same sessions.
    """
    n = len(actual)
    if baseline is not None and not baseline > 0:
        raise BadInput(
            f"baseline {baseline} must be > 0: pass the champion's walk-forward {rule.metric}"
        )
    threshold = None if baseline is None else rule.threshold_multiplier * baseline
    if n < rule.window:
        return DriftReport(
            rule,
            baseline,
            baseline_source,
            threshold,
            n,
            (),
            0,
            False,
            "insufficient_data",
            f"{n} labeled sessions, fewer than the window of {rule.window}: no decision yet",
        )
    values = rolling_metric(actual, pred, last, window=rule.window, metric=rule.metric, scale=scale)
    naive_values = rolling_metric(
        actual, last, last, window=rule.window, metric=rule.metric, scale=scale
    )
    full = ~np.isnan(values)
    breach = values > threshold if threshold is not None else np.zeros(n, dtype=bool)
    points = tuple(
        map(
            SessionPoint,
            np.asarray(dates)[full].astype(str).tolist(),
            values[full].tolist(),
            naive_values[full].tolist(),
            breach[full].tolist(),
        )
    )
    streak = 0
    for point in reversed(points):
        if not point.breach:
            break
        streak += 1
    latest, naive_latest = points[-1].value, points[-1].naive_value

    def report(decision: str, drifted: bool, reason: str) -> DriftReport:
        return DriftReport(
            rule, baseline, baseline_source, threshold, n, points, streak, drifted, decision, reason,
            latest_value=latest, naive_latest_value=naive_latest,
        )  # fmt: skip

    if threshold is None or baseline is None:
        return report(
            "no_baseline",
            False,
            f"no baseline for {rule.metric}: pass one or train a model that records it",
        )
    where = (
        f"rolling {rule.metric} {latest:.4g} vs threshold {threshold:.4g} "
        f"({rule.threshold_multiplier} x {baseline:.4g})"
    )
    if streak < rule.consecutive_days:
        return report(
            "no_drift",
            False,
            f"{streak} of {rule.consecutive_days} consecutive breaching sessions needed: {where}",
        )
    if sessions_since_retrain is not None and sessions_since_retrain < rule.cooldown_sessions:
        return report(
            "cooldown",
            False,
            f"{streak} breaching sessions but only {sessions_since_retrain} sessions since the last "
            f"retrain (cooldown {rule.cooldown_sessions}): {where}",
        )
    return report(
        "drift",
        True,
        f"{streak} consecutive sessions above the threshold (need {rule.consecutive_days}): {where}",
    )
