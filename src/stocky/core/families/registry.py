"""Families looked up by ``model_type``: the built-ins, then plug-ins from entry points.

A plug-in is any installed distribution with an entry point in group ``stocky.families`` whose
name is the ``model_type`` and whose object is a class implementing
`stocky.core.families.base.Forecaster`. Built-in modules are imported on first use, so a server
that loads only ARIMA and naive models never imports the others (or their fitting libraries).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from typing import Any

from stocky.core.families.base import FamilyInfo, Forecaster
from stocky.errors import BadInput

__all__ = [
    "BUILTIN_FAMILIES",
    "DEFAULT_FAMILIES",
    "ENTRY_POINT_GROUP",
    "LEGACY_MODEL_TYPE",
    "family_class",
    "family_infos",
    "forecaster_from_params",
    "parse_families",
]

ENTRY_POINT_GROUP = "stocky.families"

#: model_type -> "module:Class", imported on first use.
BUILTIN_FAMILIES: dict[str, str] = {
    "naive": "stocky.core.families.naive:Naive",
    "drift": "stocky.core.families.drift:Drift",
    "arima": "stocky.core.families.arima:Arima",
    "ets": "stocky.core.families.ets:Ets",
    "theta": "stocky.core.families.theta:Theta",
    "lightgbm": "stocky.core.families.lightgbm:LightGBM",
}

#: The family of every spec, prediction row and registered version written before families
#: existed: readers take a missing `model_type` as this.
LEGACY_MODEL_TYPE = "arima"

#: What `STOCKY_FAMILIES` defaults to: every built-in.
DEFAULT_FAMILIES: tuple[str, ...] = tuple(BUILTIN_FAMILIES)


def _load(target: str) -> type[Forecaster]:
    module, _, name = target.partition(":")
    cls: type[Forecaster] = getattr(importlib.import_module(module), name)
    return cls


@cache
def _plugins() -> dict[str, tuple[str, Any]]:
    """Entry points of group ``stocky.families``: model_type -> (distribution, entry point)."""
    from importlib.metadata import entry_points

    found: dict[str, tuple[str, Any]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "unknown"
        found[ep.name] = (dist, ep)
    return found


def _known() -> list[str]:
    return sorted(set(BUILTIN_FAMILIES) | set(_plugins()))


@cache
def family_class(model_type: str) -> type[Forecaster]:
    """The class of family `model_type` (built-in first, then plug-ins).

    Raises:
        BadInput: No such family is installed, naming the known ones.
    """
    if model_type in BUILTIN_FAMILIES:
        return _load(BUILTIN_FAMILIES[model_type])
    plugin = _plugins().get(model_type)
    if plugin is None:
        raise BadInput(
            f"model family {model_type!r} is unknown: use one of {', '.join(_known())} "
            f"(or install a plug-in with an entry point in group {ENTRY_POINT_GROUP!r})"
        )
    cls: type[Forecaster] = plugin[1].load()
    if getattr(cls, "model_type", None) != model_type:
        raise BadInput(
            f"plug-in family {model_type!r} from {plugin[0]} declares model_type "
            f"{getattr(cls, 'model_type', None)!r}: the entry point name and the class's "
            "model_type must agree"
        )
    return cls


def forecaster_from_params(model_type: str, params: Mapping[str, Any]) -> Forecaster:
    """A fitted forecaster of family `model_type` from its stored parameters.

    Raises:
        BadInput: Unknown family or malformed parameters.
    """
    return family_class(model_type).from_params(params)


def family_infos() -> list[FamilyInfo]:
    """Every installed family: built-ins first, then plug-ins by name."""
    infos = []
    for name in BUILTIN_FAMILIES:
        cls = family_class(name)
        infos.append(
            FamilyInfo(name, cls.description, "built-in", bool(getattr(cls, "is_global", False)))
        )
    for name, (dist, _ep) in sorted(_plugins().items()):
        if name in BUILTIN_FAMILIES:
            continue
        cls = family_class(name)
        infos.append(
            FamilyInfo(name, cls.description, dist, bool(getattr(cls, "is_global", False)))
        )
    return infos


def parse_families(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Parse a comma list of families ("naive,arima,ets"), checking each is installed.

    "naive" is always included (it is the fallback every choice is measured against).

    Raises:
        BadInput: An empty list or an unknown family, naming the known ones.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [s.strip().lower() for s in items if s.strip()]
    if not names:
        raise BadInput(
            f"the family list is empty: name at least one of {', '.join(_known())}, e.g. naive,arima"
        )
    for name in names:
        if name not in BUILTIN_FAMILIES and name not in _plugins():
            family_class(name)  # raises, naming the known families
    ordered = ["naive", *[n for n in dict.fromkeys(names) if n != "naive"]]
    return tuple(ordered)
