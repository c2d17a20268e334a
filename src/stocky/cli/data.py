"""`stocky data`: list the available prices and pull them into the database."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from stocky.adapters.prices import BundledSource
from stocky.cli._common import console_err, handle_errors, open_stack
from stocky.core.tickers import normalize_tickers
from stocky.errors import BadInput, StockyError
from stocky.pipelines.data import pull_prices

if TYPE_CHECKING:
    from stocky.wiring import Stack

__all__ = ["app", "list_prices", "pull"]

app = typer.Typer(
    help="Price data: list what is available and pull it into the database.",
    no_args_is_help=True,
)


@app.command("list")
@handle_errors
def list_prices() -> None:
    """Show bundled tickers and the prices stored in the database, with date ranges."""
    with open_stack() as stack:
        held_prices = stack.prices.summary()
    table = Table(title="Prices")
    for column in ("Ticker", "Where", "First", "Last", "Rows", "Source"):
        table.add_column(column, justify="right" if column == "Rows" else "left")
    for ticker, first, last, rows in BundledSource().describe():
        table.add_row(ticker, "bundled", str(first), str(last), str(rows), "bundled")
    for held in held_prices:
        table.add_row(
            held.ticker, "database", str(held.first), str(held.last), str(held.rows), held.source
        )
    Console().print(table)


@app.command("pull")
@handle_errors
def pull(
    ticker: Annotated[
        list[str] | None,
        typer.Option(
            "--ticker",
            "-t",
            help="Ticker to pull, e.g. ^GSPC; repeat for several. Default: STOCKY_DEFAULT_TICKER.",
        ),
    ] = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all", help="Pull every ticker the price source lists and every ticker stored."
        ),
    ] = False,
    end: Annotated[
        dt.datetime | None,
        typer.Option(
            "--end",
            formats=["%Y-%m-%d"],
            help="Last session to pull (inclusive), YYYY-MM-DD. Default: the latest available.",
        ),
    ] = None,
) -> None:
    """Pull missing prices into the database and print how many rows were added."""
    with open_stack() as stack:
        exit_code = _pull(stack, ticker=ticker, all_=all_, end=end)
    if exit_code:
        raise typer.Exit(code=exit_code)


def _pull(stack: Stack, *, ticker: list[str] | None, all_: bool, end: dt.datetime | None) -> int:
    settings = stack.settings
    source, repo = stack.source, stack.prices
    wanted = normalize_tickers(ticker or [])
    if all_:
        wanted += source.tickers() + [held.ticker for held in repo.summary()]
    if not wanted and not all_:
        wanted = [settings.default_ticker]
    if not wanted:
        raise BadInput(
            "--all found no tickers: the price source cannot list any and the database is "
            "empty; name them with --ticker"
        )
    end_date = end.date() if end else None
    exit_code = 0
    for name in dict.fromkeys(wanted):
        try:
            result = pull_prices(
                source=source, repo=repo, ticker=name, end=end_date, now=dt.datetime.now(dt.UTC)
            )
        except StockyError as exc:
            console_err(f"error: {name}: {exc}")
            exit_code = max(exit_code, exc.exit_code)
            continue
        if result.rows_added:
            typer.echo(
                f"{result.ticker}: {result.rows_added} rows added from {result.source_name} "
                f"({result.first} .. {result.last})"
            )
        else:
            typer.echo(
                f"{result.ticker}: 0 rows added, stored through {repo.last_date(result.ticker)}"
            )
    return exit_code
