"""`stocky retrain` and `stocky rollback`. Retrain exits 0 promoted, 20 rejected, 1-6 failed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from stocky.cli._common import handle_errors, open_stack
from stocky.cli._dates import resolve_as_of

__all__ = ["REJECTED_EXIT_CODE", "retrain", "rollback"]

#: Exit code of a retrain whose challenger was rejected (errors use 1-6, drift 10).
REJECTED_EXIT_CODE = 20


@handle_errors
def retrain(
    ticker: Annotated[
        str | None, typer.Option("--ticker", "-t", help="Ticker (default STOCKY_DEFAULT_TICKER).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Promote even if the policy rejects (recorded as forced)."),
    ] = False,
    as_of: Annotated[
        str | None, typer.Option(help="Use data up to this session (default: the last closed one).")
    ] = None,
    order: Annotated[
        str | None, typer.Option(help="Challenger order 'p,d,q' or 'auto' (default STOCKY_ORDER).")
    ] = None,
    holdout: Annotated[
        int | None, typer.Option(help="Holdout sessions (default STOCKY_HOLDOUT_SIZE, 63).")
    ] = None,
    min_improvement: Annotated[
        float | None, typer.Option(help="Required relative RMSE gain over the champion.")
    ] = None,
    naive_tolerance: Annotated[
        float | None, typer.Option(help="Allowed relative RMSE excess over naive.")
    ] = None,
    dm_alpha: Annotated[
        float | None, typer.Option(help="Require a Diebold-Mariano p-value below this.")
    ] = None,
) -> None:
    """Train a challenger, score champion / challenger / naive on one holdout, promote only if truly better."""
    from stocky.core.tickers import normalize_ticker
    from stocky.pipelines.data import load_or_pull
    from stocky.pipelines.retrain import retrain_ticker
    from stocky.runtime import git_commit

    with open_stack(
        order=order,
        holdout_size=holdout,
        min_improvement=min_improvement,
        naive_tolerance=naive_tolerance,
        dm_alpha=dm_alpha,
    ) as stack:
        symbol = normalize_ticker(ticker or stack.settings.default_ticker)
        now = datetime.now(UTC)
        day = resolve_as_of(as_of, stack.calendar, now)
        frame = load_or_pull(
            source=stack.source, repo=stack.prices, ticker=symbol, end=day, now=now
        )
        config = stack.retrain
        result = retrain_ticker(
            ticker=symbol,
            prices=frame,
            registry=stack.registry,
            audit=stack.audit,
            config=config,
            as_of=day,
            now=now,
            triggered_by="manual",
            force=force,
            git_commit=git_commit(),
        )
    d = result.decision
    champ = "-" if d.champion_rmse is None else f"{d.champion_rmse:.4f}"
    typer.echo(
        f"{symbol}: holdout {result.holdout[0]}..{result.holdout[1]} ({config.holdout_size} sessions)"
    )
    typer.echo(f"  champion   {result.champion_order or '-':>10}  RMSE {champ}")
    typer.echo(f"  challenger {result.challenger_order:>10}  RMSE {d.challenger_rmse:.4f}")
    typer.echo(f"  naive      {'(0, 1, 0)':>10}  RMSE {d.naive_rmse:.4f}")
    if result.promoted:
        typer.echo(
            f"PROMOTED v{result.to_version} (was v{result.from_version}): {d.reason if not result.forced else 'forced'}"
        )
    else:
        typer.echo(f"REJECTED, champion stays v{result.from_version}: {d.reason}")
        raise typer.Exit(REJECTED_EXIT_CODE)


@handle_errors
def rollback(
    ticker: Annotated[
        str | None, typer.Option("--ticker", "-t", help="Ticker (default STOCKY_DEFAULT_TICKER).")
    ] = None,
) -> None:
    """Move `champion` back to the `previous` version (audited like a promotion)."""
    from stocky.core.tickers import normalize_ticker
    from stocky.pipelines.retrain import rollback as do_rollback

    with open_stack() as stack:
        symbol = normalize_ticker(ticker or stack.settings.default_ticker)
        before, after = do_rollback(
            ticker=symbol,
            registry=stack.registry,
            audit=stack.audit,
            now=datetime.now(UTC),
            as_of=None,
        )
    typer.echo(f"{symbol}: champion moved back from v{before} to v{after}")
