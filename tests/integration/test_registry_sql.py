"""The champion listing read straight from a local MLflow SQLite registry equals MLflow's own.

A real registry: ^GSPC trained by stocky (a real run with tags), plus models added through
MLflow's client: a champion that is not the latest version, a version tag, a model without
the alias, a prompt and a model outside stocky's names (both left out by MLflow's search).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from stocky.adapters import registry as registry_module
from stocky.adapters import registry_sql
from stocky.adapters.ports import ModelVersionInfo
from stocky.adapters.registry import ModelRegistry, model_name
from stocky.adapters.registry_sql import KNOWN_SCHEMAS, list_alias_versions

pytestmark = pytest.mark.integration


@pytest.fixture
def mlflow_db(trained_home: Path, tmp_path: Path) -> Path:
    """A copy of the trained registry with more models (an MLflow database already migrated)."""
    db = tmp_path / "mlflow.db"
    shutil.copy(trained_home / "mlflow.db", db)
    client = _registry(db).client
    gspc = client.get_model_version_by_alias(model_name("^GSPC"), "champion")

    def add(name: str, ticker: str | None, versions: int, **aliases: int) -> None:
        client.create_registered_model(name, tags={"ticker": ticker} if ticker else {})
        for _ in range(versions):
            client.create_model_version(
                name, source=gspc.source, run_id=gspc.run_id, tags={"kind": name}
            )
        for alias, version in aliases.items():
            client.set_registered_model_alias(name, alias, str(version))

    add(model_name("AAA"), "AAA", 1, champion=1)
    add(model_name("BRK.B"), "BRK.B", 2, champion=1, challenger=2)  # champion not the latest
    client.set_model_version_tag(model_name("BRK.B"), "1", "note", "first")
    add(model_name("NOALIAS"), "NOALIAS", 1)
    add(model_name("NOTAG"), None, 1, champion=1)  # no ticker tag: the name stands in
    add("stocky-prompt", "PROMPT", 1, champion=1)
    client.set_registered_model_tag("stocky-prompt", "mlflow.prompt.is_prompt", "true")
    add("other-model", "OTHER", 1, champion=1)
    return db


def _registry(db: Path) -> ModelRegistry:
    return ModelRegistry(tracking_uri=f"sqlite:///{db}", experiment="stocky")


def _via_mlflow(db: Path, alias: str, monkeypatch: pytest.MonkeyPatch) -> list[ModelVersionInfo]:
    with monkeypatch.context() as m:
        m.setattr(registry_sql, "KNOWN_SCHEMAS", frozenset())  # not a schema the queries know
        m.setattr(registry_module, "LISTING_PAGE_SIZE", 2)  # and page through the search
        registry = _registry(db)
        listed = registry.champion_versions(alias)
        assert registry._client is not None  # MLflow's search it was
        return listed


def test_the_installed_mlflow_schema_is_one_the_queries_know(mlflow_db: Path):
    with sqlite3.connect(mlflow_db) as conn:
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision in KNOWN_SCHEMAS, (
        f"MLflow's registry schema is now at revision {revision}: check registry_sql's queries "
        "against its tables, then add the revision to KNOWN_SCHEMAS"
    )


@pytest.mark.parametrize("alias", ["champion", "challenger"])
def test_direct_listing_equals_mlflow_search(mlflow_db: Path, alias: str, monkeypatch):
    registry = _registry(mlflow_db)
    direct = registry.champion_versions(alias)
    assert registry._client is None  # mlflow was never opened
    searched = _via_mlflow(mlflow_db, alias, monkeypatch)
    assert [(i.ticker, i.name, i.version, i.aliases) for i in direct] == [
        (i.ticker, i.name, i.version, i.aliases) for i in searched
    ]
    if alias == "champion":
        assert [i.ticker for i in direct] == sorted(
            ["^GSPC", "AAA", "BRK.B", "stocky-notag"]
        )  # no prompt, no foreign model, no model without the alias
    for d, s in zip(direct, searched, strict=True):
        if s.run_id is not None:  # MLflow lists run and tags of the latest version only
            assert (d.run_id, d.tags) == (s.run_id, s.tags)


def test_a_champion_that_is_not_the_latest_gets_its_own_run_and_tags(mlflow_db: Path):
    registry = _registry(mlflow_db)
    (brk,) = [i for i in registry.champion_versions() if i.ticker == "BRK.B"]
    mv = registry.client.get_model_version(model_name("BRK.B"), "1")
    assert (brk.version, brk.aliases) == (1, ("champion",))
    assert (
        (brk.run_id, brk.tags)
        == (mv.run_id, dict(mv.tags))
        == (
            mv.run_id,
            {"kind": model_name("BRK.B"), "note": "first"},
        )
    )


def test_specs_load_from_the_listed_sources_without_mlflow(mlflow_db: Path):
    registry = _registry(mlflow_db)
    infos = [i for i in registry.champion_versions() if i.ticker != i.name]  # ticker-tagged
    specs = [registry.load_version(i.ticker, i.version) for i in infos]
    assert len(specs) == 3
    assert registry._client is None
    assert {s.arima_params.order for s in specs} == {
        specs[0].arima_params.order
    }  # all ^GSPC's spec


def test_an_unknown_schema_falls_back_to_mlflow(mlflow_db: Path, tmp_path: Path):
    other = tmp_path / "other.db"
    shutil.copy(mlflow_db, other)
    with sqlite3.connect(other) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'fffffff'")
    assert list_alias_versions(other, "champion", prefix="stocky-") is None
    assert list_alias_versions(tmp_path / "missing.db", "champion", prefix="stocky-") is None


def test_workspaces_on_falls_back_to_mlflow(mlflow_db: Path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
    assert list_alias_versions(mlflow_db, "champion", prefix="stocky-") is None


@pytest.mark.parametrize("alias", ["champion", "challenger"])
def test_alias_versions_equal_the_one_by_one_look_ups(mlflow_db: Path, alias: str):
    tickers = ["^GSPC", "AAA", "BRK.B", "NOALIAS", "MISSING"]
    registry = _registry(mlflow_db)
    together = registry.alias_versions(tickers, alias)
    assert registry._client is None  # read directly, mlflow never opened
    one_by_one = [_registry(mlflow_db).alias_version(t, alias) for t in tickers]
    expected = sorted((i for i in one_by_one if i is not None), key=lambda i: i.ticker)
    together = sorted(together, key=lambda i: i.ticker)
    assert [(i.ticker, i.name, i.version, i.aliases, i.run_id, i.tags) for i in together] == [
        (i.ticker, i.name, i.version, i.aliases, i.run_id, i.tags) for i in expected
    ]
    assert len(together) == (3 if alias == "champion" else 1)


def test_aliased_versions_equal_the_per_ticker_listing_directly_and_through_mlflow(
    mlflow_db: Path, monkeypatch
):
    """GET /models' one listing equals what it read before: versions() of every ticker."""
    reference_registry = _registry(mlflow_db)
    reference = [
        v for t in reference_registry.tickers() for v in reference_registry.versions(t) if v.aliases
    ]

    def rows(infos: list[ModelVersionInfo]) -> list[tuple[object, ...]]:
        return sorted(
            (i.ticker, i.name, i.version, i.aliases, i.run_id, tuple(sorted(i.tags.items())))
            for i in infos
        )

    registry = _registry(mlflow_db)
    direct = registry.aliased_versions()
    assert registry._client is None  # read directly, mlflow never opened
    with monkeypatch.context() as m:
        m.setattr(registry_sql, "KNOWN_SCHEMAS", frozenset())
        m.setattr(registry_module, "LISTING_PAGE_SIZE", 2)
        m.setattr(registry_module, "PAGE_SIZE", 2)
        searched = _registry(mlflow_db).aliased_versions()
    assert rows(direct) == rows(searched)
    # the per-ticker way lost a model without a ticker tag (its name is not model_name(name))
    assert rows(reference) == [r for r in rows(direct) if r[0] != "stocky-notag"]
    assert {(i.ticker, i.version) for i in direct} == {
        ("^GSPC", 1),
        ("AAA", 1),
        ("BRK.B", 1),
        ("BRK.B", 2),
        ("stocky-notag", 1),
    }
    assert [(i.ticker, i.version) for i in direct][1:3] == [("BRK.B", 2), ("BRK.B", 1)]
