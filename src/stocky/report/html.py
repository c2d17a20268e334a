"""The monitoring pages: a fleet overview and one page per ticker, each self-contained.

Pages come from the Jinja2 templates in `templates/` with autoescaping on, so every value from
data is escaped; nothing is loaded from elsewhere (the overview's sorting and filtering is a
small inline script). Links and charts go through callables, so the same pages serve as files
(`stocky report`: `index.html`, `t/<slug>.html`, PNGs beside them) and live (`GET /dashboard`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jinja2

from stocky.core.drift import DriftRule
from stocky.core.fleet import STATES, FleetRow, filter_rows, sort_rows, state_counts
from stocky.core.fleet_summary import HISTORY_STATES, SessionStates, skill_histogram
from stocky.errors import BadInput
from stocky.report.charts import CHART_HEIGHT, CHART_WIDTH, CHARTS
from stocky.report.model import TickerReport
from stocky.report.words import (
    basis_label,
    detector_text,
    model_verdict,
    plural,
    version_arrow,
)

__all__ = [
    "NO_LABELS_HINT",
    "OVERVIEW_COLUMNS",
    "ImageSource",
    "OverviewQuery",
    "TickerHref",
    "render_overview",
    "render_ticker",
]

#: (ticker, chart name) -> the URL or file name of that chart's PNG.
ImageSource = Callable[[str, str], str]
#: ticker -> the URL of its page (None: no page to link).
TickerHref = Callable[[str], str | None]
NO_LABELS_HINT = "No labeled predictions yet: run `stocky actuals` once the target sessions close."
#: Drift checks listed per ticker, newest first.
CHECK_ROWS = 10
#: The overview's columns: (row field, header, how the page sorts it).
OVERVIEW_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ticker", "ticker", "text"),
    ("state", "state", "num"),
    ("model_version", "model", "num"),
    ("skill", "skill vs naive", "num"),
    ("rmse", "RMSE", "num"),
    ("coverage", "95% coverage", "num"),
    ("basis", "window", "text"),
    ("interval_score", "interval score", "num"),
    ("crps", "CRPS", "num"),
    ("direction_accuracy", "direction", "num"),
    ("drift", "drift", "text"),
    ("breach_streak", "streak", "num"),
    ("volatility_changed", "volatility", "num"),
    ("model_degraded", "degraded", "num"),
    ("last_retrain", "last retrain", "text"),
    ("last_promotion", "last promotion", "text"),
    ("pending_labels", "pending labels", "num"),
    ("last_price", "last price", "text"),
)
STATE_LABELS = {
    "degraded": "degraded",
    "stale_prices": "stale prices",
    "labels_late": "labels late",
    "volatility": "volatility changed",
    "unchecked": "unchecked",
    "ok": "ok",
}


@dataclass(frozen=True)
class OverviewQuery:
    """The overview's filter and order, as in its URL (`?state=&q=&sort=&order=`)."""

    states: tuple[str, ...] = ()
    q: str = ""
    sort: str = "state"
    descending: bool = False

    def __post_init__(self) -> None:
        unknown = [s for s in self.states if s not in STATES]
        if unknown:
            raise BadInput(f"state {unknown[0]!r} is unknown: use one of {', '.join(STATES)}")
        keys = [key for key, _, _ in OVERVIEW_COLUMNS]
        if self.sort != "state" and self.sort not in keys:
            raise BadInput(f"sort {self.sort!r} is not a column: use one of {', '.join(keys)}")
        if len(self.q) > 64:
            raise BadInput(f"q is {len(self.q)} characters long: use at most 64 (a ticker's part)")


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
    env.filters["plural"] = plural
    env.globals.update(
        basis_label=basis_label,
        model_verdict=model_verdict,
        version_arrow=version_arrow,
    )
    return env


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def render_overview(
    rows: Sequence[FleetRow],
    *,
    generated_at: dt.datetime,
    window: int,
    href: TickerHref,
    refresh_seconds: int | None = None,
    leaderboard_href: str | None = None,
    history: Sequence[SessionStates] = (),
    query: OverviewQuery | None = None,
    nav: Sequence[tuple[str, str]] = (),
) -> str:
    """The fleet overview: a summary, state chips, then one row per ticker.

    Args:
        rows: From `stocky.pipelines.fleet_view.fleet_overview`, problems first.
        generated_at: Shown as the page's time.
        window: Labeled sessions behind each row's live skill, RMSE and coverage.
        href: ticker -> the URL of its page (None: shown without a link).
        refresh_seconds: When set, the page reloads itself this often (the live dashboard).
        leaderboard_href: The leaderboard page's URL (None: no link).
        history: Drift-check states over recent sessions, oldest first (the summary's chart).
        query: The filter and order the page opens with (from its URL); the page's script
            keeps the URL in step as the reader filters and sorts.
        nav: (label, URL) links shown in the header (other pages of the dashboard).

    Returns:
        The HTML text; every value from data is escaped.
    """
    query = query or OverviewQuery()
    order = [STATE_LABELS[s] for s in STATES if s != "ok"]
    shown = {r.ticker for r in filter_rows(rows, states=query.states, text=query.q)}
    ordered = sort_rows(rows, sort=query.sort, descending=query.descending)
    bases = {b: sum(1 for r in rows if r.basis == b) for b in ("live", "walk_forward")}
    return (
        _environment()
        .get_template("overview.html.j2")
        .render(
            rows=ordered,
            shown=shown,
            query=query,
            nav=nav,
            histogram=skill_histogram(rows),
            history=history,
            history_states=HISTORY_STATES,
            bases=bases,
            generated=_stamp(generated_at),
            window=window,
            href=href,
            refresh_seconds=int(refresh_seconds) if refresh_seconds else None,
            columns=OVERVIEW_COLUMNS,
            states=STATES,
            state_labels=STATE_LABELS,
            rank={s: i for i, s in enumerate(STATES)},
            counts=state_counts(rows),
            order_text=", ".join(order),
            leaderboard_href=leaderboard_href,
        )
    )


