"""Global families (one model for a whole universe) fitted once per training run.

A global family such as LightGBM learns from every ticker's prices at once, then competes per
ticker like any other family. To stay honest it is fitted three times, each on the same part of
every ticker's history that a per-ticker family would see at that step:

- ``validation``: the prices before each ticker's validation window (the choice);
- ``test``: the prices before each ticker's test period (the walk-forward reported vs naive);
- ``final``: the latest prices (the model that serves).

The parameters of the three fits are written once, as one JSON file named by its digest under
``<STOCKY_HOME>/globals/``, and every worker reads that file (not one copy per task).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from stocky.core.families.base import Forecaster
from stocky.core.families.registry import family_class
from stocky.errors import BadInput

__all__ = [
    "STAGES",
    "GlobalModels",
    "fit_global_models",
    "global_families",
    "load_global_models",
    "save_global_models",
    "stage_slices",
]

STAGES = ("validation", "test", "final")

#: family -> stage -> fitted forecaster
GlobalModels = Mapping[str, Mapping[str, Forecaster]]


def global_families(families: tuple[str, ...]) -> tuple[str, ...]:
    """The families of `families` that are fitted once per universe."""
    return tuple(f for f in families if getattr(family_class(f), "is_global", False))


def stage_slices(
    close: np.ndarray, *, test_size: int, validation_size: int, train_window: int
) -> dict[str, np.ndarray]:
    """The prices each stage fits on for one ticker (as `evaluate` and the final fit cut them)."""
    pre_test = close[:-test_size] if test_size else close
    before_validation = pre_test[:-validation_size]

    def tail(x: np.ndarray) -> np.ndarray:
        return x[-train_window:] if train_window else x

    return {
        "validation": tail(before_validation),
        "test": tail(pre_test),
        "final": tail(close),
    }


def fit_global_models(
    closes: Mapping[str, np.ndarray],
    *,
    families: tuple[str, ...],
    test_sizes: Mapping[str, int],
    validation_size: int,
    train_window: int,
    min_prices: int = 60,
    min_train_size: int = 0,
    min_validation: int = 0,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Fit every global family of `families` on the universe `closes`, once per stage.

    Args:
        closes: Ticker -> closing prices, oldest first.
        families: The configured families (the non-global ones are ignored).
        test_sizes: Ticker -> its test size (a split date gives each ticker its own).
        validation_size: Validation sessions (as the choice uses them).
        train_window: Sessions each fit uses (0 = all).
        min_prices: Stage slices shorter than this are left out of that stage's fit.
        min_train_size: The training's fewest fit sessions (a short history's validation
            window shrinks to leave them, as `TrainConfig.for_history` does).
        min_validation: The shortest validation window it shrinks to.

    Returns:
        family -> stage -> the fitted model's JSON parameters.

    Raises:
        BadInput: No ticker has enough prices for a stage.
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for family in global_families(families):
        cls: Any = family_class(family)
        stages: dict[str, list[np.ndarray]] = {s: [] for s in STAGES}
        for ticker, close in closes.items():
            test = test_sizes.get(ticker, 0)
            # as `TrainConfig.for_history` cuts this ticker's validation window
            room = len(close) - test - min_train_size
            validation = max(min(validation_size, min_validation), min(validation_size, room))
            if len(close) < test + validation + min_prices:
                continue
            cut = stage_slices(
                close, test_size=test, validation_size=validation, train_window=train_window
            )
            for stage, part in cut.items():
                if len(part) >= min_prices:
                    stages[stage].append(part)
        out[family] = {}
        for stage, series in stages.items():
            if not series:
                raise BadInput(
                    f"no ticker has {min_prices}+ prices before its {stage} step to fit the "
                    f"global {family} model: use more history or leave {family} out of "
                    "--families"
                )
            out[family][stage] = cls().fit_many(series).to_params()
    return out


def save_global_models(params: Mapping[str, Any], folder: Path) -> Path:
    """Write the parameters as ``<digest>.json`` in `folder` (atomically) and return the path."""
    blob = json.dumps(params, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(blob).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.json"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(blob)
        tmp.replace(path)
    return path


@lru_cache(maxsize=4)
def load_global_models(path: str) -> dict[str, dict[str, Forecaster]]:
    """Read a file of `save_global_models` into fitted forecasters (cached per process).

    Raises:
        BadInput: The file is missing or malformed.
    """
    try:
        params = json.loads(Path(path).read_text())
        return {
            family: {stage: family_class(family).from_params(p) for stage, p in stages.items()}
            for family, stages in params.items()
        }
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise BadInput(f"the global models file {path} is unreadable ({exc}): train again") from exc
