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

__all__ = ["CELL_PAGE", "HeatCell", "contrast_text", "heat_rows", "write_cell_pages"]

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


def _luminance(rgb: Sequence[float]) -> float:
    """WCAG relative luminance of an sRGB colour with channels in [0, 1]."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb[:3]]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_text(rgb: Sequence[float]) -> str:
    """ "#000" or "#fff", whichever contrasts more with the background `rgb` (WCAG ratio)."""
    lum = _luminance(rgb)
    return "#000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#fff"


@dataclass(frozen=True)
class HeatCell:
    """One heatmap cell: its label, colours and link (None: no page, or no skill)."""

    text: str
    background: str
    colour: str
    href: str | None
    title: str


def heat_rows(
    frame: pd.DataFrame, links: dict[tuple[str, str], str]
) -> tuple[list[str], list[tuple[str, list[HeatCell]]]]:
    """The heatmap as table rows: one per ticker, one column per policy.

    The colour scale is the PNG heatmap's (RdBu, symmetric around 0, at least +-0.5%); each
    label is black or white, whichever contrasts more with its cell.

    Args:
        frame: The finished cells (ticker, policy, skill).
        links: (ticker, policy) -> the cell's page.

    Returns:
        (policies, [(ticker, cells)]).
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    policies = list(dict.fromkeys(frame["policy"]))
    tickers = list(dict.fromkeys(frame["ticker"]))
    skill = {(r.ticker, r.policy): r.skill for r in frame.itertuples()}
    finite = [abs(v) * 100 for v in skill.values() if _finite(v)]
    bound = max([0.5, *finite])
    cmap = colormaps["RdBu"]
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
            rgba = cmap((pct + bound) / (2 * bound))
            cells.append(
                HeatCell(
                    f"{pct:+.2f}%",
                    to_hex(rgba),
                    contrast_text(rgba),
                    href,
                    f"{ticker}, {policy}: skill {pct:+.2f}% vs naive",
                )
            )
        rows.append((ticker, cells))
    return policies, rows


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, float | int) and math.isfinite(value)
