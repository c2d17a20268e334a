"""How a replay's forecast is labeled with the next session's close, as the actuals step
attaches it (`pipelines.replay_segments`): its rows as the drift check reads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from stocky.adapters.ports import PredictionRecord
from stocky.core.drift_rows import LabeledRows
from stocky.pipelines.actuals import scorable_numbers

__all__ = ["label_forecasts"]


def label_forecasts(
    made: Sequence[PredictionRecord], *, closes: NDArray[np.float64], targets: Sequence[dt.date]
) -> tuple[LabeledRows, NDArray[np.bool_]]:
    """`made` labeled with `closes` (the close of each one's target session, `targets`), as
    the actuals step attaches them, and which of them it labels: a row whose numbers are not
    finite or too far from the close to score stays pending (`pipelines.actuals.scorable`).

    Returns:
        (the labeled rows, a mask over `made` of those labeled).
    """
    numbers = np.array([[r.prediction, r.lower, r.upper, r.naive] for r in made], float)
    numbers = numbers.reshape(len(made), 4)
    ok = scorable_numbers(numbers, closes)
    rows = LabeledRows(
        np.array(list(targets), dtype="datetime64[D]"),
        closes,
        numbers[:, 0],
        numbers[:, 3],
        numbers[:, 1],
        numbers[:, 2],
        np.array([r.model_version for r in made], dtype=np.int64),
    )
    return rows.take(ok), ok
