"""Deliver the due alerts of one database after a command's work (daily, scheduler, replay)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stocky.wiring import Stack

__all__ = ["deliver_outbox"]

log = logging.getLogger(__name__)

#: Passes over the outbox at most (each sends up to `PASS_LIMIT` alerts).
MAX_PASSES = 20
PASS_LIMIT = 100


def deliver_outbox(stack: Stack, *, now: dt.datetime, include_replay: bool = False) -> str:
    """Send every due alert of the stack's outbox to the configured targets; one summary line.

    With no target configured nothing is sent (the alerts wait for `stocky alerts deliver`).
    A target that refuses is retried later with backoff; it never fails the caller's work.

    Raises:
        BadInput: The alert targets are misconfigured (e.g. a webhook without a secret).
        StoreError: The database failed.
    """
    from stocky.adapters.notify import notifiers_from_settings
    from stocky.pipelines.alerts import deliver_due, policy_from_settings

    settings, outbox = stack.settings, stack.outbox
    notifiers = notifiers_from_settings(settings)
    if not notifiers:
        return "alerts: no target configured (STOCKY_ALERT_URLS, STOCKY_WEBHOOK_URL); queued"
    delivered = retrying = failed = 0
    try:
        for _ in range(MAX_PASSES):
            report = deliver_due(
                outbox=outbox,
                notifiers=notifiers,
                now=now,
                policy=policy_from_settings(settings),
                include_replay=include_replay,
                limit=PASS_LIMIT,
            )
            delivered += len(report.delivered)
            retrying += len(report.retrying)
            failed += len(report.failed)
            for error in report.errors:
                log.warning("%s", error)
            handled = len(report.delivered) + len(report.retrying) + len(report.failed)
            if handled < PASS_LIMIT:
                break
    finally:
        for notifier in notifiers:
            notifier.close()
    return f"alerts: delivered {delivered}, retrying later {retrying}, failed for good {failed}"
