"""Every champion of a local MLflow SQLite registry in one read-only query, without mlflow.

Why not MLflow's own search here: a server starting over a local registry spent ~2 s of CPU
importing mlflow and opening its SQLAlchemy stores, and 0.4 s more in the search of 1,000
models; this reads the same rows with the standard library's sqlite3 in ~10 ms. It applies
only where that is safe, and `ModelRegistry.champion_versions` uses MLflow's search otherwise:

- the tracking URI is a local SQLite file (not a tracking server, not PostgreSQL);
- the database is at an MLflow schema revision in `KNOWN_SCHEMAS` (read on every call, so an
  MLflow upgrade that migrates the registry falls back until its tables are checked again);
- MLflow workspaces are off (every row is in the `default` workspace).

It reads what MLflow's search returns (prompts left out, deleted versions never served); a
test pins the two listings to each other on a real registry.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = [
    "KNOWN_SCHEMAS",
    "ListedVersion",
    "list_alias_versions",
    "list_aliased_versions",
    "sqlite_file",
]

#: MLflow registry schema revisions (`alembic_version` of mlflow.db) these queries were checked
#: against: mlflow 3.17.
KNOWN_SCHEMAS = frozenset({"dc11669786a5"})

_WORKSPACE = "default"
_PROMPT_TAG = "mlflow.prompt.is_prompt"


@dataclass(frozen=True)
class ListedVersion:
    """One model version behind the alias, as the registry stores it."""

    name: str
    version: int
    source: str
    run_id: str | None
    ticker: str | None
    aliases: tuple[str, ...]
    tags: dict[str, str]


def sqlite_file(tracking_uri: str) -> Path | None:
    """The database file of a `sqlite:///path` tracking URI, or None for any other store."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme != "sqlite" or parsed.netloc or parsed.query:
        return None
    # SQLAlchemy's form: sqlite:///relative.db, sqlite:////absolute.db
    path = unquote(parsed.path)[1:]
    if path in ("", ":memory:"):
        return None
    return Path(path)


def list_alias_versions(path: Path, alias: str, *, prefix: str) -> list[ListedVersion] | None:
    """The version behind `alias` of every registered model named `prefix...`.

    Args:
        path: The MLflow SQLite database.
        alias: The alias (e.g. "champion").
        prefix: Registered model names to list (e.g. "stocky-").

    Returns:
        The versions, by model name; None when these queries do not apply (unknown schema
        revision, workspaces on, or no such database file): use MLflow's search then.

    Raises:
        sqlite3.Error: The database could not be read.
    """
    return _listing(path, alias, prefix)


def list_aliased_versions(path: Path, *, prefix: str) -> list[ListedVersion] | None:
    """Every version holding an alias, of every registered model named `prefix...`.

    Returns and raises as `list_alias_versions` (what GET /models lists, in one read).
    """
    return _listing(path, None, prefix)


def _listing(path: Path, alias: str | None, prefix: str) -> list[ListedVersion] | None:
    if os.environ.get("MLFLOW_ENABLE_WORKSPACES", "").strip().lower() in ("1", "true"):
        return None
    if not path.is_file():
        return None
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        conn.execute("BEGIN")  # one snapshot for every query below
        if _revision(conn) not in KNOWN_SCHEMAS:
            return None
        return _read(conn, alias, prefix)
    finally:
        conn.close()


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.OperationalError:  # no such table: not a database MLflow migrated
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


_MODELS = """
    SELECT m.name FROM registered_models m
    WHERE m.workspace = :ws AND substr(m.name, 1, length(:prefix)) = :prefix
      AND m.name NOT IN (
        SELECT t.name FROM registered_model_tags t
        WHERE t.workspace = :ws AND t.key = :prompt AND lower(t.value) = 'true')
"""


def _read(conn: sqlite3.Connection, alias: str | None, prefix: str) -> list[ListedVersion]:
    """The versions behind `alias` (None: behind any alias)."""
    args = {"ws": _WORKSPACE, "prefix": prefix, "prompt": _PROMPT_TAG, "alias": alias}
    which = "(:alias IS NULL OR a.alias = :alias)"
    held = conn.execute(
        f"""SELECT DISTINCT a.name, a.version, v.source, v.run_id
            FROM registered_model_aliases a
            JOIN model_versions v
              ON v.name = a.name AND v.version = a.version AND v.workspace = a.workspace
            WHERE a.workspace = :ws AND {which} AND a.name IN ({_MODELS})
              AND v.current_stage != 'Deleted_Internal'""",
        args,
    ).fetchall()
    aliases: dict[tuple[str, int], list[str]] = {}
    for name, version, name_alias in conn.execute(
        f"""SELECT name, version, alias FROM registered_model_aliases
            WHERE workspace = :ws AND name IN ({_MODELS})""",
        args,
    ):
        aliases.setdefault((name, int(version)), []).append(str(name_alias))
    tickers = dict(
        conn.execute(
            f"""SELECT name, value FROM registered_model_tags
                WHERE workspace = :ws AND key = 'ticker' AND name IN ({_MODELS})""",
            args,
        ).fetchall()
    )
    tags: dict[tuple[str, int], dict[str, str]] = {}
    for name, version, key, value in conn.execute(
        f"""SELECT DISTINCT t.name, t.version, t.key, t.value FROM model_version_tags t
            JOIN registered_model_aliases a
              ON a.name = t.name AND a.version = t.version AND a.workspace = t.workspace
            WHERE t.workspace = :ws AND {which} AND t.name IN ({_MODELS})""",
        args,
    ):
        tags.setdefault((name, int(version)), {})[str(key)] = str(value)
    out = [
        ListedVersion(
            name=str(name),
            version=int(version),
            source=str(source),
            run_id=str(run_id) if run_id else None,
            ticker=tickers.get(name),
            aliases=tuple(sorted(aliases.get((name, int(version)), [alias] if alias else []))),
            tags=tags.get((name, int(version)), {}),
        )
        for name, version, source, run_id in held
    ]
    return sorted(out, key=lambda v: (v.name, -v.version))
