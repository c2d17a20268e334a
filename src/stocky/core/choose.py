"""PROVISIONAL: replaced by the honest choice among families (kept only to test the plumbing)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stocky.core.families.base import Forecaster
from stocky.core.families.registry import family_class


@dataclass(frozen=True)
class Choice:
    model_type: str
    forecaster: Forecaster
    reason: str
    table: tuple[Mapping[str, Any], ...] = field(default=())


def choose(
    y: np.ndarray,
    *,
    families: tuple[str, ...],
    validation_size: int,
    train_window: int,
    alpha: float,
    fitted: dict[str, Forecaster],
) -> Choice:
    fit_part = y[:-validation_size]
    if train_window:
        fit_part = fit_part[-train_window:]
    span = y[-(len(fit_part) + validation_size) :]
    best: tuple[float, int, str, Forecaster] | None = None
    naive = family_class("naive")().fit(fit_part)
    nm, _ = naive.one_step_path(span, start=len(fit_part))
    naive_rmse = float(np.sqrt(np.mean((span[len(fit_part) :] - nm) ** 2)))
    for name in families:
        model = fitted.get(name) or family_class(name)().fit(fit_part)
        m, _ = model.one_step_path(span, start=len(fit_part))
        rmse = float(np.sqrt(np.mean((span[len(fit_part) :] - m) ** 2)))
        key = (round(rmse, 9), model.complexity, name, model)
        if best is None or key[:3] < best[:3]:
            best = key
    assert best is not None
    return Choice(
        best[2],
        best[3],
        f"{best[3].label}: validation RMSE {best[0]:.4f} vs naive {naive_rmse:.4f}",
    )
