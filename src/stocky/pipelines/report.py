"""The monitoring report: forecasts vs actuals, rolling error vs the drift threshold, skill.

`build_report` collects what the page shows from the prediction log, the audit trail and the
registry; `render_html` turns it into one self-contained page (no external CSS, scripts or
fonts); `write_report` writes that page and its PNG charts to a folder. `GET /dashboard` serves
the same page, with charts rendered on request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stocky.core.drift import DriftRule, Metric, per_session, rolling_metric
from stocky.core.metrics import coverage, mae, rmse
from stocky.pipelines.charts import CHART_HEIGHT, CHART_WIDTH, CHARTS, render_chart

if TYPE_CHECKING:
    from stocky.adapters.registry import ModelRegistry, ModelVersionInfo
    from stocky.adapters.store.audit import AuditRepository
    from stocky.adapters.store.predictions import PredictionRepository

__all__ = [
    "Report",
    "Summary",
    "TickerReport",
    "build_report",
    "known_tickers",
    "render_html",
    "slugify",
    "write_report",
]

ImageSource = Callable[[str, str], str]
NO_LABELS_HINT = "No labeled predictions yet: run `stocky actuals` once the target sessions close."


@dataclass(frozen=True)
class Summary:
    """Accuracy over every labeled target session (the last prediction per session)."""

    sessions: int
    first: dt.date
    last: dt.date
    rmse: float
    naive_rmse: float
    skill: float | None
    mae: float
    coverage: float


@dataclass(frozen=True, eq=False)  # holds DataFrames: compare fields, not reports
class TickerReport:
    """Everything the page shows for one ticker."""

    ticker: str
    slug: str
    sessions: pd.DataFrame  # one row per target session, oldest first
    labeled_rows: int
    pending: int
    metric: str  # the rolling metric plotted against the threshold
    window: int
    rolling: pd.DataFrame  # target_date, value, naive_value, skill (NaN until the window fills)
    thresholds: tuple[tuple[dt.date, float], ...]
    threshold_note: str
    alerts: tuple[tuple[dt.date, float], ...]
    changes: tuple[tuple[dt.date, str, str], ...]
    drift_checks: tuple[dict[str, Any], ...]  # newest first
    promotions: tuple[dict[str, Any], ...]  # newest first
    versions: tuple[ModelVersionInfo, ...]  # newest first
    summary: Summary | None
    fingerprint: str

    @property
    def has_data(self) -> bool:
        return self.summary is not None


@dataclass(frozen=True, eq=False)
class Report:
    """The report for several tickers at one moment."""

    generated_at: dt.datetime
    rule: DriftRule
    tickers: tuple[TickerReport, ...]

    def get(self, ticker: str) -> TickerReport | None:
        return next((t for t in self.tickers if t.ticker == ticker), None)


def slugify(ticker: str) -> str:
    """A file-name-safe ticker: `^GSPC` -> `gspc`, `BRK.B` -> `brk-b`."""
    return re.sub(r"[^a-z0-9]+", "-", ticker.lower()).strip("-") or "ticker"


def known_tickers(*, predictions: PredictionRepository, registry: ModelRegistry) -> list[str]:
    """Tickers with a registered model or a logged prediction, sorted."""
    return sorted(set(registry.tickers()) | set(predictions.tickers()))


def build_report(
    *,
    predictions: PredictionRepository,
    audit: AuditRepository,
    registry: ModelRegistry,
    tickers: Sequence[str],
    drift_rule: DriftRule,
    now: dt.datetime,
) -> Report:
    """Collect the report's data for `tickers` (nothing is written).

    Args:
        predictions: The prediction log (labeled rows and pending counts).
        audit: Drift checks and promotions.
        registry: Model versions, and the champion's baseline when no drift check exists yet.
        tickers: Tickers to report, in page order.
        drift_rule: Window, multiplier and metric of the rolling-error chart.
        now: Recorded as the report's time.

    Returns:
        The Report; tickers without labeled predictions have `summary` None and no charts.
    """
    slugs: set[str] = set()
    parts = []
    for ticker in tickers:
        slug = base = slugify(ticker)
        n = 1
        while slug in slugs:  # two tickers may sanitise alike (BRK.B, BRK-B)
            n += 1
            slug = f"{base}-{n}"
        slugs.add(slug)
        parts.append(
            _ticker_report(
                ticker,
                slug,
                labeled=predictions.labeled(ticker),
                pending=predictions.pending_count(ticker),
                checks=audit.drift_checks(ticker),
                promotions=audit.promotions(ticker),
                versions=registry.versions(ticker),
                rule=drift_rule,
            )
        )
    return Report(generated_at=now, rule=drift_rule, tickers=tuple(parts))


def _ticker_report(
    ticker: str,
    slug: str,
    *,
    labeled: pd.DataFrame,
    pending: int,
    checks: list[dict[str, Any]],
    promotions: list[dict[str, Any]],
    versions: list[ModelVersionInfo],
    rule: DriftRule,
) -> TickerReport:
    # mase needs the training data's naive scale, which the log does not hold: plot rmse then
    metric: Metric = "rmse" if rule.metric == "mase" else rule.metric
    sessions = per_session(labeled) if len(labeled) else labeled
    actual = sessions["actual"].to_numpy(float)
    pred = sessions["prediction"].to_numpy(float)
    last = sessions["naive"].to_numpy(float)
    w = rule.window
    model_rmse = rolling_metric(actual, pred, last, window=w, metric="rmse")
    naive_rmse = rolling_metric(actual, last, last, window=w, metric="rmse")
    with np.errstate(divide="ignore", invalid="ignore"):
        skill = np.where(naive_rmse > 0, 1.0 - model_rmse / naive_rmse, np.nan)
    rolling = pd.DataFrame(
        {
            "target_date": sessions["target_date"].to_numpy(),
            "value": rolling_metric(actual, pred, last, window=w, metric=metric),
            "naive_value": rolling_metric(actual, last, last, window=w, metric=metric),
            "skill": skill,
        }
    )
    start = pd.Timestamp(sessions["target_date"].iloc[0]).date() if len(sessions) else None
    thresholds, note = _thresholds(checks, versions, rule, metric, start)
    alerts = tuple(
        (c["as_of"], float(c["latest_value"]))
        for c in reversed(checks)
        if c["drifted"] and c["latest_value"] is not None and c["metric"] == metric
    )
    changes = tuple(
        (p["as_of"] or p["decided_at"].date(), p["action"], f"{p['action']} v{p['to_version']}")
        for p in reversed(promotions)
        if p["action"] in ("promote", "rollback")
    )
    return TickerReport(
        ticker=ticker,
        slug=slug,
        sessions=sessions,
        labeled_rows=len(labeled),
        pending=pending,
        metric=metric,
        window=w,
        rolling=rolling,
        thresholds=thresholds,
        threshold_note=note,
        alerts=alerts,
        changes=changes,
        drift_checks=tuple(checks),
        promotions=tuple(promotions),
        versions=tuple(versions),
        summary=_summary(sessions) if len(sessions) else None,
        fingerprint=_fingerprint(labeled, checks, promotions, versions, rule),
    )


def _thresholds(
    checks: list[dict[str, Any]],
    versions: list[ModelVersionInfo],
    rule: DriftRule,
    metric: str,
    start: dt.date | None,
) -> tuple[tuple[tuple[dt.date, float], ...], str]:
    """Threshold steps from the drift checks (the first one drawn from the first session)."""
    steps = [
        (c["as_of"], float(c["threshold"]))
        for c in reversed(checks)
        if c["threshold"] is not None and c["metric"] == metric
    ]
    if steps and start is not None and start < steps[0][0]:
        steps[0] = (start, steps[0][1])
    if steps:
        latest = next(c for c in checks if c["threshold"] is not None and c["metric"] == metric)
        return tuple(steps), (
            f"threshold {latest['threshold']:.4g} = {latest['threshold_multiplier']:g} x baseline "
            f"{latest['baseline']:.4g} ({latest['baseline_source']}), drift check of {latest['as_of']}"
        )
    champion = next((v for v in versions if "champion" in v.aliases), None)
    baseline = champion.tags.get("walk_forward_rmse") if champion else None
    if metric == "rmse" and champion is not None and baseline and start is not None:
        value = rule.threshold_multiplier * float(baseline)
        return ((start, value),), (
            f"threshold {value:.4g} = {rule.threshold_multiplier:g} x champion v{champion.version} "
            f"walk-forward RMSE {float(baseline):.4g} (no drift check yet)"
        )
    return (), f"no threshold: no drift check of {metric} and no champion baseline yet"


def _summary(sessions: pd.DataFrame) -> Summary:
    actual, pred = sessions["actual"], sessions["prediction"]
    model, naive = rmse(actual, pred), rmse(actual, sessions["naive"])
    dates = pd.to_datetime(sessions["target_date"])
    return Summary(
        sessions=len(sessions),
        first=dates.iloc[0].date(),
        last=dates.iloc[-1].date(),
        rmse=model,
        naive_rmse=naive,
        skill=1.0 - model / naive if naive > 0 else None,
        mae=mae(actual, pred),
        coverage=coverage(actual, sessions["lower"], sessions["upper"]),
    )


def _fingerprint(
    labeled: pd.DataFrame,
    checks: list[dict[str, Any]],
    promotions: list[dict[str, Any]],
    versions: list[ModelVersionInfo],
    rule: DriftRule,
) -> str:
    """Changes whenever a chart would: labels, checks, promotions, versions or the rule."""
    rows = (
        int(pd.util.hash_pandas_object(labeled[["id", "actual"]], index=False).sum())
        if len(labeled)
        else 0
    )
    payload = [
        len(labeled),
        rows,
        [c["id"] for c in checks],
        [p["id"] for p in promotions],
        [(v.version, v.aliases, sorted(v.tags.items())) for v in versions],
        asdict(rule),
    ]
    return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- HTML

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
        cls = ' class="drift"' if latest["drifted"] else ""
        items.append(
            (
                "latest drift check",
                f"<span{cls}>{_e(latest['decision'])}</span> ({_e(latest['as_of'])})",
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
            _e(p["as_of"] or p["decided_at"].date()),
            _e(p["action"]),
            f"v{_e(p['from_version'] or '-')} &rarr; v{_e(p['to_version'] or '-')}",
            _e(p["triggered_by"]),
            _num(p["champion_rmse"]),
            _num(p["challenger_rmse"]),
            _num(p["naive_rmse"]),
            _e(p["reason"]),
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
            _e(c["as_of"]),
            f'<span class="drift">{_e(c["decision"])}</span>'
            if c["drifted"]
            else _e(c["decision"]),
            _e(c["metric"]),
            _num(c["latest_value"]),
            _num(c["threshold"]),
            _e(c["breach_streak"]),
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


def write_report(
    report: Report, out_dir: Path, *, progress: Callable[[str], None] | None = None
) -> Path:
    """Write `index.html` and `<slug>-<chart>.png` for every ticker with labeled predictions.

    Args:
        report: From `build_report`.
        out_dir: Folder to write into (created if missing; existing files are replaced).
        progress: Called with a short message before each chart.

    Returns:
        The path of index.html.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for t in report.tickers:
        if not t.has_data:
            continue
        for name in CHARTS:
            if progress is not None:
                progress(f"{t.ticker}: {name} chart")
            (out_dir / f"{t.slug}-{name}.png").write_bytes(render_chart(t, name))
    slugs = {t.ticker: t.slug for t in report.tickers}
    index = out_dir / "index.html"
    index.write_text(
        render_html(report, image_src=lambda ticker, chart: f"{slugs[ticker]}-{chart}.png"),
        encoding="utf-8",
    )
    return index
