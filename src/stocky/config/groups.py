"""The groups of Settings, one class of fields per concern.

`Settings` (in `stocky.config`) is composed of these; each field keeps its flat name, so its
variable is still `STOCKY_` + the field name in upper case, and `settings.<field>` reads it.
A group is a plain model of fields and their single-field checks: the environment is read,
and the groups checked against each other, by `Settings` alone.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from stocky.core.redact import redact

__all__ = [
    "AccessSettings",
    "AlertSettings",
    "DataSettings",
    "DriftSettings",
    "ExecutorSettings",
    "LoggingSettings",
    "RetrainSettings",
    "ServingSettings",
    "StorageSettings",
    "TrainingSettings",
]

PriceSourceName = Literal["auto", "bundled", "yahoo", "csv", "synthetic"]


class StorageSettings(BaseModel):
    """Where state lives: the state folder, the database, the MLflow store."""

    home: Path = Field(Path("var"), description="Folder for local state (DB, MLflow store).")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default SQLite `<home>/stocky.db` in WAL mode."
    )
    mlflow_tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; default SQLite `<home>/mlflow.db`."
    )
    mlflow_artifact_root: str | None = Field(
        None, description="Where a new experiment keeps artifacts; default `<home>/mlartifacts`."
    )
    mlflow_experiment: str = Field("stocky", description="MLflow experiment for runs.")


class DataSettings(BaseModel):
    """Where prices come from, and the exchange calendar."""

    price_source: PriceSourceName = Field(
        "auto",
        description=(
            "auto (Yahoo when reachable, else bundled), bundled, yahoo, csv, or synthetic "
            "(a seeded synthetic universe, labelled synthetic)."
        ),
    )
    csv_path: Path | None = Field(
        None,
        description=(
            "For source=csv: a CSV (Date, Close) of one ticker; a long-format CSV or Parquet "
            "file with a Ticker (or Symbol) column; or a folder of <TICKER>.csv files."
        ),
    )
    synthetic_tickers: int = Field(
        100, ge=1, le=99_999, description="Tickers SYN0001.. of the synthetic source."
    )
    synthetic_sessions: int = Field(
        2520, ge=20, le=20_000, description="Sessions per synthetic ticker, ending at the end."
    )
    synthetic_seed: int = Field(0, ge=0, description="Seed of the synthetic universe.")
    synthetic_end: dt.date = Field(
        dt.date(2024, 12, 31), description="Last synthetic session (fixed: reproducible)."
    )
    synthetic_regime_shifts: bool = Field(
        True, description="Synthetic volatility changes level a few times per ticker."
    )
    synthetic_splits: bool = Field(
        False, description="About one synthetic ticker in three has an unadjusted split."
    )
    default_ticker: str = Field("^GSPC", description="Ticker used when none is given.")
    exchange: str = Field("XNYS", description="Exchange calendar for trading sessions.")
    yahoo_timeout_seconds: float = Field(10.0, gt=0)
    yahoo_retries: int = Field(3, ge=0)

    @field_validator("default_ticker")
    @classmethod
    def _upper_ticker(cls, value: str) -> str:
        from stocky.core.tickers import normalize_ticker
        from stocky.errors import BadInput

        try:
            return normalize_ticker(value)
        except BadInput as exc:  # pydantic reports a ValueError as a validation error
            raise ValueError(str(exc)) from exc


class TrainingSettings(BaseModel):
    """How a model is chosen and evaluated when trained."""

    order: str = Field(
        "auto",
        description="'auto' (choose among STOCKY_FAMILIES) or an ARIMA order 'p,d,q' (no choice).",
    )
    families: str = Field(
        "naive,drift,arima,ets,theta,lightgbm",
        description=(
            "Comma list of model families that compete per ticker (`stocky families` lists "
            "them; naive is always one)."
        ),
    )
    selection_alpha: float = Field(
        0.05,
        gt=0,
        lt=1,
        description=(
            "Level a non-naive model must reach against naive on the validation window "
            "(one-sided Diebold-Mariano, Holm-corrected for the candidates tried)."
        ),
    )
    test_size: int = Field(252, ge=20, description="Walk-forward test sessions.")
    validation_size: int = Field(
        756,
        ge=20,
        description=(
            "Sessions the families are compared on before the test period (a shorter history "
            "uses what it has, down to 126)."
        ),
    )
    train_window: int = Field(1260, ge=0, description="Sessions to fit on (0 = all history).")
    refit_every: int = Field(0, ge=0, description="Refit every K test sessions (0 = never).")
    min_train_size: int = Field(250, ge=30, description="Fewest sessions a fit accepts.")


class ServingSettings(BaseModel):
    """The API server: listening, limits, forecast windows, reloads."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    min_prices: int = Field(10, ge=3)
    max_prices: int = Field(60, ge=3)
    interval: Literal["auto", "ewma", "garch", "conformal", "model"] = Field(
        "auto",
        description=(
            "How 95% intervals are sized: 'auto' (per ticker, the lowest interval score on "
            "the validation window among ewma, garch and conformal), 'ewma' (recent "
            "volatility of the price window, calibrated), 'garch' (GARCH(1,1) with Student-t "
            "innovations), 'conformal' (split-conformal on validation errors scaled by the "
            "recent volatility) or 'model' (the family's own variance). The chosen method "
            "and its parameters are recorded in each trained model."
        ),
    )
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description=(
            "A request head must arrive within this many seconds of the connection opening "
            "(or of its first byte on a kept-alive connection), else 408 and close."
        ),
    )
    body_timeout_seconds: float = Field(
        10.0, gt=0, description="A request body must arrive within this many seconds of its head."
    )
    keep_alive_timeout_seconds: int = Field(
        5, ge=1, description="An idle kept-alive connection is closed after this many seconds."
    )
    max_connections: int = Field(
        1000,
        ge=1,
        description="Open connections per worker; one more gets a 503 and is closed.",
    )
    reload_interval_seconds: float = Field(
        30.0,
        ge=0,
        description=(
            "Seconds between reload polls (0 = never); a poll reads the promotions change log."
        ),
    )
    reload_full_interval_seconds: float = Field(
        600.0,
        ge=0,
        description=(
            "Seconds between polls that list every champion in the registry (catching alias "
            "moves made outside stocky); 0 = every poll does."
        ),
    )
    max_batch_items: int = Field(
        1000, ge=1, le=100_000, description="Most items one POST /predict/batch may carry."
    )
    max_batch_body_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        description="Body limit of POST /predict/batch (other routes: max_body_bytes).",
    )
    admin_api_key: SecretStr | None = None

    @field_validator("admin_api_key", mode="before")
    @classmethod
    def _empty_key_is_unset(cls, value: object) -> object:
        # STOCKY_ADMIN_API_KEY="" must not turn admin routes on with an empty key
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value


