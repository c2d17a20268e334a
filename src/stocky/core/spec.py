"""The model spec: a small JSON document that is the registered model.

Serving loads parameters from it and never unpickles anything. It is plain data here; the
registry adapter reads and writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stocky.core.arima import ArimaForecaster, ArimaParams
from stocky.core.volatility import IntervalMethod, validate_interval_method
from stocky.errors import BadInput

__all__ = ["SPEC_SCHEMA", "ModelSpec"]

SPEC_SCHEMA = "stocky.model_spec/1"


@dataclass(frozen=True)
class ModelSpec:
    """Everything serving needs, plus the facts a reader of the registry wants."""

    ticker: str
    params: ArimaParams
    train_start: str
    train_end: str
    train_rows: int
    metrics: dict[str, float | None] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    #: How served intervals are sized; specs written before it existed used the model's own.
    interval: IntervalMethod = "model"
    #: Calibrated widening of "ewma" intervals (`stocky.core.volatility.interval_scale`).
    interval_scale: float = 1.0

    def forecaster(self) -> ArimaForecaster:
        """A fitted forecaster with these parameters."""
        return ArimaForecaster.from_params(
            self.params, interval=self.interval, interval_scale=self.interval_scale
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SPEC_SCHEMA,
            "ticker": self.ticker,
            "model_type": "arima",
            "params": self.params.to_dict(),
            "interval": self.interval,
            "interval_scale": self.interval_scale,
            "training": {"start": self.train_start, "end": self.train_end, "rows": self.train_rows},
            "metrics": dict(self.metrics),
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """Rebuild from `to_dict` output.

        Raises:
            BadInput: If the document is not a stocky model spec of a known schema.
        """
        if data.get("schema") != SPEC_SCHEMA:
            raise BadInput(
                f"model spec schema {data.get('schema')!r} is not {SPEC_SCHEMA!r}: "
                "retrain the model with this stocky version"
            )
        try:
            training = data["training"]
            return cls(
                ticker=str(data["ticker"]),
                params=ArimaParams.from_dict(data["params"]),
                train_start=str(training["start"]),
                train_end=str(training["end"]),
                train_rows=int(training["rows"]),
                metrics=dict(data.get("metrics", {})),
                info=dict(data.get("info", {})),
                interval=validate_interval_method(str(data.get("interval", "model"))),
                interval_scale=float(data.get("interval_scale", 1.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"model spec is malformed ({exc!r}): retrain the model") from exc
