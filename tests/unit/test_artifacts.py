"""Run artifacts made on first read (`pipelines.artifacts.Artifacts`): a training run's chart is
rendered only when something reads it, once, and reads back the same bytes."""

from __future__ import annotations

import datetime as dt
import pickle
from functools import partial
from pathlib import Path

import pytest

from stocky.config import Settings
from stocky.pipelines.artifacts import Artifacts
from stocky.pipelines.train import train_ticker
from stocky.wiring import memory_stack

PNG = b"\x89PNG\r\n\x1a\n"


def _maker(calls: list[int], payload: bytes) -> bytes:
    calls.append(1)
    return payload


def test_a_callable_entry_is_made_once_on_first_read() -> None:
    calls: list[int] = []
    arts = Artifacts({"a.json": b"{}", "chart.png": partial(_maker, calls, b"png-bytes")})
    assert sorted(arts) == ["a.json", "chart.png"] and len(arts) == 2
    assert not arts.made("chart.png") and calls == []
    assert arts["chart.png"] == b"png-bytes" and arts.get("chart.png") == b"png-bytes"
    assert calls == [1]  # kept after the first read
    assert arts.made("chart.png") and arts["a.json"] == b"{}"
    with pytest.raises(KeyError):
        arts["missing"]


def test_a_maker_that_returns_no_bytes_is_refused() -> None:
    arts = Artifacts({"x": lambda: "text"})  # type: ignore[dict-item,return-value]
    with pytest.raises(TypeError, match="not bytes"):
        arts["x"]


def test_pickles_unmade_entries(tmp_path: Path) -> None:
    arts = Artifacts({"chart.png": partial(bytes, 3)})
    back = pickle.loads(pickle.dumps(arts))
    assert not back.made("chart.png") and back["chart.png"] == b"\x00\x00\x00"


def test_training_renders_its_chart_only_when_read(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, price_source="bundled", order="0,1,1")
    with memory_stack(settings) as stack:
        prices = stack.source.fetch("^GSPC", None, dt.date(2016, 12, 30))
        result = train_ticker(
            ticker="^GSPC",
            prices=prices,
            source="bundled",
            registry=stack.registry,
            config=stack.train,
            now=dt.datetime(2016, 12, 30, 22, tzinfo=dt.UTC),
        )
        run_id = result.version.run_id
        assert run_id is not None
        record, _spec = stack.registry.runs[run_id]
        assert isinstance(record.artifacts, Artifacts)
        assert not record.artifacts.made("forecast_vs_actual.png")  # nothing read it yet
        png = stack.registry.run_artifact(run_id, "forecast_vs_actual.png")
        assert png is not None and png.startswith(PNG) and len(png) > 5_000
        assert record.artifacts.made("forecast_vs_actual.png")