class AccessSettings(BaseModel):
    """Client keys and rate limits of the forecast routes (/predict, /predict/batch, /forecast)."""

    require_api_key: bool = Field(
        False,
        description=(
            "Forecast routes answer 401 without a valid client key (`stocky keys create`), "
            "sent as X-API-Key or Authorization: Bearer."
        ),
    )
    api_key_cache_seconds: float = Field(
        5.0,
        gt=0,
        le=300,
        description="Client keys are read from the database at most this often per worker; "
        "a revoked key stops working within this many seconds.",
    )
    rate_limit: str = Field(
        "",
        description=(
            "Requests per client key (per client IP without a key) on the forecast routes, "
            "in the `limits` notation: '100/second', or several: '100/second;2000/minute'. "
            "Empty: no limit."
        ),
    )
    rate_limit_storage: str = Field(
        "memory://",
        description=(
            "Where the counts live: memory:// (each worker counts alone) or redis://host:6379 "
            "(rediss:// for TLS) to limit several workers and hosts together."
        ),
    )
    rate_limit_strategy: Literal["moving-window", "sliding-window-counter", "fixed-window"] = Field(
        "moving-window",
        description="How requests are counted (see the `limits` library's strategies).",
    )

    @field_validator("rate_limit")
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        text = value.strip()
        if text:
            from limits import parse_many  # ~60 ms: only when a limit is set

            try:
                parse_many(text)
            except ValueError as exc:
                raise ValueError(
                    f"{text!r} is not a rate limit: write e.g. '100/second' or "
                    "'100/second;2000/minute', or leave it empty for no limit"
                ) from exc
        return text

    @field_validator("rate_limit_storage")
    @classmethod
    def _valid_rate_limit_storage(cls, value: str) -> str:
        text = value.strip() or "memory://"
        scheme = text.split("://", 1)[0].lower()
        if "://" not in text or scheme not in ("memory", "redis", "rediss"):
            raise ValueError(
                f"{redact(text)!r} is not a rate-limit storage: use memory:// or "
                "redis://host:6379 (rediss:// for TLS)"
            )
        return text


