"""What a notification target looks like to the delivery pipeline."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Protocol

from stocky.core.alerts import Envelope

__all__ = ["Notifier", "target_id"]


def target_id(kind: str, url: str) -> str:
    """A stable, secret-free name for one target: its kind and a digest of its URL.

    Stored with each alert (the targets that already have it), so a retry after a partial
    failure sends only to the targets that missed it, and a changed URL counts as new.
    """
    return f"{kind}:{hashlib.sha256(url.encode()).hexdigest()[:12]}"


class Notifier(Protocol):
    """One delivery target."""

    @property
    def target_id(self) -> str:
        """Stable id (see `target_id`)."""
        ...

    @property
    def label(self) -> str:
        """A printable description with secrets hidden."""
        ...

    def send(self, envelope: Envelope, *, now: dt.datetime, timeout: float | None = None) -> None:
        """Deliver one alert or raise `DeliveryError` saying why.

        Args:
            envelope: The alert.
            now: The time of sending (signatures carry it).
            timeout: Wall-clock seconds the whole call may take (the time left in a delivery
                pass); the target's own limit applies when it is shorter or this is None. A
                call that outlasts it raises `DeliveryError`.
        """
        ...

    def close(self) -> None:
        """Release connections (called once the caller is done sending)."""
        ...
