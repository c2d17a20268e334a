"""Write the report to a folder: the overview, one page per ticker and its PNG charts.

    out/index.html              the fleet overview (problems first), linking every ticker page
    out/t/<slug>.html           one ticker's page
    out/t/<slug>-<chart>.png    its charts (drawn again only when the data behind them changed)
    out/leaderboard.html        every candidate vs naive (when given), linked from the overview
    out/t/<slug>-training.png   its champion's training chart (copied from the training run)

A chart is redrawn only when its ticker's data fingerprint differs from the one recorded in
`t/charts.json` by the previous run (or the PNG is missing), so writing the report of a large
fleet again after a day costs the tickers whose data changed, not every chart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from stocky import __version__
from stocky.report.charts import CHARTS
from stocky.report.figures import render_chart
from stocky.report.html import render_overview, render_ticker
from stocky.report.model import Report

__all__ = ["LEADERBOARD_FILE", "TICKER_FOLDER", "write_report"]

TICKER_FOLDER = "t"
#: The leaderboard page beside index.html.
LEADERBOARD_FILE = "leaderboard.html"
_MANIFEST = "charts.json"


def _manifest(folder: Path) -> dict[str, str]:
    path = folder / _MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # an unreadable record only costs a redraw of every chart
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _png_names(slug: str) -> Callable[[str, str], str]:
    return lambda _ticker, chart: f"{slug}-{chart}.png"


def _training_chart(
    report: Report, run_id: str | None, folder: Path, slug: str, drawn: dict[str, str]
) -> str | None:
    """Copy the champion's training chart beside the page (once per run); its file name."""
    if run_id is None or report.training_chart is None:
        return None
    png = folder / f"{slug}-training.png"
    if drawn.get(png.name) != f"run:{run_id}" or not png.exists():
        data = report.training_chart(run_id)
        if data is None:
            return None
        png.write_bytes(data)
        drawn[png.name] = f"run:{run_id}"
    return png.name


def write_report(
    report: Report,
    out_dir: Path,
    *,
    progress: Callable[[str], None] | None = None,
    leaderboard_page: str | None = None,
) -> Path:
    """Write `index.html`, `t/<slug>.html` per ticker and the charts of tickers with labels.

    Args:
        report: From `stocky.report.build.build_report` (with its overview rows from
            `stocky.pipelines.fleet_view.with_overview`).
        out_dir: Folder to write into (created if missing; existing files are replaced).
        progress: Called with a short message before each chart drawn.
        leaderboard_page: The leaderboard page's HTML: written as `leaderboard.html` and
            linked from the overview.

    Returns:
        The path of index.html.
    """
    folder = out_dir / TICKER_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    drawn = _manifest(folder)
    for t in report.tickers:
        if t.has_data:
            # the drawing code's version too: an upgrade redraws every chart
            stamp = f"{__version__}:{t.fingerprint}"
            for name in CHARTS:
                png = folder / f"{t.slug}-{name}.png"
                if drawn.get(png.name) == stamp and png.exists():
                    continue
                if progress is not None:
                    progress(f"{t.ticker}: {name} chart")
                png.write_bytes(render_chart(t, name))
                drawn[png.name] = stamp
        training = _training_chart(report, t.training_run, folder, t.slug, drawn)
        page = render_ticker(
            t,
            rule=report.rule,
            generated_at=report.generated_at,
            image_src=_png_names(t.slug),
            overview_href="../index.html",
            detector=report.detector,
            training_src=training,
            overview_window=report.overview_window or None,
        )
        (folder / f"{t.slug}.html").write_text(page, encoding="utf-8")
    (folder / _MANIFEST).write_text(json.dumps(drawn, sort_keys=True), encoding="utf-8")
    slugs = {t.ticker: t.slug for t in report.tickers}
    if leaderboard_page is not None:
        (out_dir / LEADERBOARD_FILE).write_text(leaderboard_page, encoding="utf-8")
    index = out_dir / "index.html"
    index.write_text(
        render_overview(
            report.overview,
            generated_at=report.generated_at,
            window=report.overview_window,
            href=lambda ticker: (
                f"{TICKER_FOLDER}/{slugs[ticker]}.html" if ticker in slugs else None
            ),
            leaderboard_href=LEADERBOARD_FILE if leaderboard_page is not None else None,
            history=report.history,
        ),
        encoding="utf-8",
    )
    return index