class DriftSettings(BaseModel):
    """When a model counts as drifted (the STOCKY_DRIFT_* rule and detector)."""

    drift_window: int = Field(14, ge=2)
    drift_threshold_multiplier: float = Field(1.5, gt=0)
    drift_consecutive_days: int = Field(3, ge=1)
    drift_metric: Literal["rmse", "return_rmse", "mape", "mase"] = "rmse"
    drift_cooldown_sessions: int = Field(10, ge=0)
    drift_detector: Literal["assessment", "rule"] = Field(
        "assessment",
        description=(
            "What triggers a retrain: 'assessment' (model degraded vs naive; a volatility "
            "change never retrains) or 'rule' (the rolling-error rule, STOCKY_DRIFT_*)."
        ),
    )


class RetrainSettings(BaseModel):
    """When a retrained challenger is promoted."""

    holdout_size: int = Field(63, ge=10)
    min_improvement: float = Field(0.0, ge=0)
    naive_tolerance: float = Field(0.0, ge=0)
    dm_alpha: float | None = Field(None, gt=0, lt=1)
    promotion_metric: Literal["rmse", "interval_score", "crps"] = Field(
        "rmse",
        description=(
            "What a challenger must beat the champion and naive on: 'rmse' (the point "
            "forecast), 'interval_score' (the 95% interval's Winkler score) or 'crps' (the "
            "CRPS of the normal the interval describes)."
        ),
    )


class AlertSettings(BaseModel):
    """Where alerts go and how delivery retries."""

    alert_urls: SecretStr | None = Field(
        None,
        description="Apprise URLs for people (Slack, e-mail, ntfy, ...), separated by spaces.",
    )
    webhook_url: SecretStr | None = Field(
        None, description="Machine webhook: alerts POSTed as JSON signed with the secret."
    )
    webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key of the webhook's X-Stocky-Signature header."
    )
    alert_cooldown_sessions: int = Field(
        5,
        ge=0,
        description="Sessions a lasting condition (ticker and kind) stays quiet after one alert.",
    )
    alert_max_attempts: int = Field(8, ge=1, description="Delivery attempts before 'failed'.")
    alert_backoff_seconds: float = Field(60.0, gt=0, description="First retry wait; doubles.")
    alert_backoff_max_seconds: float = Field(6 * 3600.0, gt=0)
    alert_timeout_seconds: float = Field(
        10.0, gt=0, description="Wall-clock limit of one call to a target (not of one read)."
    )
    alert_pass_seconds: float = Field(
        30.0,
        gt=0,
        description="Wall-clock limit of one delivery pass; what is left stays queued.",
    )
    alert_breaker_failures: int = Field(
        3,
        ge=1,
        description="Consecutive failures after which a target is skipped for the rest of a pass.",
    )
    labels_late_hours: float = Field(
        6.0, ge=0, description="Hours after a session's close before a missing close alerts."
    )

    @field_validator("alert_urls", "webhook_url", "webhook_secret", mode="before")
    @classmethod
    def _empty_alert_setting_is_unset(cls, value: object) -> object:
        # an empty variable (compose's `${VAR:-}`) means "not configured", not "empty URL"
        if isinstance(value, str) and not value.strip():
            return None
        return value


class ExecutorSettings(BaseModel):
    """Where per-ticker work runs."""

    executor: Literal["local", "dask"] = Field(
        "local", description="local (a process pool on this machine) or dask (a Dask cluster)."
    )
    jobs: int = Field(0, ge=0, description="Worker processes for local work (0 = CPU count).")
    dask_address: str | None = Field(
        None,
        description="Scheduler of a running Dask cluster (tcp://scheduler:8786); unset with "
        "executor=dask starts a LocalCluster.",
    )


class LoggingSettings(BaseModel):
    """What is logged, and how often a repeated warning is."""

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        "text",
        description=(
            "text: one human line per record; json: one JSON object per line (time, level, "
            "logger, message, and request_id, ticker, model_version, latency_ms where they "
            "apply) for Loki or Elasticsearch."
        ),
    )
    access_log: bool = Field(
        True,
        description=(
            "The server logs one line per request (logger stocky.access, at INFO): method, "
            "path, status, latency, request id, and the ticker and model version of a forecast."
        ),
    )
    log_repeat_seconds: float = Field(
        10.0,
        ge=0,
        description=(
            "One warning or error of a kind is logged per this many seconds; the next says how "
            "many were left out (0 = log all)."
        ),
    )
