"""Input checks shared by the accuracy metrics: 1-D finite float arrays, pairs, intervals.

Each raises `stocky.errors.BadInput` naming the argument, the first bad index and the fix.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.errors import BadInput

__all__ = [
    "FloatArray",
    "validate_array",
    "validate_interval",
    "validate_nonzero",
    "validate_pair",
    "validate_positive",
]

FloatArray = NDArray[np.float64]


def validate_array(values: ArrayLike, name: str) -> FloatArray:
    """Convert to a non-empty, finite, 1-D float array or raise BadInput naming `name`."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{name} is not numeric ({exc}): pass a 1-D sequence of numbers") from exc
    if array.ndim != 1:
        raise BadInput(f"{name} has shape {array.shape}: pass a 1-D sequence of numbers")
    if array.size == 0:
        raise BadInput(f"{name} is empty: pass at least one value")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        first = int(bad[0])
        raise BadInput(
            f"{name}[{first}] is {array[first]} ({bad.size} non-finite value(s)): "
            "pass finite numbers only"
        )
    return array


def validate_pair(
    first: ArrayLike, second: ArrayLike, first_name: str, second_name: str
) -> tuple[FloatArray, FloatArray]:
    """Validate two arrays and check they have the same length."""
    a = validate_array(first, first_name)
    b = validate_array(second, second_name)
    if a.size != b.size:
        raise BadInput(
            f"{first_name} and {second_name} differ in length ({a.size} vs {b.size}): "
            "pass arrays of equal length"
        )
    return a, b


def validate_nonzero(actual: FloatArray, name: str) -> None:
    """MAPE divides by the actuals, so none of them may be zero."""
    zeros = np.flatnonzero(actual == 0.0)
    if zeros.size:
        raise BadInput(
            f"{name}[{int(zeros[0])}] is 0 ({zeros.size} zero(s)), so MAPE is undefined: "
            "use mae/rmse/mase for series that can be zero"
        )


def validate_positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """A finite scalar > 0 (or >= 0 with `allow_zero`)."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{name}={value!r} is not a number: pass a finite number") from exc
    too_small = number < 0.0 if allow_zero else number <= 0.0
    if not math.isfinite(number) or too_small:
        bound = ">= 0" if allow_zero else "> 0"
        raise BadInput(f"{name}={value!r} is invalid: pass a finite number {bound}")
    return number


def validate_interval(lower: FloatArray, upper: FloatArray) -> None:
    """Each lower bound must not exceed its upper bound."""
    crossed = np.flatnonzero(lower > upper)
    if crossed.size:
        i = int(crossed[0])
        raise BadInput(
            f"lower[{i}]={lower[i]} exceeds upper[{i}]={upper[i]} "
            f"({crossed.size} crossed interval(s)): pass lower <= upper"
        )
