"""Request and response bodies. The seed's /predict contract is kept key for key."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictFloat

__all__ = [
    "ErrorItem",
    "ErrorResponse",
    "ForecastResponse",
    "HealthResponse",
    "ModelInfo",
    "PredictRequest",
    "PredictResponse",
    "ReadyResponse",
    "ReloadResponse",
]

# Strict: JSON numbers only (integers included); "170.2", true and null are rejected.
Price = Annotated[StrictFloat, Field(description="A closing price > 0.")]


class PredictRequest(BaseModel):
    """The seed's body plus optional `ticker`; length limits come from Settings."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "recent_prices": [
                        170.2,
                        171.0,
                        169.8,
                        170.5,
                        171.3,
                        172.1,
                        171.8,
                        172.6,
                        173.0,
                        172.4,
                    ]
                }
            ]
        },
    )

    recent_prices: list[Price] = Field(
        description="Recent daily closes, oldest first, most recent last."
    )
    date: str | None = Field(
        None,
        description="Session of the last price (YYYY-MM-DD); default today. The forecast targets the next session.",
    )
    ticker: str | None = Field(None, description="Ticker; default STOCKY_DEFAULT_TICKER.")


class PredictResponse(BaseModel):
    """The seed's four keys first, then what stocky adds."""

    prediction: float
    model_type: str = "arima"
    arima_order: str = Field(description='The order as "(p, d, q)".')
    timestamp: str = Field(description="When the prediction was made, UTC ISO-8601.")
    ticker: str
    model_version: int
    target_date: str = Field(description="The trading session the forecast is for.")
    lower: float = Field(description="Lower bound of the 95% interval.")
    upper: float = Field(description="Upper bound of the 95% interval.")
    naive: float = Field(description="The naive random-walk forecast (the last price).")
    prediction_id: int = Field(description="Row id of the logged prediction.")


class ForecastResponse(PredictResponse):
    """A forecast from the prices the server stores."""

    as_of: str = Field(description="The last stored session used.")
    history_len: int


class HealthResponse(BaseModel):
    status: str = "ok"


class ReadyResponse(BaseModel):
    status: str
    models: dict[str, int]
    reason: str | None = None


class ModelInfo(BaseModel):
    ticker: str
    registered_name: str
    version: int
    aliases: list[str]
    serving: bool
    order: str | None
    train_start: str | None
    train_end: str | None
    walk_forward_rmse: float | None
    naive_rmse: float | None
    skill: float | None
    interval: str | None = Field(None, description="How served 95% intervals are sized.")
    walk_forward_coverage: float | None = Field(
        None, description="Share of test-period closes inside the 95% interval."
    )


class ReloadResponse(BaseModel):
    loaded: list[str]
    unchanged: list[str]
    failed: list[str]
    serving: dict[str, int]


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[ErrorItem] = []
    request_id: str | None = None  # on 5xx: the id the server log files the details under
