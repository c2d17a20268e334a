"""`stocky alerts ...`: the alert outbox: list it, deliver what is due, test the targets."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from stocky.cli._common import handle_errors, open_stack, settings_for_cli
from stocky.errors import BadInput, DeliveryError

if TYPE_CHECKING:
    from stocky.adapters.store.alerts import AlertOutbox

__all__ = ["app"]

app = typer.Typer(
    help="Alerts: model degraded, retrains, rollbacks, late labels, failed daily jobs.",
    no_args_is_help=True,
)

_NO_TARGETS = (
    "no alert targets configured: set STOCKY_ALERT_URLS (Apprise URLs) and/or "
    "STOCKY_WEBHOOK_URL with STOCKY_WEBHOOK_SECRET"
)


@contextlib.contextmanager
def _outbox() -> Iterator[AlertOutbox]:
    with open_stack() as stack:
        yield stack.outbox


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


@app.command("list")
@handle_errors
def list_alerts(
    status: Annotated[
        str | None, typer.Option(help="Only this status: pending, delivered or failed.")
    ] = None,
    ticker: Annotated[str | None, typer.Option("--ticker", "-t", help="Only this ticker.")] = None,
    limit: Annotated[int, typer.Option(help="Most alerts shown, newest first.")] = 50,
    messages: Annotated[bool, typer.Option("--messages", help="Print each message too.")] = False,
) -> None:
    """List alerts in the outbox, newest first."""
    from stocky.core.alerts import FLEET
    from stocky.core.tickers import normalize_ticker

    symbol = None if ticker is None else (FLEET if ticker == FLEET else normalize_ticker(ticker))
    with _outbox() as outbox:
        rows = outbox.recent(status=status, ticker=symbol, limit=limit)
    if not rows:
        typer.echo("no alerts")
        return
    typer.echo(
        f"{'id':>5}  {'session':10}  {'ticker':10}  {'kind':18}  {'status':9}  "
        f"{'tries':>5}  {'next try':16}  title"
    )
    for row in rows:
        replay = " [replay]" if row.replay else ""
        typer.echo(
            f"{row.id:>5}  {row.alert.session}  {row.alert.ticker:10}  {row.alert.kind:18}  "
            f"{row.status:9}  {row.attempts:>5}  {_when(row.next_attempt_at):16}  "
            f"{row.alert.title}{replay}"
        )
        if row.last_error and row.status != "delivered":
            typer.echo(f"       last error: {row.last_error}")
        if messages:
            typer.echo("       " + row.envelope().body.replace("\n", "\n       "))


@app.command("deliver")
@handle_errors
def deliver(
    include_replay: Annotated[
        bool,
        typer.Option("--include-replay", help="Also send alerts raised by a replay (marked)."),
    ] = False,
    limit: Annotated[int, typer.Option(help="Most alerts sent in this pass.")] = 100,
) -> None:
    """Send the due alerts to every configured target; failures retry later with backoff."""
    from stocky.pipelines.alerts import deliver_due
    from stocky.wiring import alert_notifiers, delivery_policy

    settings = settings_for_cli()
    notifiers = alert_notifiers(settings)
    if not notifiers:
        raise BadInput(_NO_TARGETS)
    with _outbox() as outbox:
        try:
            report = deliver_due(
                outbox=outbox,
                notifiers=notifiers,
                now=datetime.now(UTC),
                policy=delivery_policy(settings),
                include_replay=include_replay,
                limit=limit,
            )
        finally:
            for notifier in notifiers:
                notifier.close()
    typer.echo(
        f"delivered {len(report.delivered)}, retrying later {len(report.retrying)}, "
        f"failed for good {len(report.failed)}, taken by another sender "
        f"{len(report.taken_by_another)}, left queued {len(report.deferred)}"
    )
    if report.out_of_time:
        typer.echo("  the pass ran out of time (STOCKY_ALERT_PASS_SECONDS)", err=True)
    for label in report.broken_targets:
        typer.echo(f"  {label} skipped for the rest of the pass after repeated failures", err=True)
    for error in report.errors:
        typer.echo(f"  {error}", err=True)


@app.command("test")
@handle_errors
def test(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list the targets, send nothing.")
    ] = False,
) -> None:
    """Send a test alert to every configured target now (not through the outbox)."""
    from stocky.pipelines.alerts import send_probe
    from stocky.wiring import alert_notifiers

    notifiers = alert_notifiers(settings_for_cli())
    if not notifiers:
        raise BadInput(_NO_TARGETS)
    if dry_run:
        for notifier in notifiers:
            typer.echo(f"{notifier.label}: configured")
        return
    try:
        results = send_probe(notifiers=notifiers, now=datetime.now(UTC))
    finally:
        for notifier in notifiers:
            notifier.close()
    for result in results:
        typer.echo(f"{result.label}: {'ok' if result.error is None else 'FAILED'}")
    failures = [r.error for r in results if r.error is not None]
    if failures:
        raise DeliveryError(
            f"{len(failures)} of {len(results)} target(s) failed: {'; '.join(failures)}"
        )
