"""The monitoring report as one self-contained HTML page (no external CSS, scripts or fonts).

Every value that comes from data is escaped. Charts are referenced through `image_src`, so the
same page serves as a file with PNGs beside it (`stocky report`) and live (`GET /dashboard`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from html import escape
from typing import TYPE_CHECKING

from stocky.pipelines.charts import CHART_HEIGHT, CHART_WIDTH, CHARTS

if TYPE_CHECKING:
    from stocky.pipelines.report import Report, TickerReport

__all__ = ["NO_LABELS_HINT", "ImageSource", "render_html"]

#: (ticker, chart name) -> the URL or file name of that chart's PNG.
ImageSource = Callable[[str, str], str]
NO_LABELS_HINT = "No labeled predictions yet: run `stocky actuals` once the target sessions close."

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2433;background:#f5f6f8}
header,main,footer{max-width:960px;margin:0 auto;padding:0 16px}
header{padding-top:20px}h1{font-size:1.5em;margin:0 0 4px}h2{margin:0 0 12px}h3{margin:20px 0 8px;font-size:1.05em}
.muted{color:#5b6475}nav a{margin-right:12px}
section.ticker{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:18px;margin:18px 0}
dl.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:8px;margin:0}
dl.summary div{background:#f5f6f8;border-radius:6px;padding:8px 10px}
dt{font-size:.78em;color:#5b6475;text-transform:uppercase;letter-spacing:.03em}dd{margin:2px 0 0;font-weight:600}
figure{margin:16px 0 0}figcaption{font-size:.9em;color:#5b6475}
img{max-width:100%;height:auto;border:1px solid #eef0f3;border-radius:4px}
.empty{background:#fff8e6;border:1px solid #f0d48a;border-radius:6px;padding:14px;margin-top:14px}
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eef0f3}
td.n{text-align:right;font-variant-numeric:tabular-nums}.drift{color:#b42318;font-weight:600}
code{background:#eef0f3;padding:1px 4px;border-radius:3px}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _num(value: float | str | None, spec: str = ",.4g") -> str:
    if value is None or value == "":
        return "-"
    try:
        return format(float(value), spec)
    except (TypeError, ValueError):
        return _e(value)


def _table(
    head: Sequence[str], rows: Sequence[Sequence[str]], *, cls: str, numeric: set[int]
) -> str:
    """Cells must already be escaped."""
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if i in numeric else ''}>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _summary_html(t: TickerReport) -> str:
    items: list[tuple[str, str]] = []
    if t.summary is not None:
        s = t.summary
        items += [
            ("sessions labeled", f"{s.sessions:,}"),
            ("range", f"{s.first} to {s.last}"),
            ("RMSE", _num(s.rmse)),
            ("naive RMSE", _num(s.naive_rmse)),
            ("skill vs naive", _num(s.skill, "+.2%")),
            ("95% coverage", _num(s.coverage, ".1%")),
        ]
    items.append(("pending labels", f"{t.pending:,}"))
    champion = next((v for v in t.versions if "champion" in v.aliases), None)
    items.append(("champion", f"v{champion.version}" if champion else "none"))
    if t.drift_checks:
        latest = t.drift_checks[0]
        cls = ' class="drift"' if latest.drifted else ""
        items.append(
            (
                "latest drift check",
                f"<span{cls}>{_e(latest.decision)}</span> ({_e(latest.as_of)})",
            )
        )
    cards = "".join(f"<div><dt>{_e(k)}</dt><dd>{v}</dd></div>" for k, v in items)
    return f'<dl class="summary">{cards}</dl>'


def _charts_html(t: TickerReport, image_src: ImageSource) -> str:
    if not t.has_data:
        waiting = (
            f" {t.pending:,} prediction(s) are waiting for their actual close." if t.pending else ""
        )
        return f'<div class="empty" data-empty="no-labels">{_e(NO_LABELS_HINT)}{_e(waiting)}</div>'
    figures = []
    for name, caption in CHARTS.items():
        note = f" {t.threshold_note}." if name == "rolling" else ""
        figures.append(
            f'<figure><img src="{_e(image_src(t.ticker, name))}" width="{CHART_WIDTH}" '
            f'height="{CHART_HEIGHT}" alt="{_e(t.ticker)}: {_e(caption)}" loading="eager" '
            f'data-chart="{_e(name)}" data-ticker="{_e(t.ticker)}">'
            f"<figcaption>{_e(caption)}.{_e(note)}</figcaption></figure>"
        )
    return '<div class="charts">' + "".join(figures) + "</div>"


def _versions_html(t: TickerReport) -> str:
    if not t.versions:
        return f'<p class="muted">No registered model: run <code>stocky train --ticker {_e(t.ticker)}</code>.</p>'
    rows = [
        [
            f"v{v.version}",
            _e(", ".join(v.aliases) or "-"),
            _e(v.tags.get("order", "-")),
            f"{_e(v.tags.get('train_start', '?'))} to {_e(v.tags.get('train_end', '?'))}",
            _num(v.tags.get("walk_forward_rmse")),
            _num(v.tags.get("naive_rmse")),
            _num(v.tags.get("skill"), "+.2%"),
        ]
        for v in t.versions
    ]
    head = (
        "version",
        "aliases",
        "order",
        "training range",
        "walk-forward RMSE",
        "naive RMSE",
        "skill",
    )
    return _table(head, rows, cls="versions", numeric={4, 5, 6})


def _promotions_html(t: TickerReport) -> str:
    if not t.promotions:
        return '<p class="muted">No promotion decisions yet.</p>'
    rows = [
        [
            _e(p.as_of or p.decided_at.date()),
            _e(p.action),
            f"v{_e(p.from_version or '-')} &rarr; v{_e(p.to_version or '-')}",
            _e(p.triggered_by),
            _num(p.champion_rmse),
            _num(p.challenger_rmse),
            _num(p.naive_rmse),
            _e(p.reason),
        ]
        for p in t.promotions
    ]
    head = (
        "session",
        "action",
        "versions",
        "trigger",
        "champion RMSE",
        "challenger RMSE",
        "naive RMSE",
        "reason",
    )
    return _table(head, rows, cls="promotions", numeric={4, 5, 6})


def _checks_html(t: TickerReport, limit: int = 10) -> str:
    if not t.drift_checks:
        return '<p class="muted">No drift checks yet.</p>'
    rows = [
        [
            _e(c.as_of),
            f'<span class="drift">{_e(c.decision)}</span>' if c.drifted else _e(c.decision),
            _e(c.metric),
            _num(c.latest_value),
            _num(c.threshold),
            _e(c.breach_streak),
        ]
        for c in t.drift_checks[:limit]
    ]
    head = ("session", "decision", "metric", "rolling value", "threshold", "breach streak")
    return _table(head, rows, cls="drift-checks", numeric={3, 4, 5})


def render_html(
    report: Report, *, image_src: ImageSource, refresh_seconds: int | None = None
) -> str:
    """The report as one self-contained HTML page.

    Args:
        report: From `build_report`.
        image_src: (ticker, chart name) -> the URL or file name of that chart's PNG.
        refresh_seconds: When set, the page reloads itself this often (the live dashboard).

    Returns:
        The HTML text; every value from data is escaped.
    """
    rule = report.rule
    refresh = (
        f'<meta http-equiv="refresh" content="{int(refresh_seconds)}">' if refresh_seconds else ""
    )
    nav = " ".join(f'<a href="#t-{_e(t.slug)}">{_e(t.ticker)}</a>' for t in report.tickers)
    sections = [
        f'<section class="ticker" id="t-{_e(t.slug)}" data-ticker="{_e(t.ticker)}"><h2>{_e(t.ticker)}</h2>'
        f"{_summary_html(t)}{_charts_html(t, image_src)}"
        f"<h3>Model versions</h3>{_versions_html(t)}<h3>Promotions</h3>{_promotions_html(t)}"
        f"<h3>Latest drift checks</h3>{_checks_html(t)}</section>"
        for t in report.tickers
    ]
    if not sections:
        sections.append(
            '<div class="empty" data-empty="no-tickers">No tickers yet: run <code>stocky train</code>.</div>'
        )
    generated = report.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        # an empty inline icon: the browser asks for no /favicon.ico
        f'{refresh}<link rel="icon" href="data:,"><title>stocky: forecasts vs actuals</title>'
        f"<style>{_CSS}</style></head><body>"
        f'<header><h1>stocky: forecasts vs actuals</h1><p class="muted">Generated {_e(generated)}. '
        f"Drift rule: rolling {_e(rule.metric)} over {rule.window} labeled sessions above "
        f"{rule.threshold_multiplier:g} x the baseline for {rule.consecutive_days} sessions in a row.</p>"
        f"<nav>{nav}</nav></header><main>{''.join(sections)}</main>"
        '<footer><p class="muted">Every model is shown next to the naive random walk '
        "(tomorrow's close = today's close); skill above 0 means the model beat it.</p></footer>"
        "</body></html>"
    )
