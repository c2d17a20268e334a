"""The study page's two charts as SVG, drawn in Python like `report.svg`: the skill heatmap
(one row per ticker, one column per policy, each cell linked to its drill-down page) and the
policy frontier (mean skill against retrains per ticker, one labelled point per policy).

No plotting library is imported (matplotlib alone cost a small study ~0.25 s to import and
another ~0.25 s to draw two PNGs). Every text from data is escaped and every coordinate is
finite; `standalone` turns a chart into a file of its own with its styles inside, no script
and nothing loaded from elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from stocky.report.colours import contrast_text, diverging, to_hex
from stocky.report.svg import _BOTTOM, _LEFT, _RIGHT, _TOP, BLUE, HEIGHT, WIDTH, _Axes, _nice_ticks
from stocky.report.svg import _svg as _chart

__all__ = ["CHART_CSS", "HeatCell", "frontier_svg", "heat_colours", "heatmap_svg", "standalone"]

#: The charts' styles (as `report.css` draws `svg.chart`), for a page or a standalone file.
CHART_CSS = (
    "svg.chart{max-width:100%;height:auto;background:#fff}"
    "svg.chart text{font-family:system-ui,sans-serif;font-size:11px;fill:#5b6475}"
    "svg.chart .grid{stroke:#e8eaee}svg.chart .axis{font-size:11px;fill:#5b6475}"
    "svg.chart .title{font-size:13px;font-weight:600;fill:#1d2433}"
    "svg.chart .mark{font-size:10px;fill:#1d2433}svg.chart .cell{font-size:11px}"
)
#: Heatmap geometry: cell size, the rotation of column names, a char's width (estimate).
_CELL_W, _CELL_H, _ANGLE, _CHAR = 76, 24, 40.0, 6.5
_LEGEND_STEPS = 11


@dataclass(frozen=True)
class HeatCell:
    """One heatmap cell: its label, colours and link (None: no page, or no skill)."""

    text: str
    background: str
    colour: str
    href: str | None
    title: str


def standalone(chart: Markup) -> str:
    """A chart as a file of its own: an XML declaration and its styles inside the `<svg>`."""
    head, _, rest = str(chart).partition(">")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{head}><style>{CHART_CSS}</style>{rest}\n'


def frontier_svg(points: Sequence[tuple[str, float, float]], *, title: str) -> Markup:
    """Mean skill (percent) against retrains per ticker: one labelled point per policy.

    Args:
        points: (policy, retrains per ticker, mean skill as a fraction); points with a
            non-finite coordinate are left out (a policy whose cells all lacked a skill).
        title: Chart title.

    Returns:
        The SVG markup; each point is a `<g data-policy=...>` with its values as a tooltip.
    """
    kept = [
        (p, float(x), float(y) * 100)
        for p, x, y in points
        if math.isfinite(float(x)) and math.isfinite(float(y))
    ]
    x0, x1 = _padded([0.0, *(x for _, x, _ in kept)])
    y0, y1 = _padded([0.0, *(y for _, _, y in kept)])
    ax = _Axes(x0, x1, y0, y1)
    middle = (HEIGHT - _BOTTOM + _TOP) / 2
    out = [
        f'<text x="{_LEFT}" y="18" class="title">{escape(title)}</text>',
        f'<text x="14" y="{middle:.0f}" class="axis" transform="rotate(-90 14 {middle:.0f})" '
        'text-anchor="middle">mean skill vs naive (%)</text>',
        f'<text x="{(_LEFT + WIDTH - _RIGHT) / 2:.0f}" y="{HEIGHT - 2}" class="axis" '
        'text-anchor="middle">retrains per ticker over the period</text>',
    ]
    for tick in _nice_ticks(y0, y1):
        y = ax.py(tick)
        out.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
            f"{tick:+.3g}</text>"
        )
    for tick in _nice_ticks(x0, x1):
        x = ax.px(tick)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{HEIGHT - _BOTTOM}" class="grid"/>'
            f'<text x="{x:.1f}" y="{HEIGHT - _BOTTOM + 14}" class="axis" '
            f'text-anchor="middle">{tick:.3g}</text>'
        )
    zero = ax.py(0.0)
    out.append(
        f'<line data-series="zero" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{zero:.1f}" '
        f'y2="{zero:.1f}" stroke="#000" stroke-width="0.8"/>'
    )
    if not kept:
        out.append(
            f'<text x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" class="axis" '
            'text-anchor="middle">no policy with a skill</text>'
        )
    for policy, x, y in kept:
        px, py = ax.px(x), ax.py(y)
        # labels on the right half go to the left of their point: they stay inside the chart
        left = px > WIDTH * 0.6
        lx, anchor = (px - 7, "end") if left else (px + 7, "start")
        out.append(
            f'<g data-policy="{escape(policy)}" data-retrains="{x:.6g}" data-skill="{y:.6g}">'
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4.5" fill="{BLUE}"/>'
            f"<title>{escape(policy)}: {y:+.2f}% skill, {x:.3g} retrains per ticker</title>"
            f'<text x="{lx:.1f}" y="{py - 6:.1f}" class="mark" text-anchor="{anchor}">'
            f"{escape(policy)}</text></g>"
        )
    return _chart(out, label=title, chart="frontier")


def heatmap_svg(
    policies: Sequence[str],
    rows: Sequence[tuple[str, Sequence[HeatCell]]],
    *,
    bound: float,
    title: str,
) -> Markup:
    """The skill heatmap: one row per ticker, one column per policy, a colour key below.

    Args:
        policies: Column names.
        rows: (ticker, one cell per policy), as the study page's table.
        bound: The colour scale runs from -bound% (dark red) to +bound% (dark blue).
        title: Chart title.

    Returns:
        The SVG markup; a cell with a page links to it (relative to the study folder).
    """
    longest_policy = max((len(p) for p in policies), default=1)
    sin, cos = math.sin(math.radians(_ANGLE)), math.cos(math.radians(_ANGLE))
    left = max(60, int(_CHAR * max((len(t) for t, _ in rows), default=1)) + 16)
    header = int(_CHAR * longest_policy * sin) + 16
    top = _TOP + header
    grid_w = _CELL_W * max(1, len(policies))
    width = left + grid_w + max(_RIGHT, int(_CHAR * longest_policy * cos) - _CELL_W // 2 + 8)
    width = max(width, left + 20 * _LEGEND_STEPS + 140, int(7.5 * len(title)) + 16)
    legend_y = top + _CELL_H * len(rows) + 18
    height = legend_y + 44
    out = [f'<text x="8" y="18" class="title">{escape(title)}</text>']
    for j, policy in enumerate(policies):
        x = left + _CELL_W * j + _CELL_W / 2
        out.append(
            f'<text x="{x:.1f}" y="{top - 6}" class="axis" transform="rotate(-{_ANGLE:g} '
            f'{x:.1f} {top - 6})">{escape(policy)}</text>'
        )
    for i, (ticker, cells) in enumerate(rows):
        y = top + _CELL_H * i
        out.append(
            f'<text x="{left - 6}" y="{y + _CELL_H / 2 + 4:.1f}" class="axis" '
            f'text-anchor="end">{escape(ticker)}</text>'
        )
        for j, cell in enumerate(cells):
            x = left + _CELL_W * j
            body = (
                f'<rect x="{x}" y="{y}" width="{_CELL_W}" height="{_CELL_H}" '
                f'fill="{escape(cell.background)}" stroke="#fff"/>'
                f'<text x="{x + _CELL_W / 2:.1f}" y="{y + _CELL_H / 2 + 4:.1f}" class="cell" '
                f'text-anchor="middle" style="fill:{escape(cell.colour)}">{escape(cell.text)}'
                f"</text><title>{escape(cell.title)}</title>"
            )
            if cell.href:
                body = f'<a href="{escape(cell.href)}">{body}</a>'
            out.append(f'<g data-cell="heat">{body}</g>')
    out += _key(left, legend_y, bound)
    return _chart(out, label=title, chart="heatmap", height=height, width=width)


def _key(x0: int, y: int, bound: float) -> list[str]:
    """The colour key: swatches from -bound% to +bound%, labelled at both ends and 0."""
    out, step = [], 20
    for k in range(_LEGEND_STEPS):
        rgb = diverging(k / (_LEGEND_STEPS - 1))
        out.append(
            f'<rect x="{x0 + step * k}" y="{y}" width="{step}" height="12" fill="{to_hex(rgb)}"/>'
        )
    for k, value in ((0, -bound), (_LEGEND_STEPS // 2, 0.0), (_LEGEND_STEPS - 1, bound)):
        out.append(
            f'<text x="{x0 + step * k + step / 2:.0f}" y="{y + 26}" class="axis" '
            f'text-anchor="middle">{value:+.2f}%</text>'.replace("+0.00%", "0%")
        )
    out.append(
        f'<text x="{x0 + step * _LEGEND_STEPS + 10}" y="{y + 10}" class="axis">'
        "skill vs naive (%)</text>"
    )
    return out


def heat_colours(pct: float, bound: float) -> tuple[str, str]:
    """(background, label colour) of a skill of `pct` percent on a +-`bound` scale."""
    rgb = diverging((pct + bound) / (2 * bound))
    return to_hex(rgb), contrast_text(rgb)


def _padded(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.08 or 1.0
    return lo - pad, hi + pad
