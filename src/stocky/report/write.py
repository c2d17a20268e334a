"""Write the report to a folder: `index.html` and one PNG per chart beside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stocky.report.charts import CHARTS
from stocky.report.figures import render_chart
from stocky.report.html import render_html
from stocky.report.model import Report

__all__ = ["write_report"]


def write_report(
    report: Report, out_dir: Path, *, progress: Callable[[str], None] | None = None
) -> Path:
    """Write `index.html` and `<slug>-<chart>.png` for every ticker with labeled predictions.

    Args:
        report: From `stocky.report.build.build_report`.
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
