"""Formatting shared by the alert message builders: numbers, percentages, who is named."""

from __future__ import annotations

import math

from stocky.core.alerts import FLEET
from stocky.core.tickers import normalize_ticker

__all__ = ["num", "pct", "ratio", "skill", "symbol", "who"]


def num(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.4g}"


def pct(value: float | None, *, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or not (math.isfinite(value) and math.isfinite(base)):
        return None
    return value / base if base != 0 else None


def skill(model: float | None, naive: float | None) -> float | None:
    share = ratio(model, naive)
    return None if share is None else 1.0 - share


def who(ticker: str) -> str:
    return "stocky" if ticker == FLEET else ticker


def symbol(ticker: str) -> str:
    return ticker if ticker == FLEET else normalize_ticker(ticker)
