"""The policy study's outputs: a cell table and a policy table (CSV and Parquet), and one
HTML page (Jinja2, autoescaped) with a heatmap of skill by policy and ticker and the policy
frontier of accuracy against retrains; every heatmap cell and cell-table row links to the
cell's drill-down page (`pipelines.study_pages`). Both charts are also standalone SVG files
(`heatmap.svg`, `frontier.svg`), drawn without a plotting library (`report.study_svg`)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from markupsafe import Markup

from stocky.pipelines.study import CellResult, result_rows
from stocky.pipelines.study_pages import heat_rows, write_cell_pages
from stocky.report.study_svg import CHART_CSS, frontier_svg, heatmap_svg, standalone

if TYPE_CHECKING:
    from stocky.pipelines.replay import ReplaySummary

__all__ = ["StudyFiles", "policy_table", "write_replays_page", "write_study"]

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stocky policy study</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}
table{border-collapse:collapse;font-size:.9rem}td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}.bad{color:#b00}figure{margin:0}
table.heat td[data-cell]{text-align:center;font-variant-numeric:tabular-nums}table.heat a{text-decoration:none;display:block}
{{ chart_css }}
</style></head><body>
<h1>Policy study: {{ start }} .. {{ end }}</h1>
<p>{{ n_tickers }} ticker(s) x {{ n_policies }} polic{{ "y" if n_policies == 1 else "ies" }};
skill is 1 - RMSE / naive RMSE over the replayed forecasts (positive beats the random walk).
{% if failed %}<span class="bad">{{ failed }} cell(s) failed (see cells.csv).</span>{% endif %}</p>
<h2>Policies</h2>
<table><tr>{% for c in policy_columns %}<th title="{{ explain.get(c, '') }}">{{ c }}</th>{% endfor %}</tr>
{% for row in policies %}<tr>{% for c in policy_columns %}<td>{{ row[c] }}</td>{% endfor %}</tr>
{% endfor %}</table>
<details><summary>What the columns mean</summary><dl>
{% for c in policy_columns %}{% if c in explain %}<dt>{{ c }}</dt><dd>{{ explain[c] }}</dd>{% endif %}{% endfor %}
</dl></details>
<h2>Skill by policy and ticker</h2>
<p>Skill vs naive in percent (red: worse than the random walk, blue: better). Click a cell for its replay: forecasts vs actuals with the band, the decisions on a time line, skill over time.</p>
<table class="heat"><tr><th>ticker</th>{% for p in heat_policies %}<th>{{ p }}</th>{% endfor %}</tr>
{% for ticker, row in heat_rows %}<tr><td>{{ ticker }}</td>{% for c in row %}<td data-cell="heat" title="{{ c.title }}" style="background:{{ c.background }};color:{{ c.colour }}">{% if c.href %}<a href="{{ c.href }}" style="color:{{ c.colour }}">{{ c.text }}</a>{% else %}{{ c.text }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</table>
<h2>Frontier: accuracy against retrains</h2>
<figure id="frontier">{{ frontier }}<figcaption>Mean skill vs naive against retrains per ticker, one point per policy: up is more accurate, left is cheaper.</figcaption></figure>
<h2>Cells</h2>
<table class="cells"><tr>{% for c in cell_columns %}<th title="{{ explain_cells.get(c, '') }}">{{ c }}</th>{% endfor %}</tr>
{% for row in cells %}<tr data-cell="row"{% if row.link %} data-href="{{ row.link }}"{% endif %}>{% for c in cell_columns %}<td>{% if c == "ticker" and row.link %}<a href="{{ row.link }}">{{ row[c] }}</a>{% else %}{{ row[c] }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</table>
<p>Files: <a href="cells.csv">cells.csv</a>, <a href="policies.csv">policies.csv</a> (and .parquet), <a href="heatmap.svg">heatmap.svg</a>, <a href="frontier.svg">frontier.svg</a>; each cell's trace (<code>trace.csv.gz</code>, <code>decisions.json</code>) sits next to its page.</p>
</body></html>
"""


