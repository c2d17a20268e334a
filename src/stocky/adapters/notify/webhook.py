"""A machine webhook: the alert as JSON, signed with HMAC-SHA256.

Header `X-Stocky-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
The receiver recomputes the HMAC over the exact bytes it received, compares in constant time,
and refuses timestamps too far from its clock (replayed requests). The body's `id` is stable
across retries: receivers deduplicate on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from urllib.parse import urlsplit

import httpx

from stocky.adapters.notify.base import target_id
from stocky.adapters.notify.deadline import Deadline, deadline_transport
from stocky.core.alerts import Envelope
from stocky.errors import BadInput, DeliveryError

__all__ = ["SIGNATURE_HEADER", "WebhookNotifier", "sign", "verify"]

SIGNATURE_HEADER = "X-Stocky-Signature"


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The `X-Stocky-Signature` value for `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    secret: bytes, body: bytes, header: str, *, now: dt.datetime, tolerance_seconds: int = 300
) -> bool:
    """True when `header` signs `body` with `secret` and its time is within the tolerance."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class WebhookNotifier:
    """POST each alert to `url` as signed JSON.

    Args:
        url: An http(s) URL.
        secret: The shared signing secret.
        timeout_seconds: Wall-clock limit of one call (connect, send, every read together).
        transport: An httpx transport (tests; no wall-clock limit then); None for the network.

    Raises:
        BadInput: The URL is not http(s) or the secret is empty.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadInput(
                f"STOCKY_WEBHOOK_URL {parts.scheme or '?'}://{parts.hostname or '?'}... is not "
                "an http(s) URL: set it to e.g. https://example.org/hooks/stocky"
            )
        if not secret:
            raise BadInput(
                "STOCKY_WEBHOOK_SECRET is empty: set a long random secret "
                "(e.g. `openssl rand -hex 32`) and give it to the receiver"
            )
        self._url = url
        self._secret = secret.encode()
        self._timeout = timeout_seconds
        self._deadline = Deadline()
        self._transport = transport
        self._label = (
            f"webhook {parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"
        )
        self._id = target_id("webhook", url)
        self._client: httpx.Client | None = None

    @property
    def target_id(self) -> str:
        return self._id

    @property
    def label(self) -> str:
        return self._label

    def send(self, envelope: Envelope, *, now: dt.datetime, timeout: float | None = None) -> None:
        limit = self._timeout if timeout is None else min(self._timeout, timeout)
        body = envelope.to_json()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body, int(now.timestamp())),
            "User-Agent": "stocky-alerts",
        }
        if self._client is None:
            # one client for every send: building one loads the CA bundle (~0.15 s on a busy
            # 2-core machine), which dominated a delivery pass when done per alert
            transport = self._transport or deadline_transport(self._deadline)
            self._client = httpx.Client(timeout=self._timeout, transport=transport)
        self._deadline.start(limit)
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                f"{self._label} did not answer within {limit:g} s ({type(exc).__name__}): check "
                "the receiver answers promptly (STOCKY_ALERT_TIMEOUT_SECONDS bounds each call)"
            ) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"{self._label} did not answer ({type(exc).__name__}: {exc}): check the "
                "receiver is up and reachable from here"
            ) from exc
        finally:
            self._deadline.clear()
        if not response.is_success:
            raise DeliveryError(
                f"{self._label} answered HTTP {response.status_code} "
                f"({response.text[:200]!r}): check the receiver's log and the shared secret"
            )

    def close(self) -> None:
        """Close the HTTP connection pool (sending again opens a new one)."""
        if self._client is not None:
            self._client.close()
            self._client = None
