"""Notification targets: Apprise URLs for people, a signed JSON webhook for machines."""

from __future__ import annotations

from stocky.adapters.notify.base import Notifier, target_id
from stocky.config import Settings
from stocky.errors import BadInput

__all__ = ["Notifier", "notifiers_from_settings", "target_id"]


def notifiers_from_settings(settings: Settings) -> list[Notifier]:
    """One notifier per `STOCKY_ALERT_URLS` URL, plus the webhook when `STOCKY_WEBHOOK_URL` is set.

    Raises:
        BadInput: A URL Apprise does not know, a webhook without a secret (or the reverse).
    """
    notifiers: list[Notifier] = []
    if settings.alert_urls is not None:
        from stocky.adapters.notify.human import AppriseNotifier, split_urls

        notifiers.extend(
            AppriseNotifier(url, timeout_seconds=settings.alert_timeout_seconds)
            for url in split_urls(settings.alert_urls.get_secret_value())
        )
    url, secret = settings.webhook_url, settings.webhook_secret
    if url is not None and secret is None:
        raise BadInput(
            "STOCKY_WEBHOOK_URL is set but STOCKY_WEBHOOK_SECRET is not: set a long random "
            "secret (e.g. `openssl rand -hex 32`) so the receiver can verify the signature"
        )
    if url is None and secret is not None:
        raise BadInput(
            "STOCKY_WEBHOOK_SECRET is set but STOCKY_WEBHOOK_URL is not: set the receiver's URL"
        )
    if url is not None and secret is not None:
        from stocky.adapters.notify.webhook import WebhookNotifier

        notifiers.append(
            WebhookNotifier(
                url.get_secret_value(),
                secret.get_secret_value(),
                timeout_seconds=settings.alert_timeout_seconds,
            )
        )
    return notifiers
