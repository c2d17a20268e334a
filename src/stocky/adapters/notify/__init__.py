"""Notification targets: Apprise URLs for people, a signed JSON webhook for machines.

`stocky.wiring.notifiers` builds them from the settings.
"""

from __future__ import annotations

from stocky.adapters.notify.base import Notifier, target_id

__all__ = ["Notifier", "target_id"]
