"""Settings grouped by concern: the same STOCKY_* variables, and checks of the whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from stocky.config import Settings, settings_error_message
from stocky.config.groups import AlertSettings, DataSettings, ServingSettings
from stocky.errors import BadInput
from stocky.wiring import settings_with

#: The 67 fields of the flat Settings before it was grouped: each is still one variable.
FIELDS_BEFORE_GROUPING = [
    "home",
    "database_url",
    "mlflow_tracking_uri",
    "mlflow_artifact_root",
    "mlflow_experiment",
    "price_source",
    "csv_path",
    "synthetic_tickers",
    "synthetic_sessions",
    "synthetic_seed",
    "synthetic_end",
    "synthetic_regime_shifts",
    "synthetic_splits",
    "default_ticker",
    "exchange",
    "yahoo_timeout_seconds",
    "yahoo_retries",
    "order",
    "test_size",
    "validation_size",
    "train_window",
    "refit_every",
    "min_train_size",
    "host",
    "port",
    "min_prices",
    "max_prices",
    "interval",
    "max_body_bytes",
    "header_timeout_seconds",
    "body_timeout_seconds",
    "keep_alive_timeout_seconds",
    "max_connections",
    "log_repeat_seconds",
    "reload_interval_seconds",
    "reload_full_interval_seconds",
    "max_batch_items",
    "max_batch_body_bytes",
    "admin_api_key",
    "require_api_key",
    "api_key_cache_seconds",
    "rate_limit",
    "rate_limit_storage",
    "rate_limit_strategy",
    "drift_window",
    "drift_threshold_multiplier",
    "drift_consecutive_days",
    "drift_metric",
    "drift_cooldown_sessions",
    "drift_detector",
    "holdout_size",
    "min_improvement",
    "naive_tolerance",
    "dm_alpha",
    "alert_urls",
    "webhook_url",
    "webhook_secret",
    "alert_cooldown_sessions",
    "alert_max_attempts",
    "alert_backoff_seconds",
    "alert_backoff_max_seconds",
    "alert_timeout_seconds",
    "labels_late_hours",
    "executor",
    "jobs",
    "dask_address",
    "log_level",
]

#: A value each field accepts that differs from its default (as the environment spells it).
ENV_VALUES = {
    "home": ("/srv/stocky", Path("/srv/stocky")),
    "database_url": ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    "mlflow_tracking_uri": ("http://mlflow:5000", "http://mlflow:5000"),
    "mlflow_artifact_root": ("s3://bucket/a", "s3://bucket/a"),
    "mlflow_experiment": ("exp", "exp"),
    "price_source": ("synthetic", "synthetic"),
    "csv_path": ("/data/p.csv", Path("/data/p.csv")),
    "synthetic_tickers": ("7", 7),
    "synthetic_sessions": ("300", 300),
    "synthetic_seed": ("3", 3),
    "synthetic_end": ("2020-06-30", __import__("datetime").date(2020, 6, 30)),
    "synthetic_regime_shifts": ("false", False),
    "synthetic_splits": ("true", True),
    "default_ticker": ("msft", "MSFT"),
    "exchange": ("XLON", "XLON"),
    "yahoo_timeout_seconds": ("2.5", 2.5),
    "yahoo_retries": ("1", 1),
    "order": ("1,1,1", "1,1,1"),
    "test_size": ("40", 40),
    "validation_size": ("30", 30),
    "train_window": ("500", 500),
    "refit_every": ("21", 21),
    "min_train_size": ("100", 100),
    "host": ("0.0.0.0", "0.0.0.0"),
    "port": ("9001", 9001),
    "min_prices": ("5", 5),
    "max_prices": ("90", 90),
    "interval": ("model", "model"),
    "max_body_bytes": ("2048", 2048),
    "header_timeout_seconds": ("3", 3.0),
    "body_timeout_seconds": ("4", 4.0),
    "keep_alive_timeout_seconds": ("9", 9),
    "max_connections": ("50", 50),
    "log_repeat_seconds": ("0", 0.0),
    "reload_interval_seconds": ("0", 0.0),
    "reload_full_interval_seconds": ("60", 60.0),
    "max_batch_items": ("10", 10),
    "max_batch_body_bytes": ("4096", 4096),
    "admin_api_key": ("adm", "adm"),
    "require_api_key": ("true", True),
    "api_key_cache_seconds": ("1", 1.0),
    "rate_limit": ("5/second", "5/second"),
    "rate_limit_storage": ("redis://r:6379", "redis://r:6379"),
    "rate_limit_strategy": ("fixed-window", "fixed-window"),
    "drift_window": ("20", 20),
    "drift_threshold_multiplier": ("2", 2.0),
    "drift_consecutive_days": ("4", 4),
    "drift_metric": ("mase", "mase"),
    "drift_cooldown_sessions": ("3", 3),
    "drift_detector": ("rule", "rule"),
    "holdout_size": ("40", 40),
    "min_improvement": ("0.01", 0.01),
    "naive_tolerance": ("0.02", 0.02),
    "dm_alpha": ("0.05", 0.05),
    "alert_urls": ("json://h/", "json://h/"),
    "webhook_url": ("http://hook", "http://hook"),
    "webhook_secret": ("s3cret", "s3cret"),
    "alert_cooldown_sessions": ("2", 2),
    "alert_max_attempts": ("3", 3),
    "alert_backoff_seconds": ("5", 5.0),
    "alert_backoff_max_seconds": ("500", 500.0),
    "alert_timeout_seconds": ("1.5", 1.5),
    "labels_late_hours": ("2", 2.0),
    "executor": ("dask", "dask"),
    "jobs": ("3", 3),
    "dask_address": ("tcp://s:8786", "tcp://s:8786"),
    "log_level": ("DEBUG", "DEBUG"),
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    import os

    for var in list(os.environ):
        if var.startswith("STOCKY_"):
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    return monkeypatch


def _plain(value: object) -> object:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


#: Fields added since the grouping (model families, alert pass limits, log format).
FIELDS_ADDED_SINCE = [
    "families",
    "selection_alpha",
    "alert_pass_seconds",
    "alert_breaker_failures",
    "promotion_metric",
    "log_format",
    "access_log",
]


def test_every_field_is_still_there_and_nothing_else_was_added():
    assert len(FIELDS_BEFORE_GROUPING) == 67
    assert sorted(Settings.model_fields) == sorted(FIELDS_BEFORE_GROUPING + FIELDS_ADDED_SINCE)
    assert set(ENV_VALUES) == set(FIELDS_BEFORE_GROUPING)


@pytest.mark.parametrize("field", FIELDS_BEFORE_GROUPING)
def test_each_old_variable_still_sets_its_attribute(clean_env, field):
    raw, expected = ENV_VALUES[field]
    clean_env.setenv(f"STOCKY_{field.upper()}", raw)
    if field == "webhook_url":  # a rule of the whole: the URL needs its secret
        clean_env.setenv("STOCKY_WEBHOOK_SECRET", "s")
    settings = Settings()
    assert _plain(getattr(settings, field)) == expected
    assert _plain(getattr(settings, field)) != _plain(Settings.model_fields[field].default)


def test_promotion_metric_reaches_the_retrain_policy(clean_env):
    from pydantic import ValidationError

    from stocky.wiring import retrain_config

    assert retrain_config(Settings()).policy.metric == "rmse"
    clean_env.setenv("STOCKY_PROMOTION_METRIC", "interval_score")
    assert retrain_config(Settings()).policy.metric == "interval_score"
    clean_env.setenv("STOCKY_PROMOTION_METRIC", "mae")
    with pytest.raises(ValidationError, match="promotion_metric"):
        Settings()


def test_fields_are_grouped_by_concern():
    assert "webhook_secret" in AlertSettings.model_fields
    assert {"min_prices", "max_prices", "port"} <= set(ServingSettings.model_fields)
    assert "price_source" in DataSettings.model_fields
    assert issubclass(Settings, AlertSettings)


def test_a_webhook_url_without_its_secret_is_refused_naming_both(clean_env):
    clean_env.setenv("STOCKY_WEBHOOK_URL", "http://hook.example/secret-path")
    with pytest.raises(ValidationError) as err:
        Settings()
    message = settings_error_message(err.value)
    assert "STOCKY_WEBHOOK_URL" in message and "STOCKY_WEBHOOK_SECRET" in message
    assert "secret-path" not in str(err.value) and "secret-path" not in message
    clean_env.setenv("STOCKY_WEBHOOK_SECRET", "s")
    assert Settings().webhook_url is not None


def test_min_prices_above_max_prices_is_refused_naming_both():
    with pytest.raises(ValidationError, match="STOCKY_MIN_PRICES=70 is above STOCKY_MAX_PRICES=60"):
        Settings(min_prices=70)
    assert Settings(min_prices=60, max_prices=60).min_prices == 60


def test_a_first_backoff_above_the_longest_is_refused_naming_both():
    with pytest.raises(ValidationError, match="STOCKY_ALERT_BACKOFF_SECONDS=100 .*MAX_SECONDS=50"):
        Settings(alert_backoff_seconds=100, alert_backoff_max_seconds=50)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValidationError) as err:
        Settings(min_prices=70, webhook_url="http://x")
    message = settings_error_message(err.value)
    assert "STOCKY_MIN_PRICES" in message and "STOCKY_WEBHOOK_SECRET" in message
    assert "Value error" not in message


def test_cli_overrides_are_checked_as_a_whole(tmp_path):
    base = Settings(home=tmp_path)
    assert settings_with(base, max_prices=30).max_prices == 30
    with pytest.raises(BadInput, match="STOCKY_MIN_PRICES=10 is above STOCKY_MAX_PRICES=5"):
        settings_with(base, max_prices=5)


def test_the_cli_exits_non_zero_with_the_message_and_no_traceback(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKY_")}
    env |= {"STOCKY_HOME": str(tmp_path), "STOCKY_MIN_PRICES": "70"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parents[2] / "src"), env.get("PYTHONPATH", "")]
    )
    done = subprocess.run(
        [sys.executable, "-m", "stocky", "version"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: invalid configuration: STOCKY_MIN_PRICES=70 is above")
    assert "Traceback" not in done.stderr


def test_the_server_factory_stops_with_the_message(clean_env):
    from stocky.api.main import app_factory
    from stocky.config import get_settings

    clean_env.setenv("STOCKY_WEBHOOK_URL", "http://hook")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit, match="STOCKY_WEBHOOK_SECRET"):
            app_factory()
    finally:
        get_settings.cache_clear()


def test_log_format_and_access_log_variables(clean_env):
    settings = Settings()
    assert (settings.log_format, settings.access_log) == ("text", True)
    clean_env.setenv("STOCKY_LOG_FORMAT", "json")
    clean_env.setenv("STOCKY_ACCESS_LOG", "false")
    settings = Settings()
    assert (settings.log_format, settings.access_log) == ("json", False)
    clean_env.setenv("STOCKY_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError) as info:
        Settings()
    assert "STOCKY_LOG_FORMAT" in settings_error_message(info.value)