#: What each policy-table column means (the page's legend and header tooltips).
EXPLAIN = {
    "policy": "The grid point: its keys and values (every combination of --grid is one).",
    "retrain_mode": "When a retrain is considered: on-drift, monthly, never or always.",
    "tickers": "Cells of this policy that finished.",
    "skill_mean": "Mean over tickers of 1 - RMSE / naive RMSE: positive beats the random walk.",
    "skill_median": "Median over tickers of the skill.",
    "rmse_mean": "Mean over tickers of the RMSE of the replayed forecasts (price units).",
    "naive_rmse_mean": "Mean over tickers of the random walk's RMSE over the same sessions.",
    "drift_alerts": "Drift checks that fired (the detector in charge asked for a retrain).",
    "retrains": "Retrain decisions taken (promoted or rejected), all tickers together.",
    "retrains_per_ticker": "Retrains per ticker over the period.",
    "promotions": "Retrains whose challenger became the champion.",
    "rollbacks": "Champions rolled back to their previous version.",
    "compute_seconds": "Seconds the cells of this policy took to replay.",
    "failed": "Cells of this policy that failed (see cells.csv for the error).",
}
_PERCENT = ("skill_mean", "skill_median")
#: The cell table's columns and what they mean.
_CELL_COLUMNS = {
    "ticker": "The cell's ticker: click it for the cell's replay.",
    "policy": "The cell's policy.",
    "skill": "1 - RMSE / naive RMSE over the cell's replayed forecasts.",
    "RMSE": "RMSE of the replayed one-step forecasts (price units).",
    "naive RMSE": "The random walk's RMSE over the same sessions.",
    "labeled": "Replayed forecasts whose actual close is known (the rows scored).",
    "retrains": "Retrain decisions taken (promoted or rejected).",
    "promotions": "Retrains whose challenger became the champion.",
    "drift alerts": "Drift checks that asked for a retrain.",
    "error": "Why the cell failed (empty: it finished).",
}


def _cell_row(cell: CellResult, link: str | None) -> dict[str, Any]:
    return {
        "ticker": cell.ticker,
        "policy": cell.policy,
        "skill": _pct(cell.skill),
        "RMSE": _fmt(cell.rmse),
        "naive RMSE": _fmt(cell.naive_rmse),
        "labeled": cell.labeled,
        "retrains": cell.retrains,
        "promotions": cell.promotions,
        "drift alerts": cell.drift_alerts,
        "error": cell.error or "",
        "link": link,
    }


@dataclass(frozen=True)
class StudyFiles:
    """Where the study's outputs were written."""

    cells_csv: Path
    policies_csv: Path
    html: Path


