"""The Registry port's contract, on the in-memory registry and on MLflow (local SQLite)."""

from __future__ import annotations

from typing import Any

import pytest

from stocky.adapters.ports import RunRecord
from stocky.adapters.registry import model_name
from stocky.core.arima import ArimaOrder, ArimaParams
from stocky.core.spec import ModelSpec
from stocky.errors import BadInput, ModelNotFound, RegistryError


def _spec(ticker: str, ma: float) -> ModelSpec:
    params = ArimaParams(ArimaOrder(0, 1, 1), "n", 0.0, (), (ma,), 4.0)
    return ModelSpec(ticker, params, "2020-01-02", "2024-07-02", 500, metrics={"rmse": 1.5})


def _version(registry: Any, ticker: str, ma: float, **tags: str) -> int:
    run_id = registry.log_run(
        RunRecord(f"train-{ticker}", {"ma": ma}, {}, {}, {}), spec=_spec(ticker, ma)
    )
    return int(registry.register(ticker, run_id, tags=tags).version)


def test_log_run_returns_a_new_id_and_register_numbers_versions_from_one(registry, ticker):
    record = RunRecord("train", {"p": 1}, {"rmse": 1.0}, {"k": "v"}, {"notes.txt": b"x"})
    first = registry.log_run(record, spec=_spec(ticker, 0.1))
    second = registry.log_run(record, spec=_spec(ticker, 0.2))
    assert isinstance(first, str) and first != second
    v1 = registry.register(ticker, first, tags={"reason": "train"})
    v2 = registry.register(ticker, second, tags={})
    assert (v1.ticker, v1.name, v1.version, v1.run_id) == (ticker, model_name(ticker), 1, first)
    assert v1.aliases == () and dict(v1.tags) == {"reason": "train"}
    assert (v2.version, v2.run_id) == (2, second)


def test_register_of_an_unknown_run_raises_registry_error(registry, ticker):
    with pytest.raises(RegistryError):
        registry.register(ticker, "0" * 32, tags={})
    assert registry.versions(ticker) == []


def test_set_alias_moves_idempotently_and_refuses_a_missing_version(registry, ticker):
    _version(registry, ticker, 0.1)
    _version(registry, ticker, 0.2)
    registry.set_alias(ticker, "champion", 1)
    registry.set_alias(ticker, "champion", 1)  # idempotent
    registry.set_alias(ticker, "previous", 1)
    assert registry.aliases(ticker) == {"champion": 1, "previous": 1}
    info = registry.alias_version(ticker, "champion")
    assert info is not None and (info.version, info.aliases) == (1, ("champion", "previous"))
    registry.set_alias(ticker, "champion", 2)  # a move, not a second alias
    assert registry.aliases(ticker) == {"champion": 2, "previous": 1}
    with pytest.raises(RegistryError):
        registry.set_alias(ticker, "champion", 9)
    assert registry.aliases(ticker)["champion"] == 2  # a refused move changes nothing


def test_set_alias_of_a_ticker_without_a_model_raises_registry_error(registry, ticker):
    with pytest.raises(RegistryError):
        registry.set_alias(ticker, "champion", 1)


def test_reads_of_a_missing_model_or_alias_are_empty_not_errors(registry, ticker):
    assert registry.alias_version(ticker, "champion") is None
    assert registry.champion(ticker) is None
    assert registry.versions(ticker) == []
    assert registry.aliases(ticker) == {}
    assert registry.find_version(ticker, "reason", "x") is None
    _version(registry, ticker, 0.1)
    assert registry.alias_version(ticker, "champion") is None  # a model, no alias
    assert registry.champion(ticker) is None


