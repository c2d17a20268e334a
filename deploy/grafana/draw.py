"""Draw evaluated panels with matplotlib in the board's own grid (an approximation of Grafana).

Stat panels show the last non-null value of their first series on the threshold colour, time
series panels draw lines with the query's legend, table panels merge instant queries by ticker.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
from promboard import Panel, Series  # noqa: E402

__all__ = ["draw_board"]

BG, PANEL, TEXT, DIM, GRID = "#111217", "#181b1f", "#d8d9e0", "#8e8e9a", "#2c3035"
COLOURS = {"green": "#37872d", "red": "#c4162a", "orange": "#fa6400", "yellow": "#e0b400"}
# Grafana's classic palette: 16 distinct colours before one repeats
LINES = [
    "#7eb26d",
    "#eab839",
    "#6ed0e0",
    "#ef843c",
    "#e24d42",
    "#1f78c1",
    "#ba43a6",
    "#705da0",
    "#508642",
    "#cca300",
    "#447ebc",
    "#c15c17",
    "#f9934e",
    "#0a8ed1",
    "#d683ce",
    "#b7dbab",
]
UNIT_W, UNIT_H = 0.78, 0.34  # inches per grid column and per grid row
HEADER = 1.0  # inches above the grid for the picture's title


def _fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "NaN"
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "s":
        for size, name in ((86400, "day"), (3600, "hour"), (60, "min")):
            if abs(value) >= size:
                return f"{value / size:.3g} {name}"
        return f"{value:.3g} s" if abs(value) >= 1 else f"{value * 1000:.0f} ms"
    if unit == "h":
        return f"{value:.3g} h"
    if unit == "reqps":
        return f"{value:.3g} req/s"
    return f"{value:.3g}"


def _colour(value: float, panel: Panel) -> str:
    colour = panel.thresholds[0][1]
    for start, name in panel.thresholds:
        if value >= start:
            colour = name
    return COLOURS.get(colour, colour)


def _frame(fig: Figure, panel: Panel, top: float) -> tuple[float, float, float, float]:
    """Draw the panel's box and title; return the inner area in figure fractions."""
    x, y, w, h = panel.grid
    fw, fh = fig.get_size_inches()
    left, width = x * UNIT_W / fw, w * UNIT_W / fw
    height = h * UNIT_H / fh
    bottom = top - (y + h) * UNIT_H / fh
    pad_x, pad_y = 0.05 / fw, 0.05 / fh
    if panel.type == "row":
        fig.text(
            left + pad_x,
            bottom + height / 2,
            panel.title,
            color=TEXT,
            fontsize=13,
            fontweight="bold",
            va="center",
        )
        return left, bottom, width, height
    box = FancyBboxPatch(
        (left + pad_x, bottom + pad_y),
        width - 2 * pad_x,
        height - 2 * pad_y,
        boxstyle="round,pad=0,rounding_size=0.002",
        transform=fig.transFigure,
        facecolor=PANEL,
        edgecolor=GRID,
        linewidth=0.8,
        zorder=-2,
    )
    fig.patches.append(box)
    title_h = 0.32 / fh
    fig.text(
        left + 3 * pad_x,
        bottom + height - title_h / 2 - pad_y,
        panel.title,
        color=TEXT,
        fontsize=10.5,
        fontweight="bold",
        va="center",
    )
    return left + pad_x, bottom + pad_y, width - 2 * pad_x, height - 2 * pad_y - title_h


def _no_data(fig: Figure, area: tuple[float, float, float, float]) -> None:
    left, bottom, width, height = area
    fig.text(
        left + width / 2,
        bottom + height / 2,
        "No data",
        color=DIM,
        fontsize=12,
        ha="center",
        va="center",
    )


def _stat(fig: Figure, panel: Panel, series: list[list[Series]], area: tuple) -> None:
    values = [v for s in series[0][:1] for v in s.values if not math.isnan(v)] if series else []
    if not values:
        _no_data(fig, area)
        return
    value = values[-1]
    left, bottom, width, height = area
    fig.patches.append(
        FancyBboxPatch(
            (left, bottom),
            width,
            height + 0.32 / fig.get_size_inches()[1],
            boxstyle="square,pad=0",
            transform=fig.transFigure,
            facecolor=_colour(value, panel),
            alpha=0.85,
            zorder=-1,
        )
    )
    fig.text(
        left + width / 2,
        bottom + height / 2,
        f"{value:g}",
        color="white",
        fontsize=34,
        fontweight="bold",
        ha="center",
        va="center",
    )


