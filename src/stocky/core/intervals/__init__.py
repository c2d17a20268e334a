"""Interval methods: how wide a served forecast's interval is, independent of its family.

One module per method (`ewma`, `garch`, `conformal`, `model`), each fitted into JSON
parameters and served from them (`base.IntervalMethod`); `interval_method(name)` looks one
up. ``STOCKY_INTERVAL=auto`` chooses among `AUTO_METHODS` per ticker by the validation
window's interval score (`stocky.core.intervals.auto`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stocky.core.intervals.base import IntervalMethod, normal_quantile, validate_level
from stocky.core.intervals.conformal import CONFORMAL
from stocky.core.intervals.ewma import EWMA
from stocky.core.intervals.garch import GARCH
from stocky.core.intervals.model import MODEL
from stocky.errors import BadInput

__all__ = [
    "AUTO",
    "AUTO_METHODS",
    "INTERVAL_METHODS",
    "INTERVAL_SETTINGS",
    "IntervalMethod",
    "check_interval",
    "interval_method",
    "normal_quantile",
    "validate_interval_setting",
    "validate_level",
]

_METHODS: dict[str, IntervalMethod] = {m.name: m for m in (EWMA, GARCH, CONFORMAL, MODEL)}
#: Every method a spec may record.
INTERVAL_METHODS: tuple[str, ...] = tuple(_METHODS)
#: The methods ``auto`` chooses among (simplest first: it wins ties).
AUTO_METHODS: tuple[str, ...] = ("ewma", "garch", "conformal")
AUTO = "auto"
#: What STOCKY_INTERVAL accepts.
INTERVAL_SETTINGS: tuple[str, ...] = (AUTO, *INTERVAL_METHODS)


def interval_method(name: str) -> IntervalMethod:
    """The method called `name`.

    Raises:
        BadInput: Unknown name.
    """
    try:
        return _METHODS[name]
    except KeyError:
        raise BadInput(
            f"interval method {name!r} is unknown: use one of {', '.join(INTERVAL_METHODS)}"
        ) from None


def validate_interval_setting(value: str) -> str:
    """Return `value` if STOCKY_INTERVAL accepts it ("auto" or a method name).

    Raises:
        BadInput: Anything else.
    """
    if value not in INTERVAL_SETTINGS:
        raise BadInput(
            f"STOCKY_INTERVAL={value!r} is unknown: use one of {', '.join(INTERVAL_SETTINGS)}"
        )
    return value


def check_interval(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validated parameters of method `name` (what a spec stores).

    Raises:
        BadInput: Unknown method or malformed parameters.
    """
    if not isinstance(params, Mapping):
        raise BadInput(f"interval parameters {params!r} are not an object: retrain the model")
    return interval_method(name).check(params)