def test_champion_and_load_version_return_the_spec_as_logged(registry, ticker):
    spec = _spec(ticker, 0.25)
    run_id = registry.log_run(RunRecord("r", {}, {}, {}, {}), spec=spec)
    registry.set_alias(ticker, "champion", registry.register(ticker, run_id, tags={}).version)
    champion = registry.champion(ticker)
    assert champion is not None and champion.spec == spec
    assert (champion.ticker, champion.version, champion.info.run_id) == (ticker, 1, run_id)
    assert registry.load_version(ticker, 1) == spec
    loaded, info = registry.load_spec(ticker)
    assert loaded == spec and info.version == 1


def test_load_version_of_a_missing_version_raises_registry_error(registry, ticker):
    _version(registry, ticker, 0.1)
    with pytest.raises(RegistryError):
        registry.load_version(ticker, 2)


def test_load_spec_without_the_alias_raises_model_not_found(registry, ticker):
    with pytest.raises(ModelNotFound, match=ticker.replace("^", r"\^")):
        registry.load_spec(ticker)


def test_versions_are_newest_first_with_their_aliases(registry, ticker):
    for ma in (0.1, 0.2, 0.3):
        _version(registry, ticker, ma)
    registry.set_alias(ticker, "champion", 2)
    found = registry.versions(ticker)
    assert [(v.version, v.aliases) for v in found] == [(3, ()), (2, ("champion",)), (1, ())]
    assert {v.ticker for v in found} == {ticker}


def test_find_version_returns_the_newest_match_and_refuses_quotes(registry, ticker):
    _version(registry, ticker, 0.1, reason="train")
    _version(registry, ticker, 0.2, reason="retrain")
    _version(registry, ticker, 0.3, reason="train")
    found = registry.find_version(ticker, "reason", "train")
    assert found is not None and found.version == 3 and found.tags["reason"] == "train"
    assert registry.find_version(ticker, "reason", "manual") is None
    with pytest.raises(BadInput):
        registry.find_version(ticker, "reason", "it's")


def test_fleet_listings_agree_and_leave_out_models_without_the_alias(registry, ticker):
    a, b, c = f"{ticker}A", f"{ticker}B", f"{ticker}C"
    for t in (b, a, c):
        _version(registry, t, 0.1)
    _version(registry, a, 0.2)
    registry.set_alias(a, "champion", 2)
    registry.set_alias(b, "champion", 1)
    assert {a, b, c} <= set(registry.tickers())
    assert registry.tickers() == sorted(registry.tickers())
    listed = [i for i in registry.champion_versions() if i.ticker in (a, b, c)]
    assert [(i.ticker, i.version, i.aliases) for i in listed] == [
        (a, 2, ("champion",)),
        (b, 1, ("champion",)),
    ]
    every = registry.champion_versions()
    assert [i.ticker for i in every] == sorted(i.ticker for i in every)
    assert {t: v for t, v in registry.alias_map().items() if t in (a, b, c)} == {a: 2, b: 1}
    some = registry.alias_versions([c, b, a], "champion")
    assert sorted((i.ticker, i.version) for i in some) == [(a, 2), (b, 1)]
    assert registry.alias_versions([c], "champion") == []


def test_listed_versions_carry_their_own_run(registry, ticker):
    first = _version(registry, ticker, 0.1)
    _version(registry, ticker, 0.2)  # a newer challenger
    registry.set_alias(ticker, "champion", first)
    (info,) = [i for i in registry.champion_versions() if i.ticker == ticker]
    assert info.run_id == registry.alias_version(ticker, "champion").run_id


def test_run_artifact_returns_the_bytes_logged_and_none_when_missing(registry, ticker):
    png = b"\x89PNG\r\n\x1a\n-not-really"
    record = RunRecord("train", {}, {}, {}, {"forecast_vs_actual.png": png, "a/b.csv": b"x,y\n"})
    run_id = registry.log_run(record, spec=_spec(ticker, 0.1))
    assert registry.run_artifact(run_id, "forecast_vs_actual.png") == png
    assert registry.run_artifact(run_id, "a/b.csv") == b"x,y\n"
    assert registry.run_artifact(run_id, "missing.png") is None
    assert registry.run_artifact("0" * 32, "forecast_vs_actual.png") is None