def render_ticker(
    part: TickerReport,
    *,
    rule: DriftRule,
    generated_at: dt.datetime,
    image_src: ImageSource,
    overview_href: str,
    refresh_seconds: int | None = None,
    detector: str = "assessment",
    training_src: str | None = None,
    overview_window: int | None = None,
) -> str:
    """One ticker's page: summary, charts, model versions, promotions and drift checks.

    Args:
        part: One ticker of a Report (`stocky.report.build.build_report`).
        rule: The drift rule the charts were drawn with.
        generated_at: Shown as the page's time.
        image_src: (ticker, chart name) -> the URL or file name of that chart's PNG.
        overview_href: The URL of the overview page (the page links back to it).
        refresh_seconds: When set, the page reloads itself this often (the live dashboard).
        detector: The drift detector in charge of retrains ("assessment" or "rule").
        training_src: The URL or file name of the training chart (the champion's walk-forward
            forecast vs actual); None: not shown.
        overview_window: The fleet page's live window, named so its figures and this page's
            can be told apart.

    Returns:
        The HTML text; every value from data is escaped.
    """
    return (
        _environment()
        .get_template("ticker_page.html.j2")
        .render(
            t=part,
            rule=rule,
            generated=_stamp(generated_at),
            refresh_seconds=int(refresh_seconds) if refresh_seconds else None,
            image_src=image_src,
            overview_href=overview_href,
            charts=CHARTS,
            width=CHART_WIDTH,
            height=CHART_HEIGHT,
            no_labels_hint=NO_LABELS_HINT,
            check_rows=CHECK_ROWS,
            detector=detector_text(detector, rule),
            training_src=training_src,
            overview_window=overview_window,
        )
    )
