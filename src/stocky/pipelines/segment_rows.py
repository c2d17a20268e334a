"""A replay's labeled forecasts as arrays (`pipelines.replay_segments`): the rows its drift
states are computed on, every model version, in session order, and how a forecast is labeled
with the next session's close as the actuals step attaches it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from stocky.adapters.ports import PredictionRecord
from stocky.adapters.prediction_columns import SCORABLE_ERROR
from stocky.core.drift_rows import LabeledRows

__all__ = ["SegmentRows", "label_forecasts"]


@dataclass
class SegmentRows:
    """Labeled forecasts (every version), in session order."""

    target: NDArray[np.datetime64] = field(default_factory=lambda: np.empty(0, "datetime64[D]"))
    actual: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    prediction: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    naive: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    lower: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    upper: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    version: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))

    FIELDS = ("target", "actual", "prediction", "naive", "lower", "upper", "version")

    def plus(self, other: SegmentRows) -> SegmentRows:
        """These rows, then `other`'s."""
        return SegmentRows(
            *(np.concatenate((getattr(self, f), getattr(other, f))) for f in self.FIELDS)
        )

    def take(self, index: NDArray[np.bool_] | slice) -> SegmentRows:
        """The rows at `index`."""
        return SegmentRows(*(getattr(self, f)[index] for f in self.FIELDS))

    def labeled(self) -> LabeledRows:
        """As the drift check reads them."""
        return LabeledRows(
            self.target, self.actual, self.prediction, self.naive, self.lower, self.upper,
            self.version,
        )  # fmt: skip


def label_forecasts(
    made: Sequence[PredictionRecord], *, closes: NDArray[np.float64], targets: Sequence[dt.date]
) -> tuple[SegmentRows, NDArray[np.bool_]]:
    """`made` labeled with `closes` (the close of each one's target session, `targets`), as
    the actuals step attaches them, and which of them it labels: a row whose numbers are not
    finite or too far from the close to score stays pending (`pipelines.actuals.scorable`).

    Returns:
        (the labeled rows, a mask over `made` of those labeled).
    """
    m = len(made)
    numbers = np.array([[r.prediction, r.lower, r.upper, r.naive] for r in made], float)
    numbers = numbers.reshape(m, 4)
    with np.errstate(over="ignore", invalid="ignore"):
        errors = np.abs(closes[:, None] - numbers[:, [0, 3]])
        ok = np.isfinite(numbers).all(axis=1) & (errors <= SCORABLE_ERROR).all(axis=1)
    rows = SegmentRows(
        np.array(list(targets), dtype="datetime64[D]"),
        closes,
        numbers[:, 0],
        numbers[:, 3],
        numbers[:, 1],
        numbers[:, 2],
        np.array([r.model_version for r in made], dtype=np.int64),
    )
    return rows.take(ok), ok
