"""Export logged predictions as CSV: the seed's columns first, then stocky's.

Text cells that a spreadsheet would run as a formula (OWASP's CSV injection advice: a first
character of `=`, `+`, `-`, `@`, tab or carriage return) get a leading `'`, so a request id such
as `=HYPERLINK(...)` opens as text. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from stocky.core.families.registry import LEGACY_MODEL_TYPE
from stocky.errors import BadInput

__all__ = [
    "EXPORT_COLUMNS",
    "SEED_COLUMNS",
    "export_predictions",
    "neutralise_formula",
    "write_predictions_csv",
]

#: The seed's predictions.csv columns, in its order.
SEED_COLUMNS = (
    "timestamp",
    "prediction",
    "actual",
    "abs_error",
    "history_len",
    "model_type",
    "arima_order",
)
EXTRA_COLUMNS = (
    "id",
    "ticker",
    "as_of",
    "target_date",
    "lower",
    "upper",
    "naive",
    "error",
    "sq_error",
    "naive_error",
    "model_name",
    "model_version",
    "input_hash",
    "request_id",
    "source",
    "actual_at",
    "api_key_id",
    "model_label",
)
EXPORT_COLUMNS = SEED_COLUMNS + EXTRA_COLUMNS


#: First characters that make a spreadsheet evaluate a cell (OWASP, CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """`text` with a leading `'` when a spreadsheet would read it as a formula.

    Leading spaces are looked past too: some spreadsheets trim them before evaluating.
    """
    if text.lstrip(" ").startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):  # text from a client (request_id) or a file (ticker)
        return neutralise_formula(value)
    if isinstance(value, dt.datetime):
        # stored in UTC; SQLite hands it back without an offset
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def write_predictions_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Write rows (as read from the predictions table) to `out`; returns the row count."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in rows:
        values = {
            **row,
            "timestamp": row.get("created_at"),
            "model_type": row.get("model_type") or LEGACY_MODEL_TYPE,
        }
        writer.writerow([_cell(values.get(col)) for col in EXPORT_COLUMNS])
        count += 1
    return count


def export_predictions(*, rows: Iterable[dict[str, Any]], path: Path) -> int:
    """Write the CSV to `path` (atomically: a temp file renamed at the end).

    Raises:
        BadInput: The folder does not exist or is not writable.
    """
    if not path.parent.exists():
        raise BadInput(
            f"--out {path}: folder {path.parent} does not exist: create it or pick another path"
        )
    tmp = path.with_name(path.name + ".part")
    try:
        with tmp.open("w", newline="") as fh:
            count = write_predictions_csv(rows, fh)
        tmp.replace(path)
    except OSError as exc:
        raise BadInput(
            f"--out {path}: cannot write ({exc.strerror}): pick a writable path"
        ) from exc
    return count
