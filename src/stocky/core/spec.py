"""The model spec: a small JSON document that is the registered model.

Serving loads parameters from it and never unpickles anything. It is plain data here; the
registry adapter reads and writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stocky.core.arima import ArimaParams
from stocky.core.families.arima import Arima
from stocky.core.families.base import Forecaster
from stocky.core.families.registry import LEGACY_MODEL_TYPE, forecaster_from_params
from stocky.core.families.served import ServedModel, resolve_interval_params
from stocky.errors import BadInput

__all__ = ["SPEC_SCHEMA", "ModelSpec"]

SPEC_SCHEMA = "stocky.model_spec/2"
#: Specs written before model families: always ARIMA, parameters as `ArimaParams.to_dict`.
SPEC_SCHEMA_V1 = "stocky.model_spec/1"


@dataclass(frozen=True)
class ModelSpec:
    """Everything serving needs, plus the facts a reader of the registry wants."""

    ticker: str
    #: The family's JSON parameters (an `ArimaParams` is taken as an ARIMA's).
    params: dict[str, Any]
    train_start: str
    train_end: str
    train_rows: int
    metrics: dict[str, float | None] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    #: How served intervals are sized (`stocky.core.intervals`: "ewma", "garch", "conformal"
    #: or "model"); specs written before it existed used the model's own.
    interval: str = "model"
    #: Calibrated widening of "ewma" intervals (`stocky.core.volatility.interval_scale`);
    #: specs written before `interval_params` existed keep their scale here.
    interval_scale: float = 1.0
    #: The family (`stocky.core.families.registry`) whose parameters `params` holds.
    model_type: str = LEGACY_MODEL_TYPE
    #: The interval method's fitted JSON parameters (an "ewma" without them uses
    #: `interval_scale`); checked on construction.
    interval_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.params, ArimaParams):
            object.__setattr__(self, "params", self.params.to_dict())
            object.__setattr__(self, "model_type", Arima.model_type)
        checked = resolve_interval_params(self.interval, self.interval_params, self.interval_scale)
        object.__setattr__(self, "interval_params", checked)
        if "scale" in checked:  # one number, wherever a reader looks for it
            object.__setattr__(self, "interval_scale", float(checked["scale"]))

    @property
    def arima_params(self) -> ArimaParams:
        """The parameters of an ARIMA spec.

        Raises:
            BadInput: The spec holds another family.
        """
        family = self.family()
        if not isinstance(family, Arima) or family.params_ is None:
            raise BadInput(f"{self.ticker}'s model is {self.model_type}, not an ARIMA")
        return family.params_

    def family(self) -> Forecaster:
        """The fitted family forecaster with these parameters (mean and the model's sigma).

        Raises:
            BadInput: Unknown family or malformed parameters.
        """
        return forecaster_from_params(self.model_type, self.params)

    def forecaster(self) -> ServedModel:
        """The model as served: the family's forecast with this spec's interval method."""
        return ServedModel(
            self.family(),
            interval=self.interval,
            interval_scale=self.interval_scale,
            interval_params=self.interval_params,
        )

    @property
    def label(self) -> str:
        """Short human name, e.g. "ARIMA(2,1,2)" or "ETS(A,Ad,N)"."""
        return self.family().label

    @property
    def arima_order(self) -> str | None:
        """The seed API's "(p, d, q)" for an ARIMA model, None for any other family."""
        return self.forecaster().arima_order

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SPEC_SCHEMA,
            "ticker": self.ticker,
            "model_type": self.model_type,
            "label": self.label,
            "params": dict(self.params),
            "interval": self.interval,
            "interval_scale": self.interval_scale,
            "interval_params": dict(self.interval_params),
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
        schema = data.get("schema")
        if schema not in (SPEC_SCHEMA, SPEC_SCHEMA_V1):
            raise BadInput(
                f"model spec schema {schema!r} is not {SPEC_SCHEMA!r}: "
                "retrain the model with this stocky version"
            )
        try:
            training = data["training"]
            model_type = str(data.get("model_type", LEGACY_MODEL_TYPE))
            if schema == SPEC_SCHEMA_V1 and model_type != LEGACY_MODEL_TYPE:
                raise ValueError(f"a {SPEC_SCHEMA_V1} spec holds an ARIMA, not {model_type!r}")
            params = dict(data["params"])
            if not isinstance(data["params"], dict):
                raise TypeError("params is not an object")
            # parse now, so a malformed spec fails on load and not on its first forecast
            forecaster_from_params(model_type, params)
            return cls(
                ticker=str(data["ticker"]),
                model_type=model_type,
                params=params,
                train_start=str(training["start"]),
                train_end=str(training["end"]),
                train_rows=int(training["rows"]),
                metrics=dict(data.get("metrics", {})),
                info=dict(data.get("info", {})),
                interval=str(data.get("interval", "model")),
                interval_scale=float(data.get("interval_scale", 1.0)),
                interval_params=dict(data.get("interval_params") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"model spec is malformed ({exc!r}): retrain the model") from exc
