"""`stocky keys ...`: client API keys of the forecast routes: create, list, revoke."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from stocky.cli._common import handle_errors, open_stack, settings_for_cli

if TYPE_CHECKING:
    from stocky.adapters.store.keys import ApiKeyStore

__all__ = ["app"]

app = typer.Typer(
    help="Client API keys for /predict and /forecast (the database keeps only their hashes).",
    no_args_is_help=True,
)


@contextlib.contextmanager
def _store() -> Iterator[ApiKeyStore]:
    with open_stack() as stack:
        yield stack.keys


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


@app.command("create")
@handle_errors
def create(
    name: Annotated[
        str, typer.Option("--name", "-n", help="Who or what uses the key, e.g. reporting-job.")
    ],
) -> None:
    """Create a key and print it once: it cannot be shown again, only revoked."""
    with _store() as store:
        row, key = store.create(name, now=datetime.now(UTC))
    typer.echo(key)
    typer.echo(
        f"key {row.id} ({row.name}, prefix stocky_{row.prefix}) created: store it now, it is "
        "not kept; send it as X-API-Key or Authorization: Bearer",
        err=True,
    )


@app.command("list")
@handle_errors
def list_keys(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
) -> None:
    """List keys: id, prefix, name, created, last used (to within the servers' cache time)."""
    with _store() as store:
        rows = [k for k in store.all() if all_keys or k.active]
    if not rows:
        typer.echo("no keys" if all_keys else "no active keys (--all shows revoked ones)")
        return
    typer.echo(f"{'id':>4}  {'prefix':17}  {'created':16}  {'last used':16}  {'revoked':16}  name")
    for k in rows:
        typer.echo(
            f"{k.id:>4}  stocky_{k.prefix}  {_when(k.created_at):16}  "
            f"{_when(k.last_used_at):16}  {_when(k.revoked_at):16}  {k.name}"
        )


@app.command("revoke")
@handle_errors
def revoke(
    key: Annotated[str, typer.Argument(help="The key's id or prefix (see `stocky keys list`).")],
) -> None:
    """Revoke a key; servers refuse it within STOCKY_API_KEY_CACHE_SECONDS."""
    settings = settings_for_cli()
    with _store() as store:
        row, changed = store.revoke(key, now=datetime.now(UTC))
    if changed:
        typer.echo(
            f"key {row.id} ({row.name}) revoked: servers refuse it within "
            f"{settings.api_key_cache_seconds:g} s"
        )
    else:
        typer.echo(f"key {row.id} ({row.name}) was already revoked")
