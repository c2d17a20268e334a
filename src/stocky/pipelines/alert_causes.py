"""What each cause raises: alerts for retrain decisions, rollbacks and late labels, ready to
be written with their cause (`AuditLog.add_promotion(row, alerts=...)`, `add_alerts`).

The drift states' alerts are built in `stocky.pipelines.drift_states`; the words of every
alert come from `stocky.core.alert_messages`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stocky.adapters.ports import QueuedAlert
from stocky.core import alert_messages as msgs
from stocky.core.alerts import Alert
from stocky.core.sessions import TradingCalendar
from stocky.pipelines.alerts import PendingForecasts, check_labels_late, cooldown_start
from stocky.pipelines.freshness import source_ends

if TYPE_CHECKING:
    from stocky.adapters.ports import PriceStore
    from stocky.adapters.prices.base import PriceSource
    from stocky.core.promotion import Decision

__all__ = ["AlertConfig", "decision_alert", "labels_late_alerts", "queued"]


@dataclass(frozen=True)
class AlertConfig:
    """How pipelines raise alerts (`stocky.wiring.alert_config` reads it from the settings).

    Attributes:
        cooldown_sessions: Sessions a lasting condition stays quiet after it alerted.
        labels_late_hours: Hours after a close before a missing close alerts.
        replay: Alerts come from a replay of history (stored marked, sent only when asked).
    """

    cooldown_sessions: int = 5
    labels_late_hours: float = 6.0
    replay: bool = False


def queued(alert: Alert, *, calendar: TradingCalendar, config: AlertConfig) -> QueuedAlert:
    """`alert` with its cooldown window (conditions only) and replay mark."""
    since = (
        cooldown_start(calendar, alert.session, config.cooldown_sessions)
        if alert.is_condition
        else None
    )
    return QueuedAlert(alert, since, config.replay)


def decision_alert(
    *,
    ticker: str,
    session: dt.date,
    promoted: bool,
    decision: Decision,
    from_version: int | None,
    to_version: int | None,
    reason: str,
) -> Alert:
    """`retrain_promoted` or `retrain_rejected`, with the three holdout RMSEs and the reason."""
    if promoted and to_version is not None:
        return msgs.retrain_promoted(
            ticker=ticker,
            session=session,
            from_version=from_version,
            to_version=to_version,
            champion_rmse=decision.champion_rmse,
            challenger_rmse=decision.challenger_rmse,
            naive_rmse=decision.naive_rmse,
            reason=reason,
        )
    return msgs.retrain_rejected(
        ticker=ticker,
        session=session,
        champion_version=from_version,
        champion_rmse=decision.champion_rmse,
        challenger_rmse=decision.challenger_rmse,
        naive_rmse=decision.naive_rmse,
        reason=reason,
    )


def labels_late_alerts(
    *,
    prices: PriceStore,
    calendar: TradingCalendar,
    ticker: str,
    as_of: dt.date,
    now: dt.datetime,
    config: AlertConfig,
    predictions: PendingForecasts | None = None,
    source: PriceSource | None = None,
) -> list[QueuedAlert]:
    """A `labels_late` alert when forecasts of `ticker` wait for a close that is due
    (`check_labels_late`: the definition the pages use).

    Only a run for the present looks: a run as of an earlier session (a backfill, a replay)
    is not expected to hold later closes. Pass `predictions` (the log whose unlabeled
    forecasts count) and `source` (a static source's end caps the due session); without
    `predictions` a missing due close stands in for an unlabeled forecast.
    """
    alerts = check_labels_late(
        prices=prices,
        calendar=calendar,
        tickers=[ticker],
        now=now,
        grace_hours=config.labels_late_hours,
        pending=predictions,
        source_end=None if source is None else source_ends(lambda: source),
    )
    return [queued(a, calendar=calendar, config=config) for a in alerts if a.session <= as_of]
