"""MLflow's pyfunc flavour over stocky's JSON model spec: no pickled object anywhere.

Every registered version's model folder holds ``spec.json`` and an ``MLmodel`` file whose
``python_function`` flavour names this module as its loader, so

    mlflow.pyfunc.load_model("models:/stocky-_cgspc@champion").predict(
        pd.DataFrame({"close": [...]})
    )

rebuilds the forecaster from the spec and answers, for the session after the last price, a
DataFrame with ``prediction``, ``lower`` and ``upper``: the numbers ``POST /predict`` gives for
the same prices. ``mlmodel_text`` writes that file without importing mlflow.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

__all__ = ["LOADER_MODULE", "StockyPyfunc", "mlmodel_text"]

LOADER_MODULE = "stocky.adapters.pyfunc"


def mlmodel_text(*, spec_file: str, created: str, model_uuid: str, stocky_version: str) -> str:
    """The ``MLmodel`` YAML of a spec folder: one ``python_function`` flavour, loaded by this
    module from `spec_file` (plain text: writing it needs no mlflow import)."""
    return (
        "flavors:\n"
        "  python_function:\n"
        f"    loader_module: {LOADER_MODULE}\n"
        f"    data: {spec_file}\n"
        f"    python_version: {platform.python_version()}\n"
        "metadata:\n"
        f"  stocky_version: {stocky_version}\n"
        f"model_uuid: {model_uuid}\n"
        f"utc_time_created: '{created}'\n"
    )


class StockyPyfunc:
    """The pyfunc model: ``predict(DataFrame with a close column)`` -> one forecast row."""

    def __init__(self, spec_dict: dict[str, Any]) -> None:
        from stocky.core.spec import ModelSpec

        self.spec = ModelSpec.from_dict(spec_dict)
        self.model = self.spec.forecaster()

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """Forecast the session after the last price of ``model_input["close"]``.

        Raises:
            BadInput: No ``close`` column, or prices that are not finite and > 0.
        """
        import pandas as pd

        from stocky.errors import BadInput

        if not isinstance(model_input, pd.DataFrame) or "close" not in model_input.columns:
            raise BadInput(
                "the input needs a 'close' column of prices, oldest first: pass "
                'pd.DataFrame({"close": [...]})'
            )
        level = float((params or {}).get("level", 0.95))
        fc = self.model.forecast(model_input["close"].to_numpy(dtype=float), level=level)
        return pd.DataFrame({"prediction": [fc.mean], "lower": [fc.lower], "upper": [fc.upper]})


def _load_pyfunc(data_path: str) -> StockyPyfunc:
    """MLflow's entry: `data_path` is the flavour's ``data`` file (the spec)."""
    return StockyPyfunc(json.loads(Path(data_path).read_text()))