def _timeseries(fig: Figure, panel: Panel, series: list[list[Series]], area: tuple) -> None:
    lines = [s for q in series for s in sorted(q, key=lambda s: s.legend) if s.values]
    if not lines:
        _no_data(fig, area)
        return
    left, bottom, width, height = area
    fw, fh = fig.get_size_inches()
    legend_rows = math.ceil(len(lines) / max(1, int(width * fw / 1.9)))
    legend_h = (0.2 * legend_rows + 0.1) / fh
    ax: Axes = fig.add_axes(
        (
            left + 0.75 / fw,
            bottom + legend_h + 0.3 / fh,
            width - 0.9 / fw,
            height - legend_h - 0.38 / fh,
        )
    )
    ax.set_facecolor(PANEL)
    for i, s in enumerate(lines):
        times = (np.asarray(s.times) * 1000).astype("datetime64[ms]")  # UTC
        ax.plot(times, s.values, color=LINES[i % len(LINES)], linewidth=1.6, label=s.legend)
    ax.grid(color=GRID, linewidth=0.6)
    ax.tick_params(colors=DIM, labelsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=dt.UTC))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=5))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _fmt(v, panel.unit)))
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(left + 0.1 / fw, bottom + 0.04 / fh),
        bbox_transform=fig.transFigure,
        ncol=max(1, int(width * fw / 1.9)),
        frameon=False,
        fontsize=8,
        labelcolor=TEXT,
        handlelength=1.2,
        columnspacing=1.0,
        borderaxespad=0,
    )


def _table(fig: Figure, panel: Panel, series: list[list[Series]], area: tuple) -> None:
    columns = [q.legend or q.ref for q in panel.queries]
    rows: dict[str, list[str]] = {}
    for k, per_query in enumerate(series):
        for s in per_query:
            key = s.labels.get("ticker", s.legend)
            rows.setdefault(key, [""] * len(columns))[k] = f"{s.values[-1]:.4g}" if s.values else ""
    if not rows:
        _no_data(fig, area)
        return
    left, bottom, width, height = area
    ax = fig.add_axes((left, bottom, width, height))
    ax.axis("off")
    cells = [[ticker, *values] for ticker, values in sorted(rows.items())]
    table = ax.table(
        cellText=cells,
        colLabels=["ticker", *columns],
        loc="upper center",
        cellLoc="left",
        colLoc="left",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(9.5)
    row_h = min(0.9 / (len(cells) + 1), 0.14)
    for (r, _), cell in table.get_celld().items():
        cell.set_height(row_h)
        cell.set_edgecolor(GRID)
        cell.set_facecolor("#22252b" if r == 0 else PANEL)
        cell.get_text().set_color(TEXT if r else "#6e9fff")


def draw_board(
    panels: list[Panel],
    results: dict[int, list[list[Series]]],
    *,
    title: str,
    subtitle: str,
    out: Path,
) -> None:
    """Draw every panel where its gridPos puts it and save a PNG to `out`."""
    rows = max(p.grid[1] + p.grid[3] for p in panels)
    fig = plt.figure(figsize=(24 * UNIT_W, rows * UNIT_H + HEADER), facecolor=BG)
    fh = fig.get_size_inches()[1]
    fig.text(0.006, 1 - 0.35 / fh, title, color=TEXT, fontsize=12.5, fontweight="bold", va="center")
    fig.text(0.006, 1 - 0.72 / fh, subtitle, color=DIM, fontsize=10, va="center")
    top = 1 - HEADER / fh
    for panel in panels:
        area = _frame(fig, panel, top)
        data = results.get(panel.id, [])
        if panel.type == "stat":
            _stat(fig, panel, data, area)
        elif panel.type == "timeseries":
            _timeseries(fig, panel, data, area)
        elif panel.type == "table":
            _table(fig, panel, data, area)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90, facecolor=BG)
    plt.close(fig)
