"""Deliver the due alerts of one database after a command's work (daily, scheduler, replay)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stocky.wiring import Stack

__all__ = ["deliver_outbox"]

log = logging.getLogger(__name__)

#: Most alerts one pass handles (one pass, one time limit: STOCKY_ALERT_PASS_SECONDS).
PASS_LIMIT = 2000


def deliver_outbox(stack: Stack, *, now: dt.datetime, include_replay: bool = False) -> str:
    """Send every due alert of the stack's outbox to the configured targets; one summary line.

    With no target configured nothing is sent (the alerts wait for `stocky alerts deliver`).
    A target that refuses is retried later with backoff; it never fails the caller's work.
    The pass stops after `STOCKY_ALERT_PASS_SECONDS`; what it did not reach stays queued.

    Raises:
        BadInput: The alert targets are misconfigured (e.g. a webhook without a secret).
        StoreError: The database failed.
    """
    from stocky.pipelines.alerts import deliver_due
    from stocky.wiring import alert_notifiers, delivery_policy

    settings, outbox = stack.settings, stack.outbox
    notifiers = alert_notifiers(settings)
    if not notifiers:
        return "alerts: no target configured (STOCKY_ALERT_URLS, STOCKY_WEBHOOK_URL); queued"
    try:
        report = deliver_due(
            outbox=outbox,
            notifiers=notifiers,
            now=now,
            policy=delivery_policy(settings),
            include_replay=include_replay,
            limit=PASS_LIMIT,
        )
    finally:
        for notifier in notifiers:
            notifier.close()
    for error in report.errors:
        log.warning("%s", error)
    line = (
        f"alerts: delivered {len(report.delivered)}, retrying later {len(report.retrying)}, "
        f"failed for good {len(report.failed)}"
    )
    if report.deferred:
        why = "out of time" if report.out_of_time else "target(s) skipped after repeated failures"
        line += f", left queued {len(report.deferred)} ({why})"
    return line
