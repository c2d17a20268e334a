"""The leaderboard page: the fleet's wins and skill vs naive, then every ticker's candidates.

One template (`leaderboard.html.j2`) for the live page (`GET /leaderboard/page`, paged) and the
file `stocky report` writes beside the overview (`leaderboard.html`, every ticker).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from stocky.pipelines.leaderboard_view import TickerBoard, interval_skill
from stocky.report.html import _environment

__all__ = ["render_leaderboard"]


def _bars(histogram: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Histogram bins with a label and a bar width in percent of the largest count."""
    top = max((b["count"] for b in histogram), default=0) or 1
    out = []
    for b in histogram:
        lo, hi = b["low"], b["high"]
        if lo is None:
            label = f"< {hi:+.1%}"
        elif hi is None:
            label = f">= {lo:+.1%}"
        else:
            label = f"{lo:+.1%} to {hi:+.1%}"
        out.append(b | {"label": label, "width": round(100 * b["count"] / top)})
    return out


def render_leaderboard(
    boards: Sequence[TickerBoard],
    *,
    summary: dict[str, Any] | None,
    generated_at: dt.datetime,
    overview_href: str | None,
    total: int,
    offset: int = 0,
    previous_href: str | None = None,
    next_href: str | None = None,
    ticker_href: Any = None,
) -> str:
    """The leaderboard page.

    Args:
        boards: The tickers shown (a page of them, or one).
        summary: The fleet summary (`leaderboard_view.fleet_summary`); None leaves it out.
        generated_at: Shown as the page's time.
        overview_href: The fleet overview's URL (None: no link).
        total: Tickers with a leaderboard in all.
        offset: Tickers before this page.
        previous_href: The previous page's URL, if any.
        next_href: The next page's URL, if any.
        ticker_href: ticker -> the URL of its page alone (None: no links).

    Returns:
        The HTML text; every value from data is escaped.
    """
    hists = {}
    if summary is not None:
        hists = {k: _bars(summary[k]["histogram"]) for k in ("skill", "interval_skill")}
    return (
        _environment()
        .get_template("leaderboard.html.j2")
        .render(
            boards=boards,
            summary=summary,
            hists=hists,
            generated=generated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            overview_href=overview_href,
            total=total,
            offset=offset,
            previous_href=previous_href,
            next_href=next_href,
            ticker_href=ticker_href or (lambda _t: None),
            interval_skill=interval_skill,
            refresh_seconds=None,
        )
    )
