"""Publishing is idempotent: a rerun after a crash at any write registers no second version
and moves no alias twice (FakeRegistry records every write)."""

from __future__ import annotations

import pytest

from fakes import FakeRegistry
from stocky.adapters.ports import RunRecord
from stocky.core.arima import ArimaOrder, ArimaParams
from stocky.core.spec import ModelSpec
from stocky.errors import RegistryError
from stocky.pipelines.publish import TRAINING_KEY_TAG, publish, training_key

SPEC = ModelSpec(
    ticker="AAA",
    params=ArimaParams(ArimaOrder(0, 1, 1), "n", 0.0, (), (0.1,), 1.0),
    train_start="2018-01-02",
    train_end="2018-12-31",
    train_rows=250,
)


def _record(data_hash: str, **tags: str) -> RunRecord:
    return RunRecord(
        "train-AAA",
        {"ticker": "AAA", "data_hash": data_hash, "order": "(0, 1, 1)"},
        {"rmse": 1.0},
        {"stocky.version": "1.0", "stocky.kind": "train"} | tags,
        {},
    )


class CrashOnce(FakeRegistry):
    """Fails the first write of one alias, as a worker killed at that moment would."""

    crash_alias: str | None = None

    def set_alias(self, ticker: str, alias: str, version: int) -> None:
        if alias == self.crash_alias:
            self.crash_alias = None
            raise RegistryError("connection reset")
        super().set_alias(ticker, alias, version)


def test_training_key_ignores_the_clock_and_descriptive_tags() -> None:
    a = training_key("AAA", _record("h1", ticker="AAA"))
    assert a == training_key("AAA", _record("h1", run_note="again"))
    assert a != training_key("AAA", _record("h2"))
    assert a != training_key("BBB", _record("h1"))
    assert a != training_key("AAA", _record("h1", **{"stocky.version": "1.1"}))


def test_register_rerun_reuses_the_version_and_writes_nothing() -> None:
    registry = FakeRegistry()
    first = publish(
        registry=registry, ticker="AAA", record=_record("h1"), spec=SPEC, tags={}, action="register"
    )
    writes = list(registry.calls)
    again = publish(
        registry=registry, ticker="AAA", record=_record("h1"), spec=SPEC, tags={}, action="register"
    )
    assert registry.calls == writes
    assert first.version is not None and again.version is not None
    assert (again.version.version, again.alias, again.reused) == (1, "champion", True)
    assert again.run_id == first.run_id and first.version.tags[TRAINING_KEY_TAG]
    record, _ = registry.runs[first.run_id]
    assert record.tags[TRAINING_KEY_TAG] == first.version.tags[TRAINING_KEY_TAG]


@pytest.mark.parametrize("crash", ["previous", "champion"])
def test_promote_rerun_after_a_crash_finishes_once(crash: str) -> None:
    registry = CrashOnce()
    publish(
        registry=registry, ticker="AAA", record=_record("h1"), spec=SPEC, tags={}, action="register"
    )
    registry.crash_alias = crash
    args = {"registry": registry, "ticker": "AAA", "record": _record("h2"), "spec": SPEC}
    with pytest.raises(RegistryError):
        publish(**args, tags={}, action="promote", previous=1)  # type: ignore[arg-type]
    # the crash left champion on v1: the one complete version
    assert registry.aliases("AAA")["champion"] == 1
    done = publish(**args, tags={}, action="promote", previous=1)  # type: ignore[arg-type]
    assert done.reused and done.version is not None and done.version.version == 2
    assert registry.aliases("AAA") == {"champion": 2, "previous": 1}
    assert [c for c in registry.calls if c.startswith("register")] == [
        "register AAA v1",
        "register AAA v2",
    ]
    assert registry.calls.count("alias AAA previous=v1") == 1
    assert registry.calls.count("alias AAA champion=v2") == 1
    # after a complete promotion a further rerun writes nothing at all
    writes = list(registry.calls)
    publish(**args, tags={}, action="promote", previous=1)  # type: ignore[arg-type]
    assert registry.calls == writes
