"""A retrain killed between the MLflow `champion` switch and its decision row, then rerun for the
same session, over the real SQLite audit log and MLflow registry: the rerun writes the one
decision from the promoted version's tags and registers and promotes nothing more."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from stocky.adapters.ports import AuditLog, PromotionRow, QueuedAlert
from stocky.adapters.store import PriceRepository, make_engine
from stocky.adapters.store.audit import AuditRepository
from stocky.pipelines.retrain import PROMOTED_ON_TAG, RetrainConfig, retrain_ticker
from support import make_settings, registry_for, train_into

pytestmark = pytest.mark.integration

CONFIG = RetrainConfig(
    order="0,1,1", holdout_size=30, validation_size=30, train_window=400, min_train_size=100
)
NOW = dt.datetime(2019, 1, 3, 22, 0, tzinfo=dt.UTC)


class Killed(BaseException):
    """The process died."""


class DiesOnPromotion:
    """An audit log whose process dies when it is about to record a promotion."""

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit

    def add_promotion(self, row: PromotionRow, *, alerts: Sequence[QueuedAlert] = ()) -> int:
        if row.action == "promote":
            raise Killed
        return self._audit.add_promotion(row, alerts=alerts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._audit, name)


def test_a_killed_promotion_is_recorded_once_by_the_rerun(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    train_into(settings, last=700)
    engine = make_engine(settings.db_url)
    try:
        prices = PriceRepository(engine).load("^GSPC")
        as_of = prices["date"].iloc[-1].date()

        def retrain(audit: Any, now: dt.datetime) -> Any:
            return retrain_ticker(
                ticker="^GSPC",
                prices=prices,
                registry=registry_for(settings),  # a fresh process's registry each time
                audit=audit,
                config=CONFIG,
                as_of=as_of,
                now=now,
                triggered_by="schedule",
                force=True,
            )

        with pytest.raises(Killed):
            retrain(DiesOnPromotion(AuditRepository(engine)), NOW)
        registry = registry_for(settings)
        assert registry.aliases("^GSPC") == {"champion": 2, "previous": 1}
        champion = registry.champion("^GSPC")
        assert champion is not None and champion.info.tags[PROMOTED_ON_TAG] == str(as_of)

        audit = AuditRepository(engine)
        result = retrain(audit, NOW + dt.timedelta(hours=2))
        assert (result.promoted, result.from_version, result.to_version) == (True, 1, 2)
        assert result.run_id == champion.info.run_id
        assert registry_for(settings).aliases("^GSPC") == {"champion": 2, "previous": 1}
        assert len(registry_for(settings).versions("^GSPC")) == 2
        rows = [p for p in audit.promotions("^GSPC") if p.as_of == as_of]
        assert [(p.action, p.from_version, p.to_version) for p in rows] == [("promote", 1, 2)]
        # when it was decided, not when the record was finished (SQLite keeps naive UTC)
        assert rows[0].decided_at == NOW.replace(tzinfo=None) and rows[0].triggered_by == "force"
        assert audit.decided_on(["^GSPC"], as_of=as_of) == {"^GSPC"}
    finally:
        engine.dispose()
