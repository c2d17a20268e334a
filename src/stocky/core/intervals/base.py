"""The interface every interval method implements, and the checks they share.

An interval method sizes the served interval around a family's mean: it is fitted once
(`fit`: training prices, and for conformal the validation errors with their scales) into a
small JSON dictionary of parameters, and from those parameters alone it gives the half-width
of the next session's interval from the served price window (`half_width`). Serving never
fits: it calls `half_width` with the stored parameters.

Pure: numpy and scipy.special only (``scipy.stats`` takes ~1 s to import on the serving path).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtri

from stocky.errors import BadInput

__all__ = [
    "IntervalMethod",
    "half_width_path_by_window",
    "normal_quantile",
    "param_float",
    "validate_level",
]


def validate_level(level: float) -> float:
    """Return `level` as a float.

    Raises:
        BadInput: Not strictly between 0 and 1.
    """
    if not (isinstance(level, int | float) and 0.0 < float(level) < 1.0):
        raise BadInput(f"level={level!r} is invalid: pass a number between 0 and 1, e.g. 0.95")
    return float(level)


@lru_cache(maxsize=32)
def normal_quantile(level: float) -> float:
    """z such that ``mean ± z σ`` holds `level` of a normal variable (1.96 for 0.95)."""
    return float(ndtri(0.5 + validate_level(level) / 2))


def param_float(
    params: Mapping[str, Any], key: str, method: str, *, low: float = -math.inf, strict: bool
) -> float:
    """``params[key]`` as a finite float above `low` (or at least `low` when not `strict`).

    Raises:
        BadInput: Missing, not a number, not finite, or out of range; naming the fix.
    """
    if key not in params:
        raise BadInput(
            f"{method} interval parameters lack {key!r}: retrain the model to store them"
        )
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{method} interval parameter {key}={value!r} is not a number: retrain")
    out = float(value)
    ok = out > low if strict else out >= low
    if not (math.isfinite(out) and ok):
        bound = f"> {low:g}" if strict else f">= {low:g}"
        raise BadInput(
            f"{method} interval parameter {key}={value!r} is invalid: it must be finite and "
            f"{bound}; retrain the model"
        )
    return out


class IntervalMethod(Protocol):
    """One way to size a forecast interval (registry: `stocky.core.intervals`)."""

    #: The name recorded in a spec's ``interval`` and accepted by STOCKY_INTERVAL.
    name: str

    def fit(
        self,
        prices: ArrayLike,
        *,
        window: int,
        level: float = 0.95,
        errors: ArrayLike | None = None,
        scales: ArrayLike | None = None,
    ) -> dict[str, Any]:
        """JSON parameters fitted on training `prices` (oldest first).

        `window` is the number of prices each served interval sees (STOCKY_MAX_PRICES);
        `errors` and `scales` are one-step forecast errors and the EWMA volatility before each
        (what conformal calibrates on; other methods ignore them).
        """
        ...

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A validated copy of stored parameters (a malformed spec fails on load).

        Raises:
            BadInput: Missing or invalid parameters, naming them.
        """
        ...

    def half_width(
        self, window: NDArray[np.float64], level: float, params: Mapping[str, Any], *,
        model_std: float,
    ) -> float:  # fmt: skip
        """Half-width of the `level` interval of the session after `window` (checked prices).

        `model_std` is the family's own one-step standard deviation (used by "model" only).
        """
        ...

    def half_width_path(
        self, y: NDArray[np.float64], *, start: int, window: int, level: float,
        params: Mapping[str, Any], model_std: NDArray[np.float64],
    ) -> NDArray[np.float64]:  # fmt: skip
        """`half_width` for each position t >= `start` of `y`, from ``y[t - window:t]``."""
        ...


def half_width_path_by_window(
    method: IntervalMethod,
    y: NDArray[np.float64],
    *,
    start: int,
    window: int,
    level: float,
    params: Mapping[str, Any],
    model_std: NDArray[np.float64],
) -> NDArray[np.float64]:
    """`method.half_width` of each served window: position t sees ``y[max(0, t - window):t]``."""
    if window < 2:
        raise BadInput(f"window={window} is too short: pass at least 2 prices")
    if start < 2 or start > y.size:
        raise BadInput(f"start={start} must be between 2 and {y.size}: 2 prices come first")
    out = np.empty(y.size - start, dtype=np.float64)
    for j, t in enumerate(range(start, y.size)):
        out[j] = method.half_width(
            y[max(0, t - window) : t], level, params, model_std=float(model_std[j])
        )
    return out
