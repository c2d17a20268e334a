"""A study cell's trace: read through the ports (in-memory backend), written atomically and
strictly (no NaN in its JSON), read back equal, and the same bytes for the same replay."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from stocky.adapters.memory.audit import MemoryAuditLog
from stocky.adapters.memory.predictions import MemoryPredictionLog
from stocky.adapters.ports import ActualUpdate, PredictionRecord, PromotionRow, QueuedAlert
from stocky.core.alerts import Alert
from stocky.errors import BadInput
from stocky.pipelines.study_trace import (
    DECISIONS_FILE,
    TRACE_COLUMNS,
    TRACE_FILE,
    CellTrace,
    read_trace,
    trace_from_stack,
    write_trace,
)

T = "BRK.B"
NOW = dt.datetime(2024, 3, 1, 22, tzinfo=dt.UTC)
DAYS = [dt.date(2024, 1, 2) + dt.timedelta(days=i) for i in range(6)]


def _record(day: dt.date, prediction: float, version: int, source: str = "replay"):
    return PredictionRecord(
        ticker=T, created_at=NOW, as_of=day, target_date=day + dt.timedelta(days=1),
        prediction=prediction, lower=prediction - 2.0, upper=prediction + 2.0,
        naive=100.0, model_name="m", model_version=version, arima_order="-",
        history_len=60, input_hash="h", request_id=f"r{day}", source=source,
    )  # fmt: skip


def _stack() -> SimpleNamespace:
    predictions, audit = MemoryPredictionLog(), MemoryAuditLog()
    ids = [
        predictions.insert(_record(d, 100.0 + i / 3, 1 if i < 3 else 2)) for i, d in enumerate(DAYS)
    ]
    # one forecast logged by something else than the replay: not the cell's
    other = predictions.insert(_record(DAYS[0], 50.0, 1, source="api"))
    predictions.attach_actuals(
        [ActualUpdate(i, 100.5 + k / 7, NOW) for k, i in enumerate([*ids, other])]
    )
    audit.add_promotion(
        PromotionRow(
            T, "m", "reject", 1, None, NOW, DAYS[1], "worse", "monthly",
            champion_rmse=1.0, challenger_rmse=float("nan"),
        )
    )  # fmt: skip
    audit.add_promotion(PromotionRow(T, "m", "promote", 1, 2, NOW, DAYS[3], "better", "drift"))
    audit.add_alerts(
        [QueuedAlert(Alert(T, "retrain_promoted", DAYS[3], "t", "m", {}), replay=True)], now=NOW
    )
    return SimpleNamespace(predictions=predictions, audit=audit)


def test_the_trace_holds_the_replays_labeled_rows_and_decisions_in_order(tmp_path: Path) -> None:
    trace = trace_from_stack(_stack(), T)  # type: ignore[arg-type]
    assert list(trace.frame.columns) == list(TRACE_COLUMNS)
    assert len(trace.frame) == len(DAYS)  # the api forecast is left out, as in the summary
    assert list(trace.frame["model_version"]) == [1, 1, 1, 2, 2, 2]
    assert [d["action"] for d in trace.decisions] == ["reject", "promote"]  # oldest first
    assert trace.decisions[0]["challenger_rmse"] is None  # NaN becomes null
    assert trace.decisions[1]["session"] == DAYS[3].isoformat()
    assert trace.alerts == [{"session": DAYS[3].isoformat(), "kind": "retrain_promoted"}]

    written = write_trace(trace, tmp_path / "cell")
    files = [tmp_path / "cell" / TRACE_FILE, tmp_path / "cell" / DECISIONS_FILE]
    assert written == sum(f.stat().st_size for f in files)
    assert not list((tmp_path / "cell").glob(".*tmp"))  # renamed into place
    text = files[1].read_text()
    assert "NaN" not in text and json.loads(text)["decisions"][0]["challenger_rmse"] is None
    back = read_trace(tmp_path / "cell")
    assert back is not None
    np.testing.assert_allclose(
        back.frame[["actual", "prediction", "lower", "upper", "naive"]].to_numpy(),
        trace.frame[["actual", "prediction", "lower", "upper", "naive"]].to_numpy(),
        rtol=1e-9,
    )
    assert list(back.frame["target_date"]) == list(trace.frame["target_date"])
    assert back.decisions == trace.decisions and back.alerts == trace.alerts


def test_the_same_trace_writes_the_same_bytes(tmp_path: Path) -> None:
    trace = trace_from_stack(_stack(), T)  # type: ignore[arg-type]
    write_trace(trace, tmp_path / "a")
    write_trace(trace, tmp_path / "b")
    for name in (TRACE_FILE, DECISIONS_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    with gzip.open(tmp_path / "a" / TRACE_FILE, "rt") as f:
        assert f.readline().strip() == ",".join(TRACE_COLUMNS)


def test_a_cell_without_a_trace_reads_none_and_a_damaged_one_says_so(tmp_path: Path) -> None:
    assert read_trace(tmp_path) is None
    frame = pd.DataFrame({"target_date": ["2024-01-02"], "actual": [1.0]})
    frame.to_csv(tmp_path / TRACE_FILE, index=False, compression="gzip")
    (tmp_path / DECISIONS_FILE).write_text("{}")
    with pytest.raises(BadInput, match="missing; rerun the cell"):
        read_trace(tmp_path)


def test_a_decision_json_cannot_hold_is_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame({c: [] for c in TRACE_COLUMNS})
    bad = CellTrace(frame, decisions=[{"session": "2024-01-02", "x": float("inf")}])
    with pytest.raises(BadInput, match="cannot be written as JSON"):
        write_trace(bad, tmp_path)
