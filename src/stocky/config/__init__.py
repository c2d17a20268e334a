"""One Settings object, read from STOCKY_* environment variables (and `.env`) on first use.

Settings is composed of one group of fields per concern (`stocky.config.groups`); every
field keeps its flat name, so `STOCKY_<FIELD>` sets `settings.<field>` as before. The whole
is checked once built (`Settings.problems`): a combination that cannot work fails at
start-up with a message naming the variables, not at first use.

Nothing here runs at import: entrypoints call `get_settings()`; tests build `Settings(...)`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stocky.config.groups import (
    AccessSettings,
    AlertSettings,
    DataSettings,
    DriftSettings,
    ExecutorSettings,
    LoggingSettings,
    PriceSourceName,
    RetrainSettings,
    ServingSettings,
    StorageSettings,
    TrainingSettings,
)

__all__ = [
    "PriceSourceName",
    "Settings",
    "get_settings",
    "settings_error_message",
    "settings_payload",
]


class Settings(
    StorageSettings,
    DataSettings,
    TrainingSettings,
    ServingSettings,
    AccessSettings,
    DriftSettings,
    RetrainSettings,
    AlertSettings,
    ExecutorSettings,
    LoggingSettings,
    BaseSettings,
):
    """Every knob of stocky. Environment variable = `STOCKY_` + field name in upper case."""

    # hide_input_in_errors: a check of the whole would otherwise print every value, secrets too
    model_config = SettingsConfigDict(
        env_prefix="STOCKY_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    def problems(self) -> list[str]:
        """Combinations of values that cannot work together, one message each ([] when none).

        Each names the variables and says what to change. Checked when Settings are built;
        `stocky.wiring.settings_with` checks a copy with CLI overrides again.
        """
        found = []
        if self.webhook_url is not None and self.webhook_secret is None:
            found.append(
                "STOCKY_WEBHOOK_URL is set but STOCKY_WEBHOOK_SECRET is not: set a long random "
                "secret (e.g. `openssl rand -hex 32`) so the receiver can verify the signature"
            )
        if self.min_prices > self.max_prices:
            found.append(
                f"STOCKY_MIN_PRICES={self.min_prices} is above STOCKY_MAX_PRICES="
                f"{self.max_prices}: no price window could be accepted; lower the first or "
                "raise the second"
            )
        if self.alert_backoff_seconds > self.alert_backoff_max_seconds:
            found.append(
                f"STOCKY_ALERT_BACKOFF_SECONDS={self.alert_backoff_seconds:g} is above "
                f"STOCKY_ALERT_BACKOFF_MAX_SECONDS={self.alert_backoff_max_seconds:g}: the "
                "first retry wait must not exceed the longest one"
            )
        return found

    @model_validator(mode="after")
    def _valid_as_a_whole(self) -> Self:
        found = self.problems()
        if found:
            raise ValueError("; ".join(found))
        return self

    # --- derived -----------------------------------------------------------------------
    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'stocky.db').resolve()}"

    @property
    def tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def artifact_root(self) -> str | None:
        if self.mlflow_artifact_root:
            return self.mlflow_artifact_root
        if self.tracking_uri.startswith(("http://", "https://")):
            return None  # the tracking server chooses (mlflow-artifacts:/..., proxied over HTTP)
        return (self.home / "mlartifacts").resolve().as_uri()

    def ensure_home(self) -> Path:
        """Create the state folder (entrypoints call this, never imports)."""
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide Settings, built on first use."""
    return Settings()


def settings_error_message(exc: ValidationError) -> str:
    """One line for people from a Settings validation error: each problem with its variable
    (a problem of the whole names its variables itself), values left out."""
    problems = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ")
        loc = "_".join(str(p) for p in err["loc"]).upper()
        problems.append(f"STOCKY_{loc}: {msg}" if loc else msg)
    return f"invalid configuration: {'; '.join(problems)}: fix the environment variable(s) or .env"


def settings_payload(settings: Settings) -> str:
    """Settings as JSON for another process (`Settings.model_validate_json` reads it back).

    Unlike `model_dump_json`, secrets keep their values: a worker needs the real database
    password and webhook secret, not `**********`. The payload travels only to this
    deployment's own workers (a local pool or the Dask cluster the settings name).
    """
    import json

    from pydantic import SecretStr

    values = {
        k: v.get_secret_value() if isinstance(v, SecretStr) else v
        for k, v in settings.model_dump().items()
    }
    return json.dumps(values, default=str)
