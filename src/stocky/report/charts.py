"""The report's PNG charts: matplotlib Agg, fixed pixel size, returned as bytes.

Each chart takes plain arrays, so this module imports nothing else of the report (training
draws its forecast chart from here); `stocky.report.figures` draws them for a TickerReport.

Figures are built with the object API (`matplotlib.figure.Figure`), never pyplot, so no global
figure registry grows in a long-running server; a lock serialises rendering because matplotlib
is not thread-safe and the API renders in a thread pool. Every chart is exactly
CHART_WIDTH x CHART_HEIGHT pixels (no tight bounding box), so pages and tests can rely on it.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from stocky.core.realized import realized
from stocky.errors import BadInput

__all__ = [
    "CHARTS",
    "CHART_HEIGHT",
    "CHART_WIDTH",
    "error_distribution_chart",
    "forecast_chart",
    "rolling_error_chart",
    "skill_chart",
]

CHART_WIDTH = 900
CHART_HEIGHT = 360
_DPI = 100
#: Axes position in figure fractions: room for tick labels, a y label, the date offset text
#: and an x label below; the title above.
_MARGINS = {"left": 0.085, "right": 0.985, "bottom": 0.14, "top": 0.91}

#: Chart name -> caption, in page order.
CHARTS: dict[str, str] = {
    "forecast": "Forecast vs actual close, with the 95% interval",
    "rolling": "Rolling error against the drift threshold (drift alerts and promotions marked)",
    "errors": "Distribution of errors (actual - forecast): model vs naive",
    "skill": "Skill vs the naive random walk over time (1 - RMSE / naive RMSE)",
}

_LOCK = threading.Lock()
_ACTION_STYLE = {"promote": ("tab:green", "-"), "rollback": ("tab:orange", "--")}


def _figure() -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(CHART_WIDTH / _DPI, CHART_HEIGHT / _DPI), dpi=_DPI)
    # An Agg canvas from the start: otherwise savefig makes a temporary one (and throws its
    # renderer away) for every PNG. The same pixels, ~10% less CPU per chart.
    FigureCanvasAgg(fig)
    # Fixed margins, not a layout engine: the size is fixed anyway, and constrained layout
    # drew every figure twice (a third of a ticker's training time went to its PNG).
    fig.subplots_adjust(**_MARGINS)
    ax = fig.add_subplot()
    ax.grid(alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)  # no bbox_inches: the size must stay fixed
    fig.clear()
    return buf.getvalue()


def _dates_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _dates(values: Any) -> np.ndarray:
    return np.asarray(values, dtype="datetime64[D]")


def _message(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.35")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def forecast_chart(
    dates: ArrayLike,
    actual: ArrayLike,
    predicted: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    *,
    title: str,
) -> bytes:
    """Actual closes, one-step forecasts and the 95% band; actuals outside the band marked.

    Args:
        dates: Target sessions.
        actual: Actual closes.
        predicted: Forecasts.
        lower: Lower bounds of the 95% interval.
        upper: Upper bounds of the 95% interval.
        title: Chart title.

    Returns:
        PNG bytes, CHART_WIDTH x CHART_HEIGHT.
    """
    x = _dates(dates)
    a, p = np.asarray(actual, float), np.asarray(predicted, float)
    lo, hi = np.asarray(lower, float), np.asarray(upper, float)
    with _LOCK:
        fig, ax = _figure()
        ax.fill_between(x, lo, hi, color="tab:blue", alpha=0.18, lw=0, label="95% interval")
        marker = "o" if x.size <= 60 else None
        ax.plot(x, a, color="black", lw=1.3, marker=marker, ms=3, label="actual close")
        ax.plot(x, p, color="tab:blue", lw=1.1, marker=marker, ms=3, label="forecast")
        miss = (a < lo) | (a > hi)
        if miss.any():
            ax.scatter(
                x[miss],
                a[miss],
                color="tab:red",
                marker="x",
                s=36,
                zorder=3,
                label=f"outside the band ({int(miss.sum())})",
            )
        ax.set_title(title, loc="left")
        ax.set_ylabel("price")
        ax.legend(loc="best", fontsize="small", frameon=False)
        _dates_axis(ax)
        return _png(fig)


def rolling_error_chart(
    dates: ArrayLike,
    model: ArrayLike,
    naive: ArrayLike,
    *,
    metric: str,
    window: int,
    thresholds: Sequence[tuple[dt.date, float]],
    alerts: Sequence[tuple[dt.date, float]],
    changes: Sequence[tuple[dt.date, str, str]],
    title: str,
) -> bytes:
    """Rolling error of the model and of naive, the threshold, drift alerts and model changes.

    Args:
        dates: Target sessions.
        model: Rolling metric of the model (NaN before the window fills).
        naive: Rolling metric of naive on the same sessions.
        metric: Metric name for the axis label.
        window: Rolling window in sessions, for the legend.
        thresholds: (from session, threshold) steps, oldest first; the last runs to the end.
        alerts: (session, rolling value) of drift checks that raised drift.
        changes: (session, action, label) of promotions and rollbacks.
        title: Chart title.

    Returns:
        PNG bytes, CHART_WIDTH x CHART_HEIGHT.
    """
    x = _dates(dates)
    m, n = np.asarray(model, float), np.asarray(naive, float)
    with _LOCK:
        fig, ax = _figure()
        ax.set_title(title, loc="left")
        ax.set_ylabel(f"rolling {metric}")
        filled = ~np.isnan(m)
        if not filled.any():
            _message(ax, f"the {window}-session window is not full yet ({x.size} labeled)")
        # naive underneath, wide and light: the two lines often nearly coincide
        ax.plot(x, n, color="0.72", lw=3.0, label="naive")
        ax.plot(x, m, color="tab:blue", lw=1.3, label=f"model ({window}-session {metric})")
        if thresholds and x.size:
            steps = sorted(thresholds)
            tx = _dates([s for s, _ in steps] + [max(x.max(), _dates([steps[-1][0]])[0])])
            ty = [v for _, v in steps] + [steps[-1][1]]
            ax.step(tx, ty, where="post", color="tab:red", lw=1.2, label="drift threshold")
        if alerts:
            ax.scatter(
                _dates([d for d, _ in alerts]),
                [v for _, v in alerts],
                marker="v",
                color="tab:red",
                s=60,
                zorder=4,
                label="drift alert",
            )
        for day, action, label in changes:
            color, style = _ACTION_STYLE.get(action, ("0.4", ":"))
            ax.axvline(_dates([day])[0], color=color, ls=style, lw=1.2)
            ax.annotate(
                label,
                (_dates([day])[0], 0.0),  # at the foot: the legend holds the top
                xycoords=("data", "axes fraction"),
                xytext=(3, 4),
                textcoords="offset points",
                color=color,
                fontsize="small",
            )
        if changes:
            ax.plot([], [], color="tab:green", lw=1.2, label="promotion / rollback")
        # from zero, with headroom above the highest line so the legend never covers it
        levels = np.concatenate([m, n, [v for _, v in thresholds], [v for _, v in alerts]])
        if np.isfinite(levels).any():
            ax.set_ylim(0.0, 1.35 * float(np.nanmax(levels)))
        ax.legend(loc="upper left", fontsize="small", frameon=False, ncols=3)
        _dates_axis(ax)
        return _png(fig)


def error_distribution_chart(
    actual: ArrayLike,
    predicted: ArrayLike,
    naive: ArrayLike,
    *,
    title: str,
    bins: int = 30,
) -> bytes:
    """Histograms of model and naive errors on shared bins, with each RMSE in the legend.

    Args:
        actual: Actual closes.
        predicted: Forecasts of the same sessions.
        naive: Naive forecasts (the previous close).
        title: Chart title.
        bins: Number of shared bins.

    Returns:
        PNG bytes, CHART_WIDTH x CHART_HEIGHT.

    Raises:
        BadInput: Nothing to plot, or the lengths differ.
    """
    a = np.asarray(actual, float)
    if a.size == 0:
        raise BadInput("no errors to plot: label predictions first (`stocky actuals`)")
    scores = realized(a, predicted, naive)
    e, ne = a - np.asarray(predicted, float), a - np.asarray(naive, float)
    edges = np.histogram_bin_edges(np.concatenate([e, ne]), bins=bins)
    with _LOCK:
        fig, ax = _figure()
        ax.hist(
            e, bins=edges, color="tab:blue", alpha=0.5, label=f"model (RMSE {_fmt(scores.rmse)})"
        )
        ax.hist(
            ne,
            bins=edges,
            histtype="step",
            color="0.25",
            lw=1.4,
            label=f"naive (RMSE {_fmt(scores.naive_rmse)})",
        )
        ax.axvline(0.0, color="black", lw=0.8)
        ax.set_title(title, loc="left")
        ax.set_xlabel("error (actual - forecast)")
        ax.set_ylabel("sessions")
        ax.legend(loc="upper left", fontsize="small", frameon=False)
        return _png(fig)


def skill_chart(dates: ArrayLike, skill: ArrayLike, *, window: int, title: str) -> bytes:
    """Rolling skill against naive; above zero the model beat the random walk.

    Args:
        dates: Target sessions.
        skill: Rolling ``1 - RMSE / naive RMSE`` (NaN before the window fills).
        window: Rolling window in sessions, for the label.
        title: Chart title.

    Returns:
        PNG bytes, CHART_WIDTH x CHART_HEIGHT.
    """
    x = _dates(dates)
    s = np.asarray(skill, float) * 100.0
    with _LOCK:
        fig, ax = _figure()
        ax.set_title(title, loc="left")
        ax.set_ylabel("skill vs naive (%)")
        if np.isnan(s).all():
            _message(ax, f"the {window}-session window is not full yet ({x.size} labeled)")
        ax.axhline(0.0, color="black", lw=0.8)
        ax.plot(x, s, color="tab:purple", lw=1.3, label=f"{window}-session skill")
        ok = ~np.isnan(s)
        ax.fill_between(
            x,
            s,
            0.0,
            where=ok & (s >= 0),
            color="tab:green",
            alpha=0.25,
            lw=0,
            interpolate=True,
            label="beats naive",
        )
        ax.fill_between(
            x,
            s,
            0.0,
            where=ok & (s < 0),
            color="tab:red",
            alpha=0.25,
            lw=0,
            interpolate=True,
            label="worse than naive",
        )
        ax.legend(loc="upper left", fontsize="small", frameon=False, ncols=3)
        _dates_axis(ax)
        return _png(fig)
