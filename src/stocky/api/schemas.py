"""Request and response bodies. The seed's /predict contract is kept key for key."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat

__all__ = [
    "BatchItemResult",
    "BatchRequest",
    "BatchResponse",
    "ErrorItem",
    "ErrorResponse",
    "ForecastResponse",
    "HealthResponse",
    "ModelInfo",
    "PredictRequest",
    "PredictResponse",
    "ReadyResponse",
    "ReloadResponse",
    "error_responses",
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
    # The patterns document the accepted forms; stocky.api.service checks them, with messages.
    date: str | None = Field(
        None,
        description=(
            "Trading session of the last price, exactly YYYY-MM-DD; default today. "
            "The forecast targets the next session."
        ),
        json_schema_extra={"pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date"},
    )
    ticker: str | None = Field(
        None,
        description=(
            "Ticker, 1-20 characters of A-Z 0-9 ^ . - = _ (case-insensitive); "
            "default STOCKY_DEFAULT_TICKER."
        ),
        json_schema_extra={"pattern": r"^[A-Za-z0-9^.=_-]{0,19}[A-Za-z0-9]$"},
    )


class PredictResponse(BaseModel):
    """The seed's four keys first, then what stocky adds."""

    prediction: float
    model_type: str = Field(
        description="The model family serving the ticker (`stocky families` lists them), e.g. "
        '"naive" or "ets".'
    )
    arima_order: str | None = Field(
        description='The ARIMA order as "(p, d, q)"; null for other families.'
    )
    model: str = Field(
        "", description='The model\'s short label, e.g. "ARIMA(0,1,1)" or "ETS(A,N,N)".'
    )
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
    model_type: str = Field(description="The family (see PredictResponse.model_type).")
    label: str = Field("", description='Short model name, e.g. "ETS(A,N,N)".')
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
    walk_forward_interval_score: float | None = Field(
        None, description="Mean 95% interval (Winkler) score on the test period; lower is better."
    )
    naive_interval_score: float | None = Field(
        None, description="The random walk's, with the model's half-widths."
    )
    walk_forward_crps: float | None = Field(
        None, description="Mean CRPS of the served normal on the test period; lower is better."
    )
    naive_crps: float | None = Field(None, description="The random walk's, with the same sigma.")
    direction_accuracy: float | None = Field(
        None, description="Share of test sessions whose forecast move had the actual's sign."
    )
    direction_pvalue: float | None = Field(
        None, description="Two-sided binomial p-value of direction_accuracy against 50%."
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


class BatchRequest(BaseModel):
    """Many /predict bodies at once; each is validated and answered on its own."""

    model_config = ConfigDict(extra="forbid")

    items: list[PredictRequest] = Field(
        description=(
            "The /predict bodies, each with its own ticker, prices and date; at most "
            "STOCKY_MAX_BATCH_ITEMS (default 1,000)."
        ),
    )


class BatchItemResult(BaseModel):
    """One item's answer: what /predict would have answered for it alone."""

    index: int = Field(description="Position of the item in `items`.")
    status: int = Field(description="The HTTP status /predict would give this item: 200, 404, 422.")
    result: PredictResponse | None = Field(None, description="The logged forecast (status 200).")
    error: ErrorResponse | None = Field(None, description="Why the item was refused (otherwise).")


class BatchResponse(BaseModel):
    """Per-item outcomes in the order of `items`; every forecast in it was logged first."""

    results: list[BatchItemResult]
    succeeded: int
    failed: int


_ERROR_DESCRIPTIONS = {
    401: "Missing or wrong API key",
    404: "Unknown ticker, or nothing stored for it (or the route is switched off)",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Bad input, with the field and the fix",
    429: "Too many requests from this client key (or address): wait Retry-After seconds",
    503: "The database or the registry failed; retry later",
}


_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "headers": {
            "WWW-Authenticate": {
                "description": "How to send a client key",
                "schema": {"type": "string"},
            }
        }
    },
    429: {
        "headers": {
            "Retry-After": {
                "description": "Seconds until this client may send again",
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    },
}


def error_responses(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error statuses, each an ErrorResponse body.

    Args:
        codes: HTTP statuses, e.g. 404, 422.
        descriptions: Route-specific wording, keyed like ``d503="..."``.
    """
    return {
        code: {
            "model": ErrorResponse,
            "description": descriptions.get(f"d{code}", _ERROR_DESCRIPTIONS[code]),
            **_HEADERS.get(code, {}),
        }
        for code in codes
    }
