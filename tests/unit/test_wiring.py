"""The composition root: one Stack from Settings, closed as a context manager."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from stocky.adapters.registry import ModelRegistry
from stocky.adapters.store.predictions import PredictionRepository
from stocky.config import Settings
from stocky.errors import BadInput
from stocky.wiring import (
    alert_config,
    alert_notifiers,
    build_stack,
    delivery_policy,
    rate_limiter,
    replay_settings,
    server_limits,
    settings_with,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "stocky"


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


def test_the_small_factories_read_their_settings(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        alert_cooldown_sessions=7,
        labels_late_hours=2.5,
        alert_max_attempts=3,
        alert_backoff_seconds=11.0,
        alert_pass_seconds=42.0,
        header_timeout_seconds=3.0,
        max_connections=17,
    )
    config = alert_config(settings, replay=True)
    assert (config.cooldown_sessions, config.labels_late_hours, config.replay) == (7, 2.5, True)
    assert alert_config(settings).replay is False
    policy = delivery_policy(settings)
    assert (policy.max_attempts, policy.backoff_seconds, policy.pass_seconds) == (3, 11.0, 42.0)
    limits = server_limits(settings)
    assert (limits.header_timeout, limits.max_connections) == (3.0, 17)
    assert rate_limiter(settings) is None  # no STOCKY_RATE_LIMIT: no limiter
    assert alert_notifiers(settings) == []  # no target configured


def test_alert_notifiers_build_one_per_url_and_the_webhook(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        alert_urls="json://127.0.0.1:9/a, json://127.0.0.1:9/b",
        webhook_url="http://127.0.0.1:9/hook",
        webhook_secret="s" * 32,
        alert_timeout_seconds=1.5,
    )
    built = alert_notifiers(settings)
    try:
        assert [type(n).__name__ for n in built] == [
            "AppriseNotifier",
            "AppriseNotifier",
            "WebhookNotifier",
        ]
    finally:
        for notifier in built:
            notifier.close()
    # a copy that skipped validation still cannot build half a webhook
    half = _settings(tmp_path).model_copy(update={"webhook_url": settings.webhook_url})
    with pytest.raises(BadInput, match="STOCKY_WEBHOOK_SECRET"):
        alert_notifiers(half)


#: Functions outside wiring.py (and config/, cli/) allowed a `Settings` parameter, and why.
#: Each one only forwards the settings or is an entry point; none builds an adapter from them.
SETTINGS_ALLOWED = {
    ("api/app.py", "create_app"): "the app factory: an entry point, it calls build_stack",
    ("pipelines/retrain_many.py", "retrain_many"): (
        "ships the settings as JSON to worker processes, which rebuild their Stack "
        "(wiring.worker_stack); builds nothing itself"
    ),
    ("pipelines/retrain_many.py", "run_daily_many"): "ships the settings to retrain workers",
    ("pipelines/study.py", "run_study"): (
        "each study cell is a private replay whose settings are the base plus its policy; "
        "shipped as JSON to the workers"
    ),
    ("pipelines/replay_run.py", "run_replay"): (
        "the entry point of one replay (a CLI command or a study cell's task): its stack "
        "comes from wiring.build_stack or wiring.memory_stack"
    ),
    ("pipelines/drift.py", "detect_drift"): (
        "the seed's public function: settings default to the environment, the stack comes "
        "from wiring.build_stack"
    ),
}
#: Where settings are read: the composition root, the settings themselves, the CLI commands.
SETTINGS_HOMES = ("wiring.py", "config/", "cli/")


def _names_settings(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name) and node.id == "Settings":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "Settings":
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:  # a quoted annotation, or only text (an Annotated description)
                quoted = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                continue
            if _names_settings(quoted):
                return True
    return False


def _taking_settings(tree: ast.AST) -> set[str]:
    """Names of the functions of `tree` with a Settings parameter (or named *from_settings*)."""
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        if "from_settings" in node.name or any(
            a is not None and _names_settings(a.annotation) for a in params
        ):
            found.add(node.name)
    return found


def _settings_functions() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if not rel.startswith(SETTINGS_HOMES):
            tree = ast.parse(path.read_text(), filename=rel)
            found.update((rel, name) for name in _taking_settings(tree))
    return found


def test_only_the_composition_root_turns_settings_into_objects() -> None:
    found = _settings_functions()
    assert ("api/app.py", "create_app") in found  # the scan sees what it is looking for
    unexpected = sorted(found - set(SETTINGS_ALLOWED))
    assert not unexpected, (
        f"{unexpected} take Settings outside stocky.wiring: build the object in wiring.py "
        "and pass plain values (or add the function to SETTINGS_ALLOWED with the reason)"
    )
    assert set(SETTINGS_ALLOWED) <= found, "stale SETTINGS_ALLOWED entries: remove them"


def test_the_scan_catches_a_factory_written_anywhere(tmp_path: Path) -> None:
    code = (
        "class Source:\n"
        "    @classmethod\n"
        "    def build(cls, s: 'Settings | None') -> 'Source': ...\n"
        "def make(*, settings: config.Settings) -> int: ...\n"
        "def fine(n: int) -> int: ...\n"
        "def from_settings(s): ...\n"
    )
    assert _taking_settings(ast.parse(code)) == {"build", "make", "from_settings"}
