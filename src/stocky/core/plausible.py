"""The one rule for a plausible daily price series, shared by every source, the store and training.

A price is plausible when it is finite and `PRICE_FLOOR <= price <= PRICE_CEILING`, and a close
is plausible when it is within `MAX_DAILY_RATIO` of the close before it (no more than x50 or
/50 in one session). Real instruments stay far inside these bounds once splits are adjusted
for (the largest US share price, Berkshire Hathaway A, is below 1e6; the worst one-day crash
of a large stock is about -90%), while a mistyped or corrupt value (`1e300`, a price in cents
next to one in dollars, a missing decimal point) lands outside them. Rejecting it at the
boundary keeps it out of the store, where it would otherwise poison every fit.

Pure: numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MAX_DAILY_RATIO",
    "PRICE_CEILING",
    "PRICE_FLOOR",
    "Implausible",
    "first_implausible",
]

PRICE_FLOOR = 1e-6
PRICE_CEILING = 1e9
MAX_DAILY_RATIO = 50.0


@dataclass(frozen=True)
class Implausible:
    """The first implausible value of a series.

    Attributes:
        index: 0-based position of the value.
        value: The value itself.
        reason: Why it is refused, in words ("is not finite", "jumps x2000 from 100 ...").
    """

    index: int
    value: float
    reason: str


def first_implausible(values: np.ndarray, *, check_jumps: bool = True) -> Implausible | None:
    """Find the first value that breaks the plausibility rule (see the module docstring).

    Args:
        values: Prices in date order (float64).
        check_jumps: Also check the ratio of each value to the one before it (closes).

    Returns:
        The first offending value, or None when the series is plausible.
    """
    x = np.asarray(values, dtype="float64")
    finite = np.isfinite(x)
    out_of_range = ~finite | (x < PRICE_FLOOR) | (x > PRICE_CEILING)
    first_bad = int(np.flatnonzero(out_of_range)[0]) if out_of_range.any() else len(x)
    first_jump = len(x)
    if check_jumps and len(x) > 1:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = x[1:] / x[:-1]
        jump = (ratio > MAX_DAILY_RATIO) | (ratio < 1.0 / MAX_DAILY_RATIO)
        jump &= finite[1:] & finite[:-1]
        if jump.any():
            first_jump = int(np.flatnonzero(jump)[0]) + 1
    if first_bad == len(x) and first_jump == len(x):
        return None
    if first_bad <= first_jump:
        value = float(x[first_bad])
        if not np.isfinite(value):
            reason = "is not a finite number"
        elif value <= 0:
            reason = "is not > 0"
        elif value < PRICE_FLOOR:
            reason = f"is below the plausible floor {PRICE_FLOOR:g}"
        else:
            reason = f"is above the plausible ceiling {PRICE_CEILING:g}"
        return Implausible(first_bad, value, reason)
    value, before = float(x[first_jump]), float(x[first_jump - 1])
    factor = value / before
    shown = f"x{factor:.4g}" if factor > 1 else f"/{1 / factor:.4g}"
    limit = f"{MAX_DAILY_RATIO:g}"
    reason = (
        f"jumps {shown} from {before!r} the session before (more than x{limit} or /{limit} "
        "in one session)"
    )
    return Implausible(first_jump, value, reason)
