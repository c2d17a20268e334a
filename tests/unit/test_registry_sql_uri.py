"""Which tracking URIs the champion listing reads directly (a local SQLite file only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stocky.adapters.registry_sql import sqlite_file


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:////abs/dir/mlflow.db", Path("/abs/dir/mlflow.db")),
        ("sqlite:///rel/mlflow.db", Path("rel/mlflow.db")),
        ("sqlite:///a%20b/mlflow.db", Path("a b/mlflow.db")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql://u@h/db", None),
        ("http://127.0.0.1:5000", None),
        ("file:///abs/mlruns", None),
    ],
)
def test_only_local_sqlite_files_are_read_directly(uri: str, path: Path | None):
    assert sqlite_file(uri) == path
