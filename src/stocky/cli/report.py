"""`stocky report`: write the monitoring page (HTML + PNG charts) to a folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from stocky.cli._common import handle_errors, open_stack
from stocky.core.tickers import normalize_tickers
from stocky.errors import BadInput

if TYPE_CHECKING:
    from stocky.wiring import Stack

__all__ = ["report"]


def _leaderboard_page(
    stack: Stack, *, tickers: list[str], now: datetime, slugs: dict[str, str]
) -> str | None:
    """The leaderboard page of the reported tickers (every candidate vs naive), or None when
    the stack keeps no leaderboard."""
    from stocky.pipelines.leaderboard_view import fleet_summary, load_boards
    from stocky.report.leaderboard import render_leaderboard
    from stocky.report.write import TICKER_FOLDER

    if stack.leaderboard is None:
        return None
    boards = load_boards(stack.leaderboard, tickers)
    rows = [r for b in boards for r in b.rows if r.stage == "test"]
    return render_leaderboard(
        boards,
        summary=fleet_summary(rows),
        generated_at=now,
        overview_href="index.html",
        total=len(boards),
        ticker_href=lambda t: f"{TICKER_FOLDER}/{slugs[t]}.html" if t in slugs else None,
    )


@handle_errors
def report(
    ticker: Annotated[
        list[str] | None,
        typer.Option(
            "--ticker", "-t", help="Ticker to report (repeatable). Default: every known ticker."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for index.html (the overview), t/<ticker>.html and charts "
            "(default <STOCKY_HOME>/report, where `stocky daily` writes it).",
        ),
    ] = None,
) -> None:
    """Write the fleet overview and a page per ticker with its charts (HTML + PNG)."""
    from stocky.pipelines.fleet_view import report_for_stack
    from stocky.report.build import known_tickers
    from stocky.report.write import write_report

    with open_stack() as stack:
        known = known_tickers(predictions=stack.predictions, registry=stack.registry)
        tickers = normalize_tickers(ticker) if ticker else known
        unknown = [t for t in tickers if t not in known]
        if unknown:
            raise BadInput(
                f"no model and no predictions for {', '.join(unknown)}: "
                f"use one of {', '.join(known) or 'none yet (run `stocky train`)'}"
            )
        now = datetime.now(UTC)
        result = report_for_stack(stack, tickers=tickers, now=now)
        folder = out if out is not None else stack.settings.home / "report"
        slugs = {t.ticker: t.slug for t in result.tickers}
        board = _leaderboard_page(stack, tickers=tickers, now=now, slugs=slugs)
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("writing the report", total=None)
        index = write_report(
            result,
            folder,
            progress=lambda message: bar.update(task, description=message),
            leaderboard_page=board,
        )
    for part in result.tickers:
        if not part.has_data:
            console.print(
                f"{part.ticker}: no labeled predictions yet (run `stocky actuals`); "
                "the page shows its model versions only"
            )
    typer.echo(str(index))
