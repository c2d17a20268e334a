"""A wall-clock deadline for a whole HTTP call, not for each read.

httpx's timeouts bound each connect, read and write: a receiver that drips one byte a second
never trips a 10 s read timeout and holds the call for as long as it likes. Here every socket
operation of the call gets the time left until the call's deadline (at most its own timeout),
and one that starts after the deadline fails at once with a timeout.
"""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import Callable, Iterable

import httpcore
import httpx

__all__ = ["Deadline", "deadline_transport"]


class Deadline:
    """The end of the current call on a monotonic clock; None: no deadline.

    Args:
        clock: Monotonic seconds (tests may pass a fake).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.at: float | None = None

    def start(self, seconds: float) -> None:
        """The call that starts now may last `seconds`."""
        self.at = self._clock() + seconds

    def clear(self) -> None:
        self.at = None

    def bound(self, timeout: float | None, *, what: str) -> float | None:
        """`timeout` shortened to the time left.

        Raises:
            httpcore.ReadTimeout: The deadline has passed (httpx reports it as a ReadTimeout).
        """
        if self.at is None:
            return timeout
        left = self.at - self._clock()
        if left <= 0:
            raise httpcore.ReadTimeout(f"the call's deadline passed before {what}")
        return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.bound(timeout, what="a read"))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.bound(timeout, what="a write"))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = self._deadline.bound(timeout, what="the TLS handshake")
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, bounded), self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, deadline: Deadline) -> None:
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = self._deadline.bound(timeout, what="connecting")
        stream = self._inner.connect_tcp(host, port, bounded, local_address, socket_options)
        return _Stream(stream, self._deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = self._deadline.bound(timeout, what="connecting")
        return _Stream(
            self._inner.connect_unix_socket(path, bounded, socket_options), self._deadline
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(deadline: Deadline) -> httpx.HTTPTransport:
    """An httpx transport whose every socket operation honours `deadline`.

    httpx does not take a network backend, so the transport's connection pool is replaced by
    one built with the deadline-aware backend (the same defaults: TLS verified, HTTP/1.1).
    tests/integration/test_alert_deadline.py fails if an httpx upgrade bypasses it.
    """
    transport = httpx.HTTPTransport()
    transport._pool = httpcore.ConnectionPool(  # noqa: SLF001 (see the docstring)
        ssl_context=httpx.create_ssl_context(),
        max_connections=10,
        max_keepalive_connections=5,
        keepalive_expiry=5.0,
        network_backend=_Backend(deadline),
    )
    return transport
