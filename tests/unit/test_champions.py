"""The champion cache against in-memory fakes: one listing at start-up, the change log on polls,
and a promotion of the last ticker of a fleet reaching the cache with one look-up."""

from __future__ import annotations

import datetime as dt

import pytest

from fakes import FakeAuditLog, FakeRegistry
from stocky.adapters.ports import PromotionRow, RunRecord
from stocky.api.champions import ChampionCache
from stocky.core.arima import ArimaOrder, ArimaParams
from stocky.core.spec import ModelSpec
from stocky.errors import RegistryError
from stocky.pipelines.publish import publish
from stocky.pipelines.retrain import rollback

NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)
FLEET = 30  # synthetic tickers SYN0000.. (hand-set parameters, no data)


def _spec(ticker: str, ma: float) -> ModelSpec:
    params = ArimaParams(ArimaOrder(0, 1, 1), "n", 0.0, (), (ma,), 4.0)
    return ModelSpec(ticker, params, "2020-01-02", "2024-07-02", 500)


def _register(registry: FakeRegistry, ticker: str, ma: float, **kw: object) -> int:
    record = RunRecord(f"train-{ticker}", {"ma": ma}, {}, {}, {})
    published = publish(
        registry=registry,
        ticker=ticker,
        record=record,
        spec=_spec(ticker, ma),
        tags={},
        action="register",
        **kw,  # type: ignore[arg-type]
    )
    assert published.version is not None
    return published.version.version


@pytest.fixture
def fleet() -> tuple[FakeRegistry, FakeAuditLog]:
    registry, audit = FakeRegistry(), FakeAuditLog()
    for i in range(FLEET):
        _register(registry, f"SYN{i:04d}", -0.1 + i / 1000)
    registry.reads.clear()
    return registry, audit


def _cache(registry: FakeRegistry, audit: FakeAuditLog | None) -> ChampionCache:
    return ChampionCache(registry, changes=audit, window_lengths=range(10, 61), load_threads=4)


def test_start_up_lists_once_and_loads_every_champion(fleet):
    registry, audit = fleet
    cache = _cache(registry, audit)
    result = cache.refresh()
    assert len(result.loaded) == FLEET and len(cache) == FLEET
    assert registry.reads.count("list champion") == 1
    assert not [r for r in registry.reads if r.startswith("alias")]  # no per-ticker look-ups
    assert sorted(r for r in registry.reads if r.startswith("load")) == sorted(
        f"load SYN{i:04d} v1" for i in range(FLEET)
    )
    model = cache.get("SYN0029")
    assert model is not None and model.version == 1
    assert model.spec.arima_params.ma == (-0.1 + 29 / 1000,)


def test_a_poll_with_no_change_asks_the_registry_nothing(fleet):
    registry, audit = fleet
    cache = _cache(registry, audit)
    cache.refresh()
    registry.reads.clear()
    result = cache.refresh_changed()
    assert result.kind == "changes" and result.loaded == result.unchanged == ()
    assert registry.reads == []


def test_a_promotion_of_the_last_ticker_costs_one_look_up(fleet):
    registry, audit = fleet
    cache = _cache(registry, audit)
    cache.refresh()
    last = f"SYN{FLEET - 1:04d}"
    # a retrain publishes v2 as champion, then records the decision (as pipelines.retrain does)
    record = RunRecord(f"retrain-{last}", {"as_of": "2019-01-02"}, {}, {}, {})
    spec = _spec(last, 0.2)
    publish(
        registry=registry,
        ticker=last,
        record=record,
        spec=spec,
        tags={},
        action="promote",
        previous=1,
    )
    audit.add_promotion(
        PromotionRow(last, "stocky-syn0029", "promote", 1, 2, NOW, None, "better", "drift")
    )
    registry.reads.clear()
    result = cache.refresh_changed()
    assert result.loaded == (last,)
    assert registry.reads == [f"alias {last}", f"load {last} v2"]
    served = cache.get(last)
    assert served is not None and served.version == 2 and served.spec.arima_params.ma == (0.2,)
    # the mark moved: the same record is not applied again
    registry.reads.clear()
    assert cache.refresh_changed().loaded == () and registry.reads == []
    # a rollback (the real pipeline: alias moves, then the record) comes back the same way
    rollback(ticker=last, registry=registry, audit=audit, now=NOW, as_of=None)
    assert cache.refresh_changed().loaded == (last,)
    served = cache.get(last)
    assert served is not None and served.version == 1


