"""The composition root: one Stack from Settings, closed as a context manager."""

from __future__ import annotations

from pathlib import Path

import pytest

from stocky.adapters.registry import ModelRegistry
from stocky.adapters.store.predictions import PredictionRepository
from stocky.config import Settings
from stocky.errors import BadInput
from stocky.wiring import build_stack, replay_settings, settings_with


def _settings(tmp_path: Path, **kw: object) -> Settings:
    values: dict[str, object] = {"home": tmp_path, "price_source": "bundled"} | kw
    return Settings(**values)  # type: ignore[arg-type]


def test_stack_builds_every_part_from_settings_and_closes(tmp_path: Path) -> None:
    settings = _settings(tmp_path, order="0,1,1", drift_window=9, holdout_size=40)
    with build_stack(settings) as stack:
        assert isinstance(stack.predictions, PredictionRepository)
        assert isinstance(stack.registry, ModelRegistry)
        assert stack.registry.tracking_uri == settings.tracking_uri
        assert (stack.train.order, stack.drift.window) == ("0,1,1", 9)
        assert (stack.retrain.holdout_size, stack.retrain.validation_size) == (40, 40)
        assert stack.source.name == "bundled"
        assert stack.predictions.count() == 0  # migrated: the table exists
        assert stack.engine is not None
    assert (tmp_path / "stocky.db").exists()
    stack.close()  # idempotent


def test_a_broken_source_setting_fails_only_when_the_source_is_used(tmp_path: Path) -> None:
    with build_stack(_settings(tmp_path, price_source="csv")) as stack:
        assert stack.predictions.count() == 0
        with pytest.raises(BadInput, match="STOCKY_CSV_PATH"):
            _ = stack.source


def test_bad_order_fails_before_anything_is_opened(tmp_path: Path) -> None:
    with pytest.raises(BadInput):
        build_stack(_settings(tmp_path / "x", order="2,x,1"))
    assert not (tmp_path / "x" / "stocky.db").exists()


def test_settings_with_applies_only_given_overrides(tmp_path: Path) -> None:
    base = _settings(tmp_path)
    assert settings_with(base, order=None) is base
    changed = settings_with(base, order="1,1,0", holdout_size=None)
    assert changed.order == "1,1,0" and changed.holdout_size == base.holdout_size
    with pytest.raises(TypeError, match="nope"):
        settings_with(base, nope=1)


def test_replay_settings_point_every_store_at_the_replay_folder(tmp_path: Path) -> None:
    live = _settings(
        tmp_path, database_url="postgresql+psycopg://u@h/db", mlflow_tracking_uri="http://h:5000"
    )
    rs = replay_settings(live, tmp_path / "replay")
    assert rs.db_url.startswith("sqlite:///") and str(tmp_path / "replay") in rs.db_url
    assert str(tmp_path / "replay") in rs.tracking_uri
    assert rs.mlflow_experiment == "stocky-replay"
