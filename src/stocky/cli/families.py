"""`stocky families`: list the model families this installation can train and serve."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from stocky.cli._common import handle_errors

__all__ = ["families"]


@handle_errors
def families(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per family) instead of a table.")
    ] = False,
) -> None:
    """List every model family: its name, what it is and where it comes from."""
    from stocky.core.families.registry import family_infos

    infos = family_infos()
    if as_json:
        rows = [
            {
                "name": i.model_type,
                "description": i.description,
                "origin": i.origin,
                "global": i.is_global,
            }
            for i in infos
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="model families (STOCKY_FAMILIES / --families choose among them)")
    for col in ("name", "description", "origin", "scope"):
        table.add_column(col, no_wrap=col != "description")
    for i in infos:
        table.add_row(
            i.model_type, i.description, i.origin, "universe" if i.is_global else "per ticker"
        )
    Console().print(table)