def policy_table(cells: Sequence[CellResult]) -> pd.DataFrame:
    """One row per policy, aggregated over its tickers (failed cells counted, not averaged)."""
    frame = pd.DataFrame(result_rows(cells))
    ok = frame[frame["error"].isna()]
    grouped = ok.groupby("policy", sort=False)
    table = pd.DataFrame(
        {
            "retrain_mode": grouped["retrain_mode"].first(),
            "tickers": grouped.size(),
            "skill_mean": grouped["skill"].mean(),
            "skill_median": grouped["skill"].median(),
            "rmse_mean": grouped["rmse"].mean(),
            "naive_rmse_mean": grouped["naive_rmse"].mean(),
            "drift_alerts": grouped["drift_alerts"].sum(),
            "retrains": grouped["retrains"].sum(),
            "retrains_per_ticker": grouped["retrains"].mean(),
            "promotions": grouped["promotions"].sum(),
            "rollbacks": grouped["rollbacks"].sum(),
            "compute_seconds": grouped["compute_seconds"].sum(),
        }
    )
    order = list(dict.fromkeys(frame["policy"]))
    table = table.reindex([p for p in order if p in table.index])
    failed = frame[frame["error"].notna()].groupby("policy").size()
    table["failed"] = failed.reindex(table.index).fillna(0).astype(int)
    return table.reset_index()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_study(cells: Sequence[CellResult], folder: Path, *, start: str, end: str) -> StudyFiles:
    """Write cells.csv/.parquet, policies.csv/.parquet, heatmap.svg, frontier.svg, study.html.

    Args:
        cells: Every cell's result (failed ones included).
        folder: The study folder.
        start: First session, for the title.
        end: Last session, for the title.

    Returns:
        The paths of the main files.
    """
    from jinja2 import Environment

    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(result_rows(cells))
    policies = policy_table(cells)
    frame.to_csv(folder / "cells.csv", index=False)
    frame.to_parquet(folder / "cells.parquet", index=False)
    policies.to_csv(folder / "policies.csv", index=False)
    policies.to_parquet(folder / "policies.parquet", index=False)
    ok = frame[frame["error"].isna()]
    links = write_cell_pages(cells, folder)
    heat = heat_rows(ok, links)
    title = f"Skill vs naive by ticker and policy, {start} .. {end}"
    heatmap = heatmap_svg(heat.policies, heat.rows, bound=heat.bound, title=title)
    points = policies[["policy", "retrains_per_ticker", "skill_mean"]].itertuples(index=False)
    frontier = frontier_svg([tuple(p) for p in points], title=f"Policy frontier, {start} .. {end}")
    _atomic(folder / "heatmap.svg", standalone(heatmap).encode())
    _atomic(folder / "frontier.svg", standalone(frontier).encode())
    for old in ("heatmap.png", "frontier.png"):  # earlier versions' charts would disagree
        (folder / old).unlink(missing_ok=True)
    env = Environment(autoescape=True)
    html = env.from_string(_TEMPLATE).render(
        start=start,
        end=end,
        n_tickers=frame["ticker"].nunique(),
        n_policies=frame["policy"].nunique(),
        failed=int(frame["error"].notna().sum()),
        policy_columns=list(policies.columns),
        policies=[
            {k: _pct(v) if k in _PERCENT else _fmt(v) for k, v in row.items()}
            for row in policies.to_dict("records")
        ],
        explain=EXPLAIN,
        heat_policies=heat.policies,
        heat_rows=heat.rows,
        frontier=frontier,
        chart_css=Markup(CHART_CSS),  # noqa: S704 (a constant)
        cell_columns=list(_CELL_COLUMNS),
        explain_cells=_CELL_COLUMNS,
        cells=[_cell_row(c, links.get((c.ticker, c.policy))) for c in cells],
    )
    _atomic(folder / "study.html", html.encode())
    return StudyFiles(folder / "cells.csv", folder / "policies.csv", folder / "study.html")


_REPLAYS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stocky replays</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}
table{border-collapse:collapse;font-size:.9rem}td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}dt{font-weight:600}
</style></head><body>
<h1>Replays: {{ n }} ticker(s), retrain {{ mode }}</h1>
<table><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for c in columns %}<td>{% if c == "ticker" and row.link %}<a href="{{ row.link }}">{{ row[c] }}</a>{% else %}{{ row[c] }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</table>
<dl>
<dt>RMSE, naive RMSE</dt><dd>Root mean squared error of the replayed one-step forecasts, and of the random walk (tomorrow = today) over the same sessions.</dd>
<dt>skill</dt><dd>1 - RMSE / naive RMSE: positive beats the random walk.</dd>
<dt>retrains, promoted</dt><dd>Retrain decisions taken, and how many promoted the challenger.</dd>
</dl>
</body></html>
"""


def write_replays_page(
    path: Path,
    *,
    summaries: Sequence[ReplaySummary],
    retrain_mode: str,
    reports: dict[str, Path],
) -> Path:
    """One HTML page of several replays' summaries, each ticker linked to its own report.

    Args:
        path: The page to write.
        summaries: The finished replays, in page order.
        retrain_mode: The retrain mode they ran under.
        reports: Ticker -> its replay's report page, when kept.

    Returns:
        `path`.
    """
    from jinja2 import Environment

    rows = []
    for s in summaries:
        link = reports.get(s.ticker)
        rows.append(
            {
                "ticker": s.ticker,
                "link": os.path.relpath(link, path.parent) if link else None,
                "sessions": s.sessions,
                "RMSE": _fmt(s.rmse),
                "naive RMSE": _fmt(s.naive_rmse),
                "skill": _pct(s.skill),
                "drift alerts": s.drift_alerts,
                "retrains": s.retrains,
                "promoted": s.promotions,
                "champion": f"v{s.initial_version} -> v{s.final_version}",
            }
        )
    columns = [c for c in (rows[0] if rows else {}) if c != "link"]
    html = (
        Environment(autoescape=True)
        .from_string(_REPLAYS)
        .render(n=len(rows), mode=retrain_mode, rows=rows, columns=columns)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic(path, html.encode())
    return path


def _pct(value: Any) -> str:
    """A share as a signed percent ("+0.42%"), "-" when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{float(value):+.2%}"
