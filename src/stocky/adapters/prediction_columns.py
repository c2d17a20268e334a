"""What every prediction log shares, SQL or in memory: its read columns and scoring bounds.

Kept free of SQLAlchemy so the in-memory backend (a study, a memory replay) and the pipelines
that score rows import none of the SQL stack; `adapters/store/prediction_reads.py` and
`prediction_bulk.py` re-export these names.
"""

from __future__ import annotations

__all__ = ["DRIFT_COLUMNS", "LABELED_COLUMNS", "SCORABLE_ERROR", "WINDOW_TOLERANCE"]

#: How far (as a share of the close) a window's last price may be from the ticker's stored
#: close on its `as_of` before monitoring leaves the prediction out: wider than rounding and
#: adjusted-vs-raw differences, narrower than a window of another ticker.
WINDOW_TOLERANCE = 0.02

#: Errors beyond this cannot be squared and averaged in doubles (1e150 squared is 1e300).
SCORABLE_ERROR = 1e150

#: What `labeled` returns, in order (the bulk read adds the ticker in front).
LABELED_COLUMNS = (
    "id",
    "created_at",
    "as_of",
    "target_date",
    "prediction",
    "lower",
    "upper",
    "naive",
    "actual",
    "error",
    "naive_error",
    "model_version",
    "source",
)

#: What a drift check reads of each labeled row (`labeled_table`'s default columns).
DRIFT_COLUMNS = (
    "id",
    "created_at",
    "target_date",
    "prediction",
    "lower",
    "upper",
    "naive",
    "actual",
    "model_version",
)
