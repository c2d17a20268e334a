"""Notifications for people through Apprise (Slack, Teams, Discord, e-mail, ntfy, JSON, ...).

One notifier per URL, so a retry after one target failed does not repeat the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from stocky.adapters.notify.base import target_id
from stocky.core.alerts import Envelope
from stocky.errors import BadInput, DeliveryError

__all__ = ["AppriseNotifier", "split_urls"]

log = logging.getLogger(__name__)


def split_urls(value: str) -> list[str]:
    """Apprise URLs separated by spaces or commas (commas inside a URL's query are kept)."""
    from apprise.utils.parse import parse_urls

    return [url for url in parse_urls(value) if url]


class AppriseNotifier:
    """Send the alert's title and message to one Apprise URL.

    Args:
        url: An Apprise URL.
        timeout_seconds: Wall-clock limit of one call. Apprise's own timeouts bound each read,
            so the call runs on a daemon thread and is abandoned (reported as failed) when it
            outlasts the limit; it may still finish later, so a retry can repeat the message.

    Raises:
        BadInput: Apprise does not recognise the URL.
    """

    def __init__(self, url: str, *, timeout_seconds: float = 10.0) -> None:
        import apprise

        self._timeout = timeout_seconds

        self._apprise: Any = apprise.Apprise()
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        if not self._apprise.add(url):
            raise BadInput(
                f"STOCKY_ALERT_URLS has a URL Apprise cannot use (scheme {scheme!r}): see "
                "https://github.com/caronc/apprise/wiki for the URL of each service"
            )
        self._label = f"apprise {self._apprise[0].url(privacy=True).split('?', 1)[0]}"
        self._id = target_id("apprise", url)

    @property
    def target_id(self) -> str:
        return self._id

    @property
    def label(self) -> str:
        return self._label

    def send(self, envelope: Envelope, *, now: dt.datetime, timeout: float | None = None) -> None:
        limit = self._timeout if timeout is None else min(self._timeout, timeout)
        outcome: list[tuple[bool, str] | BaseException] = []
        worker = threading.Thread(
            target=self._notify, args=(envelope, outcome), name="stocky-apprise", daemon=True
        )
        worker.start()
        worker.join(limit)
        if not outcome:
            raise DeliveryError(
                f"{self._label} did not finish within {limit:g} s: check the service answers "
                "promptly (STOCKY_ALERT_TIMEOUT_SECONDS bounds each call)"
            )
        result = outcome[0]
        if isinstance(result, BaseException):
            raise DeliveryError(
                f"{self._label} failed ({type(result).__name__}: {result}): check the service "
                "URL with `stocky alerts test`"
            ) from result
        ok, captured = result
        if not ok:
            reason = " ".join(captured.split())[-300:] or "no reason given"
            raise DeliveryError(
                f"{self._label} refused or did not answer ({reason}): check the service URL "
                "and its credentials with `stocky alerts test`"
            )

    def _notify(self, envelope: Envelope, outcome: list[tuple[bool, str] | BaseException]) -> None:
        import apprise

        try:
            with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
                ok = self._apprise.notify(
                    body=envelope.body, title=envelope.title, notify_type=envelope.severity
                )
            outcome.append((bool(ok), captured.getvalue()))
        except Exception as exc:  # handed to the caller's thread, which raises DeliveryError
            outcome.append(exc)

    def close(self) -> None:
        """Nothing to release: Apprise opens a connection per notification."""
