"""`stocky leaderboard`: every candidate (family x interval method) vs naive, and why the
champion won; fleet-wide, the wins and the distribution of skill and interval score vs naive."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from stocky.cli._common import handle_errors, open_stack
from stocky.errors import BadInput

__all__ = ["CSV_COLUMNS", "leaderboard"]

#: The columns of `--format csv` (one line per candidate and stage).
CSV_COLUMNS = (
    "ticker", "version", "stage", "model_type", "label", "interval", "chosen", "rmse",
    "naive_rmse", "skill", "dm_pvalue", "interval_score", "naive_interval_score",
    "interval_skill", "crps", "coverage", "direction_accuracy", "trained_at", "reason",
)  # fmt: skip


def _num(value: float | None, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def _csv(boards: list[Any]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for board in boards:
        for row in board.to_dict()["candidates"]:
            values = row | {
                "ticker": board.ticker,
                "version": board.version,
                "trained_at": board.trained_at,
            }
            writer.writerow({k: "" if values[k] is None else values[k] for k in CSV_COLUMNS})
    return buf.getvalue()


def _ticker_table(board: Any) -> Table:
    table = Table(
        title=f"{board.ticker} v{board.version} (trained {board.trained_at}): every candidate "
        "vs naive; * = champion"
    )
    for col in (
        "stage", "family", "model", "interval", "RMSE", "naive RMSE", "skill", "DM p",
        "interval score", "naive IS", "CRPS", "coverage", "direction",
    ):  # fmt: skip
        table.add_column(col, justify="left" if col in ("stage", "family", "model") else "right")
    for r in board.rows:
        table.add_row(
            r.stage, ("* " if r.chosen else "") + r.model_type, r.label, r.interval,
            _num(r.rmse), _num(r.naive_rmse), _num(r.skill, "+.2%"), _num(r.dm_pvalue, ".2g"),
            _num(r.interval_score), _num(r.naive_interval_score), _num(r.crps),
            _num(r.coverage, ".1%"), _num(r.direction_accuracy, ".1%"),
        )  # fmt: skip
    return table


def _fleet_tables(summary: dict[str, Any], boards: list[Any]) -> list[Table]:
    from stocky.pipelines.leaderboard_view import interval_skill

    wins = Table(title=f"champions of {summary['tickers']} tickers: wins")
    wins.add_column("family or interval method")
    wins.add_column("wins", justify="right")
    for name, count in summary["family_wins"].items():
        wins.add_row(f"family {name}", str(count))
    for name, count in summary["interval_wins"].items():
        wins.add_row(f"interval {name}", str(count))
    dist = Table(title="champions on the test period vs naive (quantiles over tickers)")
    dist.add_column("metric")
    dist.add_column("beat naive", justify="right")
    for q in summary["skill"]["quantiles"]:
        dist.add_column(q, justify="right")
    for key, label in (("skill", "skill (RMSE)"), ("interval_skill", "interval skill")):
        d = summary[key]
        dist.add_row(
            label,
            f"{d['beat_naive']}/{d['tickers']}",
            *(_num(v, "+.2%") for v in d["quantiles"].values()),
        )
    per = Table(title="per ticker: the champion on the test period vs naive")
    for col in ("ticker", "version", "champion", "interval", "skill", "interval skill", "why"):
        per.add_column(col, overflow="fold")
    for board in boards:
        won = board.champion("test") or board.champion("validation")
        if won is None:
            continue
        per.add_row(
            board.ticker, str(board.version), won.label, won.interval, _num(won.skill, "+.2%"),
            _num(interval_skill(won), "+.2%"), board.reason,
        )  # fmt: skip
    return [wins, dist, per]


@handle_errors
def leaderboard(
    ticker: Annotated[
        str | None,
        typer.Option("--ticker", "-t", help="One ticker's candidates. Default: the whole fleet."),
    ] = None,
    output: Annotated[
        Literal["table", "csv", "json"],
        typer.Option(
            "--format", "-f", help="table (readable), csv (one line per candidate) or json."
        ),
    ] = "table",
) -> None:
    """Every candidate family x interval method vs naive, and why the champion won."""
    from stocky.core.tickers import normalize_ticker
    from stocky.pipelines.leaderboard_view import fleet_summary, load_boards

    with open_stack() as stack:
        store = stack.leaderboard
        if store is None:
            raise BadInput("this stack keeps no leaderboard: build it with build_stack")
        if ticker is not None:
            symbol = normalize_ticker(ticker)
            boards = load_boards(store, [symbol])
            if not boards:
                known = store.tickers()
                shown = ", ".join(known[:20]) or "none yet (run `stocky train`)"
                raise BadInput(f"{symbol} has no leaderboard: use one of {shown}")
            summary = None
        else:
            boards = load_boards(store)
            summary = fleet_summary([r for b in boards for r in b.rows if r.stage == "test"])
    if output == "json":
        payload: dict[str, Any] = {"tickers": [b.to_dict() for b in boards]}
        if summary is not None:
            payload = {"fleet": summary} | payload
        typer.echo(json.dumps(payload, indent=2, allow_nan=False))
    elif output == "csv":
        typer.echo(_csv(boards), nl=False)
    else:
        console = Console(width=200)
        if summary is None:
            console.print(_ticker_table(boards[0]))
            console.print(f"why: {boards[0].reason}")
        elif not boards:
            console.print("no leaderboard yet: run `stocky train`")
        else:
            for table in _fleet_tables(summary, boards):
                console.print(table)
