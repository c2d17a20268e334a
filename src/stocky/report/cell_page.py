"""A study cell's drill-down page: its replay as forecasts vs actuals with the band, the
decisions on a time line, and skill over time, with the cell's headline numbers next to naive.

Drawn from the cell's trace (plain values: a frame of labeled forecasts and lists of decisions,
drift alerts and alerts) with inline SVG (`report.svg`), so a page costs milliseconds and
opens offline; every value from data is escaped by the template.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from stocky.core.drift import rolling_skill
from stocky.core.realized import realized
from stocky.core.skill_curves import cumulative_skill
from stocky.report.html import _environment
from stocky.report.svg import Event, forecast_svg, skill_svg, timeline_svg
from stocky.report.words import version_arrow

__all__ = ["SKILL_WINDOW", "render_cell_page", "skill_window"]

#: Sessions in the rolling skill (a quarter of trading sessions).
SKILL_WINDOW = 63
#: Above this many promotions their version labels would overlap: tooltips only.
_MAX_LABELS = 30
_EPOCH = dt.date(1970, 1, 1)
_LANES = ("retrain promoted", "retrain rejected", "rollback", "drift alert")


def skill_window(labeled: int) -> int:
    """SKILL_WINDOW, or a third of a short replay (at least 2 rows) so the curve still shows."""
    return SKILL_WINDOW if labeled >= 2 * SKILL_WINDOW else max(2, labeled // 3)


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(str(text)[:10])


def _events(
    decisions: Sequence[Mapping[str, Any]],
    drift: Sequence[Mapping[str, Any]],
    alerts: Sequence[Mapping[str, Any]],
) -> list[Event]:
    promoted = sum(1 for d in decisions if d.get("action") == "promote")
    events = []
    for d in decisions:
        action = str(d.get("action"))
        arrow = version_arrow(d.get("from_version"), d.get("to_version"))
        lane, kind = {
            "promote": ("retrain promoted", "promote"),
            "reject": ("retrain rejected", "reject"),
            "rollback": ("rollback", "rollback"),
        }.get(action, ("retrain rejected", "reject"))
        label = f"v{d.get('to_version')}" if kind == "promote" and promoted <= _MAX_LABELS else ""
        detail = f"{d['session']}: {action} {arrow} ({d.get('triggered_by')}): {d.get('reason')}"
        events.append(Event(lane, kind, _date(d["session"]), label, detail))
    for c in drift:
        detail = f"{c['session']}: drift check fired ({c.get('decision')}), champion v{c.get('model_version')}"
        events.append(Event("drift alert", "drift", _date(c["session"]), "", detail))
    for a in alerts:
        detail = f"{a['session']}: {a['kind']} alert"
        events.append(Event(str(a["kind"]), "alert", _date(a["session"]), "", detail))
    return events


def render_cell_page(
    *,
    ticker: str,
    policy: str,
    retrain_mode: str,
    headline: Mapping[str, Any],
    frame: pd.DataFrame,
    decisions: Sequence[Mapping[str, Any]],
    drift: Sequence[Mapping[str, Any]],
    alerts: Sequence[Mapping[str, Any]],
    study_href: str,
    files: Sequence[tuple[str, str]] = (),
) -> str:
    """The HTML of one cell's page.

    Args:
        ticker: The cell's ticker (escaped like every value).
        policy: The policy's name.
        retrain_mode: Its retrain mode.
        headline: The cell's result: labeled, rmse, naive_rmse, skill, retrains, promotions,
            rollbacks, drift_alerts, compute_seconds (None where missing).
        frame: Labeled forecasts, oldest target first: target_date, actual, prediction,
            lower, upper, naive, model_version.
        decisions: Retrain decisions and rollbacks (session, action, from_version,
            to_version, triggered_by, reason, champion_rmse, challenger_rmse, naive_rmse).
        drift: Drift checks that fired (session, decision, model_version).
        alerts: Alerts queued (session, kind).
        study_href: The study page's URL from this page.
        files: (label, URL) of the cell's files to link.

    Returns:
        The HTML text.
    """
    dates = pd.to_datetime(frame["target_date"]).to_numpy("datetime64[D]")
    a, p, nv = (frame[c].to_numpy(float) for c in ("actual", "prediction", "naive"))
    lo, hi = frame["lower"].to_numpy(float), frame["upper"].to_numpy(float)
    window = skill_window(len(frame))
    events = _events(decisions, drift, alerts)
    changes = [e for e in events if e.kind in ("promote", "rollback")]
    kinds = Counter(str(x["kind"]) for x in alerts)
    lanes = [*_LANES, *sorted(kinds)]  # then one lane per alert kind (purple marks)
    first = _date(str(dates[0])) if len(dates) else None
    last = _date(str(dates[-1])) if len(dates) else None
    days = [e.session for e in events] + [d for d in (first, last) if d is not None]
    start, end = (min(days), max(days)) if days else (_EPOCH, _EPOCH)
    scores = realized(a, p, nv, lower=lo, upper=hi)
    title = f"{ticker}, {policy}"
    charts = {
        "forecast": forecast_svg(
            dates, a, p, lo, hi, changes=changes, title=f"{ticker}: forecast vs actual close"
        ),
        "timeline": timeline_svg(
            events, lanes=lanes, start=start, end=end, title=f"{ticker}: decisions and alerts"
        ),
        "skill": skill_svg(
            dates,
            rolling_skill(a, p, nv, window=window) if len(frame) else np.array([]),
            cumulative_skill(a, p, nv),
            window=window,
            title=f"{ticker}: skill vs naive over time",
        ),
    }
    return (
        _environment()
        .get_template("study_cell.html.j2")
        .render(
            title=title,
            ticker=ticker,
            policy=policy,
            retrain_mode=retrain_mode,
            h=headline,
            coverage=scores.coverage,
            first=first,
            last=last,
            labeled=len(frame),
            window=window,
            charts=charts,
            decisions=decisions,
            version_arrow=version_arrow,
            alert_kinds=[
                (k, n, [x["session"] for x in alerts if x["kind"] == k]) for k, n in kinds.items()
            ],
            drift_count=len(drift),
            study_href=study_href,
            files=files,
            refresh_seconds=None,
        )
    )
