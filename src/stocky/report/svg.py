"""Inline SVG charts for the study's drill-down pages: text, drawn in Python, no script.

A study can hold thousands of cells, each with a page: PNGs from matplotlib (`report.charts`,
~0.1 s each) would cost more than the replay, so these pages draw the same charts, in the same
colours, as SVG markup (a few ms). Each series is one `<path>` whose `data-series` names it and
whose `data-points` counts the points drawn; every text from data is escaped, and every
coordinate is finite (non-finite values are gaps).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup, escape
from numpy.typing import ArrayLike

__all__ = ["Event", "forecast_svg", "skill_svg", "timeline_svg"]

WIDTH = 900
HEIGHT = 320
#: One left margin for every chart (room for the timeline's lane names): dates line up.
_LEFT, _RIGHT, _TOP, _BOTTOM = 120, 16, 30, 34
#: matplotlib's tab10, as `report.charts` draws.
BLUE, GREEN, ORANGE, RED, PURPLE, GREY = (
    "#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#7f7f7f",
)  # fmt: skip
_KIND_COLOURS = {"promote": GREEN, "reject": GREY, "rollback": ORANGE, "drift": RED}


@dataclass(frozen=True)
class Event:
    """One mark: its lane (the row it sits on), kind (promote, reject, rollback, drift or
    alert: its colour), session, short label and hover text."""

    lane: str
    kind: str
    session: dt.date
    label: str
    detail: str


@dataclass(frozen=True)
class _Axes:
    x0: float
    x1: float
    y0: float
    y1: float
    height: int = HEIGHT

    def px(self, day: float) -> float:
        span = self.x1 - self.x0 or 1.0
        return _LEFT + (day - self.x0) / span * (WIDTH - _LEFT - _RIGHT)

    def py(self, value: float) -> float:
        span = self.y1 - self.y0 or 1.0
        return self.height - _BOTTOM - (value - self.y0) / span * (self.height - _TOP - _BOTTOM)


def _days(dates: ArrayLike) -> np.ndarray:
    return np.asarray(dates, dtype="datetime64[D]").astype("int64").astype(float)


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if m * step >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _date_ticks(x0: float, x1: float) -> list[tuple[float, str]]:
    start = dt.date(1970, 1, 1) + dt.timedelta(days=int(x0))
    end = dt.date(1970, 1, 1) + dt.timedelta(days=int(x1))
    months = (end.year - start.year) * 12 + end.month - start.month
    every = next((m for m in (1, 2, 3, 6, 12, 24, 60) if months / m <= 9), 120)
    ticks = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        index = year * 12 + month - 1
        if index % every == 0:
            day = dt.date(year, month, 1)
            if start <= day <= end:
                text = str(year) if every >= 12 or month == 1 else day.strftime("%b %Y")
                ticks.append((float((day - dt.date(1970, 1, 1)).days), text))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ticks


def _frame(
    ax: _Axes, *, title: str, ylabel: str, yfmt: str, message: str = "", yticks: bool = True
) -> list[str]:
    out = [
        f'<text x="{_LEFT}" y="18" class="title">{escape(title)}</text>',
        f'<text x="14" y="{(ax.height - _BOTTOM + _TOP) / 2:.0f}" class="axis" '
        f'transform="rotate(-90 14 {(ax.height - _BOTTOM + _TOP) / 2:.0f})" '
        f'text-anchor="middle">{escape(ylabel)}</text>',
    ]
    for tick in _nice_ticks(ax.y0, ax.y1) if yticks else []:
        y = ax.py(tick)
        out.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        out.append(
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
            f"{escape(format(tick, yfmt))}</text>"
        )
    for day, text in _date_ticks(ax.x0, ax.x1):
        x = ax.px(day)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{ax.height - _BOTTOM}" class="grid"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{ax.height - _BOTTOM + 16}" class="axis" '
            f'text-anchor="middle">{escape(text)}</text>'
        )
    if message:
        out.append(
            f'<text x="{WIDTH / 2:.0f}" y="{ax.height / 2:.0f}" class="axis" '
            f'text-anchor="middle">{escape(message)}</text>'
        )
    return out


def _path(ax: _Axes, xs: np.ndarray, ys: np.ndarray) -> tuple[str, int]:
    """An SVG path through the finite points, a gap at each non-finite one; (d, points)."""
    parts, drawn, pen_down = [], 0, False
    for x, y in zip(xs, ys, strict=True):
        if not math.isfinite(y):
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{ax.px(x):.1f},{ax.py(y):.1f}")
        pen_down, drawn = True, drawn + 1
    return "".join(parts), drawn


def _series(
    ax: _Axes, name: str, xs: np.ndarray, ys: np.ndarray, colour: str, width: float, clip: str = ""
) -> str:
    d, n = _path(ax, xs, ys)
    clipped = f' clip-path="url(#{clip})"' if clip else ""
    return (
        f'<path data-series="{name}" data-points="{n}" d="{d}" fill="none" '
        f'stroke="{colour}" stroke-width="{width}"{clipped}/>'
    )


def _clip(ax: _Axes, name: str) -> str:
    """A clip path of the plot area: values beyond the axis range are cut, not drawn outside."""
    return (
        f'<clipPath id="{name}"><rect x="{_LEFT}" y="{_TOP}" width="{WIDTH - _LEFT - _RIGHT}" '
        f'height="{ax.height - _TOP - _BOTTOM}"/></clipPath>'
    )


def _legend(items: Sequence[tuple[str, str]]) -> list[str]:
    out, x = [], WIDTH - _RIGHT
    for text, colour in reversed(items):
        x -= 7 * len(text) + 28
        out.append(f'<rect x="{x}" y="8" width="14" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 18}" y="17" class="axis">{escape(text)}</text>')
    return out


def _svg(
    body: Sequence[str], *, label: str, chart: str, height: int = HEIGHT, width: int = WIDTH
) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}" '
        f'data-chart="{chart}" class="chart">'
    )
    # the body is built above from escaped text and formatted numbers only
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704


def _span(*arrays: np.ndarray) -> tuple[float, float]:
    values = np.concatenate([a[np.isfinite(a)] for a in arrays]) if arrays else np.array([])
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 1.0
    return lo - pad, hi + pad


def _x_span(days: np.ndarray, events: Sequence[Event] = ()) -> tuple[float, float]:
    extra = [float((e.session - dt.date(1970, 1, 1)).days) for e in events]
    values = [*days.tolist(), *extra]
    if not values:
        return 0.0, 1.0
    lo, hi = min(values), max(values)
    return (lo, hi) if hi > lo else (lo - 1, hi + 1)


def forecast_svg(
    dates: ArrayLike,
    actual: ArrayLike,
    predicted: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    *,
    changes: Sequence[Event] = (),
    title: str,
) -> Markup:
    """Actual closes, one-step forecasts and their band; misses and model changes marked.

    Args:
        dates: Target sessions.
        actual: Actual closes.
        predicted: Forecasts.
        lower: Lower bounds of the prediction interval.
        upper: Upper bounds.
        changes: Promotions and rollbacks, drawn as vertical lines.
        title: Chart title.

    Returns:
        The SVG markup.
    """
    x = _days(dates)
    a, p, lo, hi = (np.asarray(v, float) for v in (actual, predicted, lower, upper))
    ax = _Axes(*_x_span(x, changes), *_span(a, p, lo, hi))
    out = _frame(ax, title=title, ylabel="price", yfmt=",.4g",
                 message="" if x.size else "no labeled forecasts")  # fmt: skip
    band = np.isfinite(lo) & np.isfinite(hi)
    if band.any():
        top = [f"{ax.px(d):.1f},{ax.py(v):.1f}" for d, v in zip(x[band], hi[band], strict=True)]
        foot = [f"{ax.px(d):.1f},{ax.py(v):.1f}" for d, v in zip(x[band], lo[band], strict=True)]
        out.append(
            f'<path data-series="band" data-points="{int(band.sum())}" '
            f'd="M{"L".join(top + foot[::-1])}Z" fill="{BLUE}" fill-opacity="0.18" stroke="none"/>'
        )
    for change in changes:
        xx = ax.px((change.session - dt.date(1970, 1, 1)).days)
        colour = _KIND_COLOURS.get(change.kind, GREY)
        dash = ' stroke-dasharray="5 3"' if change.kind == "rollback" else ""
        out.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{_TOP}" y2="{HEIGHT - _BOTTOM}" '
            f'stroke="{colour}" stroke-width="1.2"{dash}><title>{escape(change.detail)}</title></line>'
        )
    out.append(_series(ax, "actual", x, a, "#000", 1.3))
    out.append(_series(ax, "forecast", x, p, BLUE, 1.1))
    miss = band & np.isfinite(a) & ((a < lo) | (a > hi))
    if miss.any():
        marks = "".join(
            f"M{ax.px(d) - 3:.1f},{ax.py(v) - 3:.1f}l6,6m0,-6l-6,6"
            for d, v in zip(x[miss], a[miss], strict=True)
        )
        out.append(
            f'<path data-series="outside" data-points="{int(miss.sum())}" d="{marks}" '
            f'stroke="{RED}" stroke-width="1.5" fill="none"/>'
        )
    legend = [("actual", "#000"), ("forecast", BLUE), ("band", "#c5dcee")]
    if miss.any():
        legend.append((f"outside the band ({int(miss.sum())})", RED))
    out += _legend(legend)
    return _svg(out, label=title, chart="forecast")


def skill_svg(
    dates: ArrayLike, rolling: ArrayLike, cumulative: ArrayLike, *, window: int, title: str
) -> Markup:
    """Rolling and cumulative skill against naive, in percent; above zero beats naive.

    Args:
        dates: Target sessions.
        rolling: Skill over the last `window` rows (NaN before the window fills).
        cumulative: Skill of every row so far.
        window: The rolling window, for the legend.
        title: Chart title.

    Returns:
        The SVG markup.
    """
    x = _days(dates)
    r = np.asarray(rolling, float) * 100.0
    c = np.asarray(cumulative, float) * 100.0
    # the axis fits the rolling curve and the cumulative one once `window` rows are in: its
    # first few rows swing wildly (one row's skill) and would flatten everything else
    lo, hi = _span(r, c[window - 1 :] if c.size >= window else c, np.array([0.0]))
    ax = _Axes(*_x_span(x), lo, hi)
    message = "" if np.isfinite(r).any() else f"the {window}-session window is not full yet"
    out = _frame(ax, title=title, ylabel="skill vs naive (%)", yfmt="+.3g", message=message)
    zero = ax.py(0.0)
    out.append(
        f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#000"/>'
    )
    out.append(_clip(ax, "clip-skill"))
    out.append(_series(ax, "rolling", x, r, PURPLE, 1.3, clip="clip-skill"))
    out.append(_series(ax, "cumulative", x, c, "#333", 1.6, clip="clip-skill"))
    out += _legend([(f"{window}-session skill", PURPLE), ("cumulative skill", "#333")])
    return _svg(out, label=title, chart="skill")


def timeline_svg(
    events: Sequence[Event], *, lanes: Sequence[str], start: dt.date, end: dt.date, title: str
) -> Markup:
    """The decisions on a time line: one lane per kind of event, one mark per event.

    Args:
        events: The events; their lane must be one of `lanes`.
        lanes: Lane names, top to bottom.
        start: First session of the axis.
        end: Last session.
        title: Chart title.

    Returns:
        The SVG markup; each mark carries its detail as a tooltip.
    """
    height = _TOP + _BOTTOM + 24 * max(1, len(lanes))
    x0 = float((start - dt.date(1970, 1, 1)).days)
    x1 = float((end - dt.date(1970, 1, 1)).days)
    ax = _Axes(*_x_span(np.array([x0, x1]), events), -0.5, len(lanes) - 0.5, height=height)
    message = "" if events else "no decisions"
    # no value axis: each lane is labelled instead
    out = _frame(ax, title=title, ylabel="", yfmt="", message=message, yticks=False)
    row = {lane: len(lanes) - 1 - i for i, lane in enumerate(lanes)}
    for lane, i in row.items():
        out.append(
            f'<text x="{_LEFT - 6}" y="{ax.py(i) + 4:.1f}" class="axis" text-anchor="end">'
            f"{escape(lane)}</text>"
        )
    for event in events:
        colour = _KIND_COLOURS.get(event.kind, PURPLE)
        xx = ax.px((event.session - dt.date(1970, 1, 1)).days)
        yy = ax.py(row[event.lane])
        out.append(
            f'<g data-event="{escape(event.lane)}" data-session="{event.session.isoformat()}">'
            f'<circle cx="{xx:.1f}" cy="{yy:.1f}" r="5" fill="{colour}"/>'
            f"<title>{escape(event.detail)}</title>"
            f'<text x="{xx + 7:.1f}" y="{yy - 6:.1f}" class="mark">{escape(event.label)}</text></g>'
        )
    return _svg(out, label=title, chart="timeline", height=height)