def test_a_first_champion_from_training_is_recorded_and_picked_up(fleet):
    registry, audit = fleet
    cache = _cache(registry, audit)
    cache.refresh()
    version = _register(registry, "NEW1", 0.05, audit=audit, now=NOW)
    (row,) = audit.promotions("NEW1")
    assert (row.action, row.from_version, row.to_version, row.as_of) == ("register", None, 1, None)
    assert cache.refresh_changed().loaded == ("NEW1",)
    served = cache.get("NEW1")
    assert served is not None and served.version == version
    # a second training registers a challenger: nothing is recorded, nothing changes
    _register(registry, "NEW1", 0.06, audit=audit, now=NOW)
    assert len(audit.promotions("NEW1")) == 1
    assert cache.refresh_changed().loaded == ()


def test_publish_with_a_log_needs_the_time():
    registry, audit = FakeRegistry(), FakeAuditLog()
    with pytest.raises(TypeError, match="now="):
        _register(registry, "NEW1", 0.05, audit=audit)


def test_a_broken_model_keeps_the_others_and_its_previous_version(fleet, caplog):
    registry, audit = fleet
    cache = _cache(registry, audit)
    cache.refresh()

    def broken(ticker: str, version: int) -> ModelSpec:
        if ticker == "SYN0003":
            raise RegistryError(f"the spec of {ticker} v{version} is unreadable: retrain")
        return FakeRegistry.load_version(registry, ticker, version)

    for ticker in ("SYN0003", "SYN0004"):
        registry.set_alias(ticker, "champion", _register(registry, ticker, 0.3))
        audit.add_promotion(
            PromotionRow(ticker, "m", "promote", 1, 2, NOW, None, "manual", "manual")
        )
    registry.load_version = broken  # type: ignore[method-assign]
    result = cache.refresh_changed()
    assert result.loaded == ("SYN0004",) and result.failed == ("SYN0003",)
    old = cache.get("SYN0003")
    assert old is not None and old.version == 1
    assert "SYN0003 v2 failed, keeping the current model" in caplog.text


def test_without_a_change_log_every_poll_is_a_full_listing(fleet):
    registry, _ = fleet
    cache = _cache(registry, None)
    cache.refresh()
    registry.set_alias("SYN0001", "champion", _register(registry, "SYN0001", 0.3))
    registry.reads.clear()
    result = cache.refresh_changed()
    assert result.kind == "full" and result.loaded == ("SYN0001",)
    assert registry.reads == ["list champion", "load SYN0001 v2"]


def test_sorted_tickers_follow_loads(fleet):
    registry, audit = fleet
    cache = _cache(registry, audit)
    cache.refresh()
    assert cache.tickers()[:2] == ["SYN0000", "SYN0001"]
    _register(registry, "AAA", 0.1, audit=audit, now=NOW)
    cache.refresh_changed()
    assert cache.tickers()[0] == "AAA" and len(cache.all()) == FLEET + 1


def test_parameters_no_forecast_can_use_fail_that_model_alone(fleet, caplog):
    registry, audit = fleet
    cache = _cache(registry, audit)
    cache.refresh()
    # a unit root given as an AR(1) on levels: its stationary variance has no solution
    unit_root = ArimaParams(ArimaOrder(1, 0, 0), "c", 0.0, (1.0,), (), 4.0)
    bad = ModelSpec("SYN0005", unit_root, "2020-01-02", "2024-07-02", 500)
    record = RunRecord("train-SYN0005", {}, {}, {}, {})
    publish(registry=registry, ticker="SYN0005", record=record, spec=bad, tags={},
            action="promote", previous=1)  # fmt: skip
    registry.set_alias("SYN0006", "champion", _register(registry, "SYN0006", 0.3))
    for ticker in ("SYN0005", "SYN0006"):
        audit.add_promotion(PromotionRow(ticker, "m", "promote", 1, 2, NOW, None, "m", "m"))
    result = cache.refresh_changed()
    assert result.loaded == ("SYN0006",) and result.failed == ("SYN0005",)
    kept = cache.get("SYN0005")
    assert kept is not None and kept.version == 1
    assert "stocky-syn0005 v2 has parameters no forecast can use" in caplog.text
    assert "retrain SYN0005" in caplog.text
    served = cache.get("SYN0006")
    assert served is not None and served.forecaster.forecast([100.0 + i for i in range(60)])


def test_the_models_route_reads_the_registry_once_for_the_whole_fleet(fleet):
    """GET /models made a versions() search per ticker (6-7 s for 1,000 models)."""
    from types import SimpleNamespace

    from stocky.api.routes.models import collect

    registry, audit = fleet
    cache = _cache(registry, audit)
    cache.refresh()
    second = _register(registry, "SYN0003", 0.05)  # v2 of SYN0003 becomes its challenger
    registry.reads.clear()
    rows = collect(SimpleNamespace(registry=registry, champions=cache))  # type: ignore[arg-type]
    assert registry.reads == ["list aliased"]
    assert len(rows) == FLEET + 1
    syn3 = [(r["version"], r["aliases"], r["serving"]) for r in rows if r["ticker"] == "SYN0003"]
    assert syn3 == [(second, ["challenger"], False), (1, ["champion"], True)]
