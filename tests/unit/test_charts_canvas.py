"""The forecast chart drawn on a persistent Agg canvas is byte for byte the PNG it was."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from stocky.report import charts


def _old_figure() -> tuple[Any, Any]:
    """The figure as it was made before: no canvas (savefig made a temporary Agg one)."""
    from matplotlib.figure import Figure

    size = (charts.CHART_WIDTH / charts._DPI, charts.CHART_HEIGHT / charts._DPI)
    fig = Figure(figsize=size, dpi=charts._DPI)
    fig.subplots_adjust(**charts._MARGINS)
    ax = fig.add_subplot()
    ax.grid(alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def test_forecast_chart_png_is_unchanged_by_the_agg_canvas(
    sp500_close: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    actual = sp500_close[-252:]
    predicted = sp500_close[-253:-1]
    dates = list(pd.bdate_range("2018-01-02", periods=252))
    args = (dates, actual, predicted, predicted * 0.98, predicted * 1.02)
    new = charts.forecast_chart(*args, title="^GSPC ARIMA(0, 1, 0)")
    monkeypatch.setattr(charts, "_figure", _old_figure)
    old = charts.forecast_chart(*args, title="^GSPC ARIMA(0, 1, 0)")
    assert new[:8] == b"\x89PNG\r\n\x1a\n"
    assert new == old
