"""The study page's links down to each cell: one page per cell drawn from its trace
(`<study>/cells/<ticker slug>/<policy hash>/replay.html`), and the heatmap as an HTML table
whose every cell links to its page.

Pages are written from the traces on disk, so a study page rebuilt later (every cell read back
from a previous run) links the same pages; a cell without a trace (it failed, or finished
before traces were kept) is shown without a link.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from stocky.pipelines.study import CellResult, result_folder
from stocky.pipelines.study_trace import DECISIONS_FILE, TRACE_FILE, read_trace
from stocky.report.study_svg import HeatCell, heat_colours

__all__ = ["CELL_PAGE", "HeatCell", "HeatTable", "heat_rows", "write_cell_pages"]

CELL_PAGE = "replay.html"


def write_cell_pages(cells: Sequence[CellResult], root: Path) -> dict[tuple[str, str], str]:
    """Write the page of every finished cell that has a trace.

    Args:
        cells: The study's cells (failed ones are skipped).
        root: The study folder (the study page's folder).

    Returns:
        (ticker, policy) -> the page's URL relative to `root` (cells with a page only).

    Raises:
        BadInput: A cell's trace is damaged.
    """
    from stocky.report.cell_page import render_cell_page

    links: dict[tuple[str, str], str] = {}
    for cell in cells:
        if cell.error is not None:
            continue
        folder = result_folder(root, cell.ticker, cell.policy, cell.retrain_mode)
        trace = read_trace(folder)
        if trace is None:
            continue
        page = folder / CELL_PAGE
        html = render_cell_page(
            ticker=cell.ticker,
            policy=cell.policy,
            retrain_mode=cell.retrain_mode,
            headline=cell.__dict__,
            frame=trace.frame,
            decisions=trace.decisions,
            drift=trace.drift,
            alerts=trace.alerts,
            study_href=os.path.relpath(root / "study.html", folder).replace(os.sep, "/"),
            files=[(TRACE_FILE, TRACE_FILE), (DECISIONS_FILE, DECISIONS_FILE)],
        )
        tmp = page.with_name(f".{CELL_PAGE}.{os.getpid()}.tmp")
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, page)
        links[(cell.ticker, cell.policy)] = page.relative_to(root).as_posix()
    return links


@dataclass(frozen=True)
class HeatTable:
    """The heatmap: its columns (policies), rows (ticker, cells) and colour scale (+-bound %)."""

    policies: list[str]
    rows: list[tuple[str, list[HeatCell]]]
    bound: float


def heat_rows(frame: pd.DataFrame, links: dict[tuple[str, str], str]) -> HeatTable:
    """The heatmap as table rows: one per ticker, one column per policy.

    The colour scale is a red-white-blue diverging one (`report.colours`), symmetric around
    0, at least +-0.5%; each label is black or white, whichever contrasts more with its cell.

    Args:
        frame: The finished cells (ticker, policy, skill).
        links: (ticker, policy) -> the cell's page.

    Returns:
        The policies, one row of cells per ticker, and the scale's bound.
    """
    policies = list(dict.fromkeys(frame["policy"]))
    tickers = list(dict.fromkeys(frame["ticker"]))
    skill = {(r.ticker, r.policy): r.skill for r in frame.itertuples()}
    finite = [abs(v) * 100 for v in skill.values() if _finite(v)]
    bound = max([0.5, *finite])
    rows = []
    for ticker in tickers:
        cells = []
        for policy in policies:
            value = skill.get((ticker, policy))
            href = links.get((ticker, policy))
            if value is None or not _finite(value):
                text = "-" if (ticker, policy) in skill else ""
                cells.append(HeatCell(text, "#ffffff", "#000", href, f"{ticker}, {policy}"))
                continue
            pct = float(value) * 100
            background, colour = heat_colours(pct, bound)
            title = f"{ticker}, {policy}: skill {pct:+.2f}% vs naive"
            cells.append(HeatCell(f"{pct:+.2f}%", background, colour, href, title))
        rows.append((ticker, cells))
    return HeatTable(policies, rows, bound)


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, float | int) and math.isfinite(value)
