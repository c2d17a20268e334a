"""Rollback: `champion` back to the version behind `previous`, audited like a promotion."""

from __future__ import annotations

import datetime as dt

from stocky.adapters.ports import AuditLog, PromotionRow, QueuedAlert, Registry
from stocky.core import alert_messages as msgs
from stocky.errors import ModelNotFound

__all__ = ["rollback"]


def rollback(
    *,
    ticker: str,
    registry: Registry,
    audit: AuditLog,
    now: dt.datetime,
    as_of: dt.date | None,
    triggered_by: str = "manual",
    replay: bool = False,
) -> tuple[int, int]:
    """Move `champion` back to the version behind `previous` (and `previous` to the old champion).

    The record is stored with a `rollback` alert (marked a replay's when `replay`).

    Returns:
        (from_version, to_version).

    Raises:
        ModelNotFound: No champion or no previous version to go back to.
    """
    current = registry.alias_version(ticker, "champion")
    previous = registry.alias_version(ticker, "previous")
    if current is None:
        raise ModelNotFound(f"{ticker} has no champion: run `stocky train --ticker {ticker}` first")
    if previous is None:
        raise ModelNotFound(
            f"{ticker} has no 'previous' version to roll back to: a promotion sets it"
        )
    registry.set_alias(ticker, "champion", previous.version)
    registry.set_alias(ticker, "previous", current.version)
    reason = f"rolled back from v{current.version} to v{previous.version} by the operator"
    alert = msgs.rollback(
        ticker=ticker,
        session=as_of or now.date(),
        from_version=current.version,
        to_version=previous.version,
        reason=reason,
    )
    audit.add_promotion(
        PromotionRow(
            ticker=ticker,
            model_name=current.name,
            action="rollback",
            from_version=current.version,
            to_version=previous.version,
            decided_at=now,
            as_of=as_of,
            reason=reason,
            triggered_by=triggered_by,
        ),
        alerts=[QueuedAlert(alert, replay=replay)],
    )
    return current.version, previous.version
