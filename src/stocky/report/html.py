"""The monitoring report as one self-contained HTML page (no external CSS, scripts or fonts).

The page comes from the Jinja2 templates in `templates/` with autoescaping on, so every value
from data is escaped. Charts are referenced through `image_src`, so the same page serves as a
file with PNGs beside it (`stocky report`) and live (`GET /dashboard`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

import jinja2

from stocky.report.charts import CHART_HEIGHT, CHART_WIDTH, CHARTS
from stocky.report.model import Report

__all__ = ["NO_LABELS_HINT", "ImageSource", "render_html"]

#: (ticker, chart name) -> the URL or file name of that chart's PNG.
ImageSource = Callable[[str, str], str]
NO_LABELS_HINT = "No labeled predictions yet: run `stocky actuals` once the target sessions close."
#: Drift checks listed per ticker, newest first.
CHECK_ROWS = 10


def _num(value: float | str | None, spec: str = ",.4g") -> str:
    """A number (or a numeric tag) formatted by `spec`; "-" when missing, as given when not numeric."""
    if value is None or value == "":
        return "-"
    try:
        return format(float(value), spec)
    except (TypeError, ValueError):
        return str(value)  # escaped by the template like any value


@functools.cache
def _environment() -> jinja2.Environment:
    """Built on first use (nothing at import), then shared: Environments are thread-safe."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("stocky.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["fmt"] = format
    return env


def render_html(
    report: Report, *, image_src: ImageSource, refresh_seconds: int | None = None
) -> str:
    """The report as one self-contained HTML page.

    Args:
        report: From `stocky.report.build.build_report`.
        image_src: (ticker, chart name) -> the URL or file name of that chart's PNG.
        refresh_seconds: When set, the page reloads itself this often (the live dashboard).

    Returns:
        The HTML text; every value from data is escaped.
    """
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            rule=report.rule,
            generated=report.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            refresh_seconds=int(refresh_seconds) if refresh_seconds else None,
            image_src=image_src,
            charts=CHARTS,
            width=CHART_WIDTH,
            height=CHART_HEIGHT,
            no_labels_hint=NO_LABELS_HINT,
            check_rows=CHECK_ROWS,
        )
    )
