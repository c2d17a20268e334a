"""`stocky data`: list the available prices and pull them into the database."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from stocky.cli._common import console_err, handle_errors, open_stack
from stocky.errors import BadInput

if TYPE_CHECKING:
    from stocky.pipelines.data import PullReport
    from stocky.wiring import Stack

__all__ = ["app", "list_prices", "pull"]

_DETAIL_LIMIT = 20
"""Up to this many tickers get a line each; more get one summary line (errors always print)."""

app = typer.Typer(
    help="Price data: list what is available and pull it into the database.",
    no_args_is_help=True,
)


@app.command("list")
@handle_errors
def list_prices() -> None:
    """Show the price source's tickers and the prices stored in the database, with date ranges."""
    from stocky.adapters.prices import AutoSource, BundledSource, rejected_by

    with open_stack() as stack:
        source = stack.source
        held_prices = stack.prices.summary()
        rejected = {} if isinstance(source, AutoSource) else rejected_by(source)
    table = Table(title="Prices")
    for column in ("Ticker", "Where", "First", "Last", "Rows", "Source"):
        table.add_column(column, justify="right" if column == "Rows" else "left")
    if isinstance(source, AutoSource):  # listing must not probe the network: show the fallback
        source = BundledSource()
    describe = getattr(source, "describe", None)
    if describe is not None:
        for ticker, first, last, rows in describe():
            table.add_row(ticker, source.name, str(first), str(last), str(rows), source.name)
    else:
        for ticker in source.tickers():
            table.add_row(ticker, source.name, "-", "-", "-", source.name)
    for held in held_prices:
        table.add_row(
            held.ticker, "database", str(held.first), str(held.last), str(held.rows), held.source
        )
    Console().print(table)
    for exc in rejected.values():
        console_err(f"error: {exc}")
    if rejected:
        raise typer.Exit(code=max(exc.exit_code for exc in rejected.values()))


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
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help=(
                "Replace each ticker's stored prices with the source's full history (one "
                "transaction; the old rows stay if the new ones fail validation)."
            ),
        ),
    ] = False,
) -> None:
    """Pull missing prices into the database (validated, set-based) and print what was added."""
    with open_stack() as stack:
        report = _pull(stack, ticker=ticker, all_=all_, end=end, replace=replace)
    _print_report(report)
    if report.failures:
        raise typer.Exit(code=max(exc.exit_code for exc in report.failures.values()))


def _pull(
    stack: Stack, *, ticker: list[str] | None, all_: bool, end: dt.datetime | None, replace: bool
) -> PullReport:
    from stocky.adapters.prices import rejected_by
    from stocky.core.tickers import normalize_tickers
    from stocky.pipelines.data import pull_many

    settings, source, repo = stack.settings, stack.source, stack.prices
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
    report = pull_many(
        source=source,
        repo=repo,
        tickers=wanted,
        end=end.date() if end else None,
        now=dt.datetime.now(dt.UTC),
        replace=replace,
    )
    if all_:  # rows of the file that belong to no ticker fail on their own
        report.failures.update(rejected_by(source))
    return report


def _print_report(report: PullReport) -> None:
    for name, exc in report.failures.items():
        console_err(f"error: {name}: {exc}")
    results = report.results
    if len(results) > _DETAIL_LIMIT:
        added = sum(r.rows_added for r in results)
        fresh = sum(1 for r in results if r.rows_added)
        verb = "stored (replaced)" if any(r.replaced for r in results) else "added"
        typer.echo(
            f"{len(results)} tickers: {added} rows {verb} for {fresh}, "
            f"{len(results) - fresh} already up to date; {len(report.failures)} failed"
        )
        return
    for r in results:
        if r.replaced:
            typer.echo(
                f"{r.ticker}: stored prices replaced by {r.rows_added} rows from "
                f"{r.source_name} ({r.first} .. {r.last})"
            )
        elif r.rows_added:
            typer.echo(
                f"{r.ticker}: {r.rows_added} rows added from {r.source_name} "
                f"({r.first} .. {r.last})"
            )
        else:
            typer.echo(f"{r.ticker}: 0 rows added, stored through {r.through}")
