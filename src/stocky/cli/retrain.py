"""`stocky retrain` and `stocky rollback`. Retrain exits 0 promoted, 20 rejected, 1-6 failed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, cast

import typer

from stocky.cli._common import handle_errors, open_stack
from stocky.cli._dates import resolve_as_of
from stocky.errors import BadInput

if TYPE_CHECKING:
    from stocky.adapters.executor import ExecutorKind
    from stocky.config import Settings

__all__ = ["REJECTED_EXIT_CODE", "retrain", "rollback"]

#: Exit code of a retrain whose challenger was rejected (errors use 1-6, drift 10).
REJECTED_EXIT_CODE = 20


@handle_errors
def retrain(
    ticker: Annotated[
        list[str] | None,
        typer.Option("--ticker", "-t", help="Ticker (repeatable; default STOCKY_DEFAULT_TICKER)."),
    ] = None,
    all_tickers: Annotated[
        bool, typer.Option("--all", help="Retrain every ticker with a registered model.")
    ] = False,
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
    families: Annotated[
        str | None,
        typer.Option(
            help="Comma list of model families that compete (default STOCKY_FAMILIES; "
            "`stocky families` lists them; naive always competes)."
        ),
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
    executor: Annotated[
        str | None,
        typer.Option(help="Where several retrains run: local or dask (default STOCKY_EXECUTOR)."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            help="Worker processes for local / a Dask LocalCluster (default STOCKY_JOBS)."
        ),
    ] = None,
) -> None:
    """Train a challenger, score champion / challenger / naive on one holdout, promote only if truly better."""
    from stocky.core.tickers import normalize_ticker, normalize_tickers
    from stocky.pipelines.data import load_or_pull
    from stocky.pipelines.retrain import retrain_ticker
    from stocky.runtime import git_commit

    with open_stack(
        order=order,
        families=families,
        holdout_size=holdout,
        min_improvement=min_improvement,
        naive_tolerance=naive_tolerance,
        dm_alpha=dm_alpha,
    ) as stack:
        now = datetime.now(UTC)
        day = resolve_as_of(as_of, stack.calendar, now)
        if all_tickers or (ticker and len(ticker) > 1):
            symbols = stack.registry.tickers() if all_tickers else normalize_tickers(ticker or [])
            if not symbols:
                raise BadInput("no registered models to retrain: run `stocky train` first")
            code = _retrain_many(
                stack.settings, symbols, day=day, now=now, force=force, kind=executor, jobs=jobs
            )
            if code:
                raise typer.Exit(code)
            return
        symbol = normalize_ticker(ticker[0] if ticker else stack.settings.default_ticker)
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


def _retrain_many(
    settings: Settings,
    symbols: list[str],
    *,
    day: date,
    now: datetime,
    force: bool,
    kind: str | None,
    jobs: int | None,
) -> int:
    """Retrain `symbols` on the executor; print one line each; the exit code (0 if any promoted
    and none failed, 20 if all were rejected, else the first failure's)."""
    from stocky.pipelines.retrain_many import retrain_many
    from stocky.wiring import make_executor

    pool = make_executor(settings, kind=cast("ExecutorKind | None", kind), jobs=jobs)
    try:
        outcomes = retrain_many(
            executor=pool,
            settings=settings,
            triggers=dict.fromkeys(symbols, "manual"),
            as_of=day,
            now=now,
            force=force,
        )
    finally:
        pool.close()
    failed = [o for o in outcomes.values() if not o.ok]
    for sym, o in outcomes.items():
        if not o.ok:
            typer.echo(f"{sym:8} FAILED: {o.error}")
            continue
        r = o.value
        verdict = (
            f"PROMOTED v{r.to_version} (was v{r.from_version})"
            if r.promoted
            else f"rejected, v{r.from_version} stays"
        )
        typer.echo(f"{sym:8} {verdict}: {r.decision.reason}")
    typer.echo(
        f"{len(outcomes)} retrained on {pool.name} ({pool.workers} worker(s)): "
        f"{sum(1 for o in outcomes.values() if o.ok and o.value.promoted)} promoted, "
        f"{len(failed)} failed"
    )
    if failed:
        return failed[0].exit_code or 1
    return 0 if any(o.value.promoted for o in outcomes.values()) else REJECTED_EXIT_CODE


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
