"""Model families behind one interface (`base.Forecaster`), looked up by ``model_type``."""

from stocky.core.families.base import FamilyInfo, Forecast, Forecaster, GlobalForecaster
from stocky.core.families.registry import (
    DEFAULT_FAMILIES,
    family_class,
    family_infos,
    forecaster_from_params,
    parse_families,
)

__all__ = [
    "DEFAULT_FAMILIES",
    "FamilyInfo",
    "Forecast",
    "Forecaster",
    "GlobalForecaster",
    "family_class",
    "family_infos",
    "forecaster_from_params",
    "parse_families",
]
