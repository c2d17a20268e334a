"""Labeled rows as arrays (`stocky.core.drift_rows`) against the pandas computations they
replace, on real S&P 500 closes (bundled with `arch`) with made-up forecasts around them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stocky.core.drift import DriftRule, evaluate_drift, evaluate_sessions, per_session
from stocky.core.drift import rolling_metric as fast_rolling_metric
from stocky.core.drift_rows import labeled_rows, split_labeled


def _labeled(close: np.ndarray, dates: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
    """A labeled frame in shuffled order: some sessions forecast twice, two model versions."""
    rng = np.random.default_rng(seed)
    n = close.size - 1
    idx = np.concatenate([np.arange(n), rng.choice(n, n // 5, replace=False)])
    naive, actual = close[idx], close[idx + 1]
    pred = naive + rng.normal(0, 0.01, idx.size) * naive
    created = pd.Timestamp("2000-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 10**9, idx.size), unit="s"
    )
    frame = pd.DataFrame(
        {
            "id": rng.permutation(idx.size) + 1,
            "created_at": created,
            "target_date": dates[idx + 1],
            "prediction": pred,
            "lower": pred - 0.02 * naive,
            "upper": pred + 0.02 * naive,
            "naive": naive,
            "actual": actual,
            "model_version": np.where(np.arange(idx.size) % 3 == 0, 1, 2),
        }
    )
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.fixture(scope="module")
def frame(sp500_frame: pd.DataFrame) -> pd.DataFrame:
    recent = sp500_frame.iloc[-400:]
    return _labeled(recent["Close"].to_numpy(float), pd.DatetimeIndex(recent.index), seed=3)


def test_per_session_and_the_champion_filter_equal_pandas(frame: pd.DataFrame) -> None:
    rows = labeled_rows(frame)
    old = per_session(frame)
    new = rows.per_session()
    assert len(new) == len(old) == frame["target_date"].nunique()
    for col in ("actual", "prediction", "naive", "lower", "upper", "model_version"):
        assert np.array_equal(getattr(new, col), old[col].to_numpy()), col
    since = dt.date(2018, 6, 1)
    keep = (frame["model_version"] == 2) & (frame["target_date"] > pd.Timestamp(since))
    old_since = per_session(frame[keep])
    new_since = rows.since(version=2, after=np.datetime64(since, "D")).per_session()
    assert len(new_since) == len(old_since) > 50
    assert np.array_equal(new_since.actual, old_since["actual"].to_numpy())
    assert list(new_since.session_strings()) == list(
        old_since["target_date"].dt.strftime("%Y-%m-%d")
    )


def test_rolling_metric_equals_pandas_rolling_mean(frame: pd.DataFrame) -> None:
    s = per_session(frame)
    a, p, last = (s[c].to_numpy(float) for c in ("actual", "prediction", "naive"))
    for metric in ("rmse", "return_rmse", "mape", "mase"):
        fast = fast_rolling_metric(a, p, last, window=14, metric=metric, scale=15.0)  # type: ignore[arg-type]
        losses = {
            "rmse": (a - p) ** 2,
            "return_rmse": ((a - p) / last) ** 2,
            "mape": np.abs((a - p) / a) * 100.0,
            "mase": np.abs(a - p) / 15.0,
        }[metric]
        mean = pd.Series(losses).rolling(14, min_periods=14).mean().to_numpy()
        old = np.sqrt(mean) if metric in ("rmse", "return_rmse") else mean
        assert np.array_equal(np.isnan(fast), np.isnan(old))
        np.testing.assert_allclose(fast, old, rtol=1e-12, equal_nan=True, err_msg=metric)
    # a NaN keeps pandas' rule: every window holding it is NaN
    with_nan = a.copy()
    with_nan[30] = np.nan
    out = fast_rolling_metric(with_nan, p, last, window=14, metric="rmse")
    assert np.isnan(out[30:44]).all() and np.isfinite(out[44:]).all()


def test_evaluate_sessions_on_rows_equals_evaluate_drift_on_the_frame(frame: pd.DataFrame) -> None:
    rule = DriftRule(window=14, threshold_multiplier=1.2, consecutive_days=2)
    s = labeled_rows(frame).per_session()
    for baseline in (None, 5.0, 50.0):
        old = evaluate_drift(frame, rule=rule, baseline=baseline, baseline_source="t")
        new = evaluate_sessions(
            s.session_strings(), s.actual, s.prediction, s.naive,
            rule=rule, baseline=baseline, baseline_source="t",
        )  # fmt: skip
        assert new == old
        assert len(new.series) == len(s) - 13


def test_split_labeled_equals_labeled_rows_per_ticker(
    frame: pd.DataFrame, sp500_frame: pd.DataFrame
) -> None:
    other = _labeled(
        sp500_frame["Close"].to_numpy(float)[-100:], pd.DatetimeIndex(sp500_frame.index[-100:]), 4
    )
    both = pd.concat([frame.assign(ticker="A"), other.assign(ticker="B")]).sample(
        frac=1.0, random_state=1
    )
    split = split_labeled(both, ["A", "B", "C"])
    assert len(split["C"]) == 0
    for ticker, one in (("A", frame), ("B", other)):
        expected = labeled_rows(one)
        for col in ("target_date", "actual", "prediction", "naive", "lower", "upper"):
            assert np.array_equal(getattr(split[ticker], col), getattr(expected, col)), col


def test_synthetic_range_is_the_slice_select_range_keeps() -> None:
    """SYNTHETIC prices: a range fetched equals the whole series cut by `select_range`."""
    from stocky.adapters.prices.base import select_range
    from stocky.adapters.prices.synthetic import SyntheticSource

    source = SyntheticSource(3, sessions=300)
    whole = source.fetch_many(["SYN0002"])["SYN0002"]
    first, last = whole["date"].iloc[0].date(), whole["date"].iloc[-1].date()
    for start, end in [
        (None, None),
        (first + dt.timedelta(days=40), None),
        (None, last - dt.timedelta(days=3)),
        (dt.date(2024, 6, 1), dt.date(2024, 6, 30)),  # calendar dates, not only sessions
        (last, last),
    ]:
        got = source.fetch("SYN0002", start, end)
        assert got.equals(select_range(whole, start, end)), (start, end)
