"""One ticker's labeled forecasts as arrays: what a drift check computes on.

A drift check used to slice, sort and deduplicate a DataFrame per ticker (a few milliseconds
each, most of a 1,000-ticker check). `LabeledRows` holds the same rows as numpy arrays in
(target session, logged at, id) order, so that `per_session` (the last forecast logged for
each session, as `stocky.core.drift.per_session` keeps) and the champion's filter are array
operations. `split_labeled` cuts one frame of many tickers (the fleet's bulk read) into
LabeledRows without a DataFrame per ticker.

Pure: numpy and pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from stocky.errors import BadInput

__all__ = ["LABELED_ARRAYS", "LabeledRows", "labeled_rows", "split_labeled"]

#: The columns a drift check uses, besides the target session (all numeric).
LABELED_ARRAYS = ("actual", "prediction", "naive", "lower", "upper", "model_version")
#: The order `per_session` sorts in: the last forecast logged for a session counts.
_ORDER = ("target_date", "created_at", "id")


@dataclass(frozen=True, eq=False)
class LabeledRows:
    """Labeled forecasts of one ticker, oldest target first, ties in logging order.

    Attributes:
        target_date: Target sessions (datetime64[D]), non-decreasing.
        actual, prediction, naive, lower, upper: The close, the forecast, the previous
            close and the interval, as floats.
        model_version: The model version that made each forecast.
    """

    target_date: NDArray[np.datetime64]
    actual: NDArray[np.float64]
    prediction: NDArray[np.float64]
    naive: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    model_version: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.target_date.size)

    def take(self, index: NDArray[Any] | slice) -> LabeledRows:
        """The rows at `index` (a boolean mask, positions or a slice), in that order."""
        return LabeledRows(*(getattr(self, f.name)[index] for f in fields(self)))

    def plus(self, other: LabeledRows) -> LabeledRows:
        """These rows, then `other`'s (the caller keeps the session order)."""
        return LabeledRows(
            *(np.concatenate((getattr(self, f.name), getattr(other, f.name))) for f in fields(self))
        )

    @classmethod
    def empty(cls) -> LabeledRows:
        """No rows."""
        return _empty()

    def per_session(self) -> LabeledRows:
        """One row per target session: the last one logged (rows are in session order)."""
        if not len(self):
            return self
        d = self.target_date
        return self.take(np.concatenate((d[1:] != d[:-1], [True])))

    def since(self, *, version: int, after: np.datetime64 | None) -> LabeledRows:
        """Rows of model `version` whose target session is after `after` (if given)."""
        keep = self.model_version == version
        if after is not None:
            keep &= self.target_date > after
        return self.take(keep)

    def session_strings(self) -> NDArray[np.str_]:
        """Target sessions as ``YYYY-MM-DD``."""
        return np.datetime_as_string(self.target_date, unit="D")


def _empty() -> LabeledRows:
    f = np.empty(0, dtype=np.float64)
    return LabeledRows(np.empty(0, dtype="datetime64[D]"), f, f, f, f, f, np.empty(0, np.int64))


def _validate_columns(frame: pd.DataFrame) -> None:
    missing = [c for c in ("target_date", *LABELED_ARRAYS) if c not in frame.columns]
    if missing:
        raise BadInput(
            f"labeled predictions lack column(s) {missing}: pass the columns of "
            "PredictionLog.labeled"
        )


def _arrays(frame: pd.DataFrame, index: NDArray[np.intp] | slice) -> LabeledRows:
    def floats(name: str) -> NDArray[np.float64]:
        return frame[name].to_numpy(dtype=np.float64)[index]

    return LabeledRows(
        frame["target_date"].to_numpy(dtype="datetime64[D]")[index],
        floats("actual"),
        floats("prediction"),
        floats("naive"),
        floats("lower"),
        floats("upper"),
        frame["model_version"].to_numpy(dtype=np.int64)[index],
    )


def _order(frame: pd.DataFrame, keys: tuple[str, ...]) -> NDArray[np.intp]:
    """Positions sorting `frame` stably by `keys`, as ``sort_values(keys, kind="stable")``."""
    cols = [c for c in keys if c in frame.columns]
    # np.lexsort sorts by the last key first and is stable, like a stable multi-key sort
    return np.lexsort([_sort_key(frame[c]) for c in reversed(cols)])


def _sort_key(column: pd.Series) -> NDArray[Any]:
    if column.name == "ticker":  # grouped, in any order of tickers
        return pd.factorize(column)[0]
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column):
        return column.to_numpy(dtype="datetime64[us]").view(np.int64)
    if column.dtype == object:
        return pd.to_datetime(column, utc=True).to_numpy(dtype="datetime64[us]").view(np.int64)
    return column.to_numpy()


def labeled_rows(frame: pd.DataFrame) -> LabeledRows:
    """One ticker's labeled frame (`PredictionLog.labeled` columns) as LabeledRows.

    Rows are ordered by target session, then logging time, then id, whatever order they come in.

    Raises:
        BadInput: A column is missing.
    """
    if frame.empty:
        return _empty()
    _validate_columns(frame)
    return _arrays(frame, _order(frame, _ORDER))


def split_labeled(frame: pd.DataFrame, tickers: list[str]) -> dict[str, LabeledRows]:
    """Many tickers' labeled rows (the columns of `labeled_rows` plus ``ticker``), per ticker.

    Args:
        frame: Labeled rows of many tickers, in any order.
        tickers: Every ticker to return (those without rows get empty LabeledRows).

    Returns:
        Ticker -> its LabeledRows, each ordered as `labeled_rows` orders them.

    Raises:
        BadInput: A column is missing.
    """
    out = {t: _empty() for t in tickers}
    if frame.empty:
        return out
    _validate_columns(frame)
    order = _order(frame, ("ticker", *_ORDER))
    rows = _arrays(frame, order)
    names = frame["ticker"].to_numpy(dtype=object)[order]
    starts = np.flatnonzero(np.concatenate(([True], names[1:] != names[:-1])))
    ends = np.append(starts[1:], names.size)
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        if names[start] in out:
            out[names[start]] = rows.take(slice(start, end))
    return out
