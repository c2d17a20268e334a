"""The report's charts for one ticker, by name: what `write` saves and `GET /dashboard` serves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stocky.errors import BadInput
from stocky.report.charts import (
    CHARTS,
    error_distribution_chart,
    forecast_chart,
    rolling_error_chart,
    skill_chart,
)

if TYPE_CHECKING:
    from stocky.report.model import TickerReport

__all__ = ["render_chart"]


def render_chart(report: TickerReport, chart: str) -> bytes:
    """Render one of CHARTS for a ticker's report.

    Args:
        report: One ticker of a built report.
        chart: A key of CHARTS.

    Returns:
        PNG bytes, CHART_WIDTH x CHART_HEIGHT.

    Raises:
        BadInput: Unknown chart name, or the ticker has no labeled predictions yet.
    """
    if chart not in CHARTS:
        raise BadInput(f"chart {chart!r} is unknown: use one of {', '.join(CHARTS)}")
    if not report.has_data:
        raise BadInput(
            f"{report.ticker} has no labeled predictions yet: run `stocky actuals` first"
        )
    s, r, t = report.sessions, report.rolling, report.ticker
    if chart == "forecast":
        return forecast_chart(
            s["target_date"],
            s["actual"],
            s["prediction"],
            s["lower"],
            s["upper"],
            title=f"{t}: forecast vs actual",
        )
    if chart == "rolling":
        return rolling_error_chart(
            r["target_date"],
            r["value"],
            r["naive_value"],
            metric=report.metric,
            window=report.window,
            thresholds=report.thresholds,
            alerts=report.alerts,
            changes=report.changes,
            title=f"{t}: rolling {report.metric} vs threshold",
        )
    if chart == "errors":
        return error_distribution_chart(
            s["actual"], s["prediction"], s["naive"], title=f"{t}: error distribution"
        )
    return skill_chart(
        r["target_date"], r["skill"], window=report.window, title=f"{t}: skill vs naive"
    )
