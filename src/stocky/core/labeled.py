"""Labeled forecasts as arrays, and the building blocks of the drift detectors.

`labeled_arrays` checks the five arrays once; `Alarms` is what every detector returns;
`standardized_errors` divides errors by the interval's sigma; `cusum` is the one-sided CUSUM;
the rolling helpers never return NaN (before a window fills they use the sessions seen).

Pure: numpy and scipy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from stocky.core.checks import validate_array, validate_interval, validate_positive
from stocky.errors import BadInput

__all__ = [
    "Alarms",
    "BoolArray",
    "FloatArray",
    "Labeled",
    "cusum",
    "labeled_arrays",
    "rolling_mean",
    "rolling_sum",
    "streak",
    "validate_window",
    "standardized_errors",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Alarms:
    """One detector's verdict per session.

    Attributes:
        name: The detector.
        statistic: Its statistic at every session (finite).
        flags: True where the detector is in alarm.
        threshold: The level the statistic is compared with.
    """

    name: str
    statistic: FloatArray
    flags: BoolArray
    threshold: float

    @property
    def onsets(self) -> NDArray[np.intp]:
        """Sessions where an alarm starts (a flag that was off the session before)."""
        rising = self.flags & ~np.concatenate(([False], self.flags[:-1]))
        return np.flatnonzero(rising)

    @property
    def active(self) -> bool:
        """Whether the latest session is in alarm."""
        return bool(self.flags.size and self.flags[-1])


@dataclass(frozen=True, eq=False)
class Labeled:
    """Validated labeled arrays, equal length, session order."""

    actual: FloatArray
    prediction: FloatArray
    naive: FloatArray
    lower: FloatArray
    upper: FloatArray

    def __len__(self) -> int:
        return int(self.actual.size)


def labeled_arrays(
    actual: ArrayLike,
    prediction: ArrayLike,
    naive: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
) -> Labeled:
    """Check the five labeled arrays once: 1-D, finite, equal length, closes > 0, lower <= upper.

    Empty arrays are allowed (no labeled session yet): every detector then returns no flags.

    Raises:
        BadInput: Naming the first bad array and index, and the fix.
    """
    names = ("actual", "prediction", "naive", "lower", "upper")
    raw = [np.asarray(a, dtype=np.float64) for a in (actual, prediction, naive, lower, upper)]
    if all(a.ndim == 1 and a.size == 0 for a in raw):
        return Labeled(*raw)
    arrays = [validate_array(a, name) for a, name in zip(raw, names, strict=True)]
    sizes = {name: a.size for a, name in zip(arrays, names, strict=True)}
    if len(set(sizes.values())) > 1:
        raise BadInput(f"labeled arrays differ in length {sizes}: pass one value per session each")
    for a, name in ((arrays[0], "actual"), (arrays[2], "naive")):
        bad = np.flatnonzero(a <= 0)
        if bad.size:
            raise BadInput(f"{name}[{int(bad[0])}] is {a[bad[0]]}: send closes > 0")
    validate_interval(arrays[3], arrays[4])
    return Labeled(*arrays)


def validate_window(window: int, name: str = "window") -> int:
    """A whole number of sessions >= 1, or BadInput naming `name`."""
    if int(window) != window or window < 1:
        raise BadInput(f"{name}={window!r}: pass a whole number of sessions >= 1, e.g. 20")
    return int(window)


def rolling_mean(x: FloatArray, window: int) -> FloatArray:
    """Mean of the last `window` values (of all values so far before the window fills)."""
    c = np.concatenate(([0.0], np.cumsum(x)))
    idx = np.arange(1, x.size + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def rolling_sum(x: FloatArray, window: int) -> FloatArray:
    c = np.concatenate(([0.0], np.cumsum(x)))
    idx = np.arange(1, x.size + 1)
    return c[idx] - c[np.maximum(idx - window, 0)]


def streak(breach: BoolArray) -> NDArray[np.int64]:
    """Length of the run of True values ending at each position."""
    pos = np.arange(breach.size, dtype=np.int64)
    last_off = np.maximum.accumulate(np.where(breach, -1, pos))
    return pos - last_off


def standardized_errors(
    lab: Labeled, *, level: float = 0.95, clip: float = 3.0
) -> tuple[FloatArray, FloatArray]:
    """Model and naive errors over the interval's sigma, ``(upper - lower) / (2 z(level))``.

    Clipped to ``±clip`` so that one crash day moves a statistic by a bounded step. A session
    with a zero-width interval gets 0 when its error is 0 and ``±clip`` otherwise.

    Returns:
        (model z, naive z).
    """
    if not 0.0 < level < 1.0:
        raise BadInput(f"level={level!r}: pass the interval's level between 0 and 1, e.g. 0.95")
    clip = validate_positive(clip, "clip")
    sigma = (lab.upper - lab.lower) / (2.0 * float(norm.ppf(0.5 + level / 2)))
    out = []
    for err in (lab.actual - lab.prediction, lab.actual - lab.naive):
        safe = np.where(sigma > 0, sigma, 1.0)
        z = np.where(sigma > 0, err / safe, np.sign(err) * clip)
        out.append(np.clip(z, -clip, clip))
    return out[0], out[1]


def cusum(x: FloatArray, *, k: float, h: float) -> tuple[FloatArray, BoolArray]:
    """One-sided CUSUM ``S_t = max(0, S_{t-1} + x_t - k)`` and its flags ``S_t > h``.

    Computed in closed form, ``S_t = C_t - min(0, min_{s<=t} C_s)`` with C the cumulative sum
    of ``x - k``. It is not reset after an alarm: it stays in alarm while the shift lasts and
    falls back at a rate of about ``k`` per session once it ends.
    """
    if not np.isfinite(k) or not h > 0:
        raise BadInput(f"cusum k={k!r}, h={h!r}: pass a finite allowance k and a threshold h > 0")
    c = np.cumsum(x - k)
    s = c - np.minimum(np.minimum.accumulate(c), 0.0)
    return s, s > h
