"""Run the API under uvicorn with stocky's socket and connection limits, on 1..N workers.

What this adds to a plain `uvicorn.run`:

- **TCP_NODELAY on every connection.** uvicorn binds the shared socket of `--workers N`
  without naming the TCP protocol, so asyncio skips TCP_NODELAY on the accepted sockets and
  Nagle's algorithm meets delayed ACKs (~40 ms per keep-alive response). The listening socket
  here is a TCP socket with TCP_NODELAY (Linux hands it down to accepted sockets), and each
  connection sets it again when it is made.
- **Connections spread over the workers** (SO_REUSEPORT, see `WorkerSocket`).
- **Read timeouts.** A request head must arrive within `header_timeout` seconds of the
  connection opening (or of its first byte on a kept-alive connection) and a body within
  `body_timeout` seconds of its head; otherwise the server answers 408 and closes.
- **A 16 KiB cap on the request head** (request line and headers), however it arrives: h11
  enforces it only on a head still incomplete, so a 64 KiB head in one write got through. A
  head over the cap is answered 431 and the connection closed.
- **A cap on open connections per worker.** A connection over `max_connections` gets a 503
  with `Connection: close` and `Retry-After` once its request head is in.
- The idle keep-alive timeout is uvicorn's own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from stocky.errors import BadInput

__all__ = [
    "GuardedH11Protocol",
    "ServerLimits",
    "StockyConfig",
    "WorkerSocket",
    "bind_socket",
    "bind_worker_socket",
    "run_server",
    "uvicorn_log_config",
]

log = logging.getLogger(__name__)

#: Largest request head (request line + headers + the blank line) a worker reads, in bytes.
MAX_HEAD_BYTES = 16 * 1024


@dataclass(frozen=True)
class ServerLimits:
    """Per-worker connection limits (see the module docstring)."""

    header_timeout: float = 10.0
    body_timeout: float = 10.0
    keep_alive_timeout: int = 5
    max_connections: int = 1000


class StockyConfig(uvicorn.Config):
    """A uvicorn Config that carries the limits to every worker (it is pickled to them)."""

    def __init__(self, app: Any, *, limits: ServerLimits, **kwargs: Any) -> None:
        super().__init__(
            app, http=GuardedH11Protocol, timeout_keep_alive=limits.keep_alive_timeout, **kwargs
        )
        self.limits = limits


def _tcp_socket(
    host: str, port: int, *, reuse_port: bool, cls: type[socket.socket] = socket.socket
) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP.
    sock = cls(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) with TCP_NODELAY, for one worker to listen on."""
    return _tcp_socket(host, port, reuse_port=False)


class WorkerSocket(socket.socket):
    """The socket of `--workers N`: each worker listens on a socket of its own.

    uvicorn hands the parent's socket to every worker process (pickled). One shared listening
    socket lets whichever worker wakes first accept a whole burst of connections (asyncio
    accepts up to its backlog per wake-up), so kept-alive clients all land on one worker.
    Unpickled in a worker, this becomes a new socket bound to the same address with
    SO_REUSEPORT, and the kernel spreads new connections evenly over the workers. The parent's
    own socket only holds the port: it never listens.
    """

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        host, port = self.getsockname()[:2]
        return _worker_listener, (host, port)


def _worker_listener(host: str, port: int) -> socket.socket:
    return _tcp_socket(host, port, reuse_port=True)


def bind_worker_socket(host: str, port: int) -> socket.socket:
    """The parent's socket for several workers: holds (host, port); see WorkerSocket."""
    return _tcp_socket(host, port, reuse_port=True, cls=WorkerSocket)


def _set_nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as exc:  # the peer is already gone: nothing to speed up
        log.debug("TCP_NODELAY not set on a closing connection: %s", exc)


def _response(status: int, reason: str, detail: str, extra: str = "") -> bytes:
    body = json.dumps({"detail": detail, "errors": []}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


async def _refuse(scope: Any, receive: Any, send: Any) -> None:
    """The ASGI app a connection over the cap gets: 503, then the connection closes."""
    body = json.dumps(
        {
            "detail": "the server is at its connection limit: retry in a moment "
            "(the limit is STOCKY_MAX_CONNECTIONS per worker)",
            "errors": [],
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"retry-after", b"1"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus TCP_NODELAY, head/body read timeouts and a connection cap."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.limits: ServerLimits = getattr(config, "limits", None) or ServerLimits()
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for = ""  # "head" or "body" while a read deadline runs

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        over_cap = len(self.connections) >= self.limits.max_connections
        super().connection_made(transport)
        _set_nodelay(transport)
        if over_cap:
            log.warning(
                "connection limit reached (%d open, STOCKY_MAX_CONNECTIONS=%d): answering 503",
                len(self.connections) - 1,
                self.limits.max_connections,
            )
            self.app = _refuse
        self._watch("head")

    def connection_lost(self, exc: Exception | None) -> None:
        self._watch("")
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_too_large(data):
            return
        super().data_received(data)
        self._follow()

    def _head_too_large(self, data: bytes) -> bool:
        """Refuse a head over MAX_HEAD_BYTES (431, then close); False when it is within."""
        if self.conn.their_state not in (h11.IDLE, h11.DONE) or self.transport.is_closing():
            return False  # a body is arriving, or nothing more is read
        # the head so far: what h11 holds unparsed (an incomplete head, or a pipelined one)
        pending = self.conn.trailing_data[0]
        if len(pending) + len(data) <= MAX_HEAD_BYTES:
            return False
        head = bytes(pending) + data
        if head.find(b"\r\n\r\n", 0, MAX_HEAD_BYTES) >= 0:
            return False
        peer = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.warning("closed the connection of %s: request head over %d bytes", peer, MAX_HEAD_BYTES)
        self._watch("")
        self.transport.write(
            _response(
                431,
                "Request Header Fields Too Large",
                f"the request head (request line and headers) is over {MAX_HEAD_BYTES // 1024} "
                "KiB: send a shorter URL and fewer or smaller headers",
            )
        )
        self.transport.close()
        return True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    # --- read deadlines ---------------------------------------------------------------------

    def _follow(self) -> None:
        """Run the deadline the client's side of the exchange is in (if any)."""
        if self.transport.is_closing():
            self._watch("")
        elif self.conn.their_state is h11.IDLE:
            # a new connection (already watched) or the start of the next request's head;
            # an idle kept-alive connection is uvicorn's keep-alive timeout's business
            if self.conn.trailing_data[0] or self._waiting_for == "head":
                self._watch("head")
            else:
                self._watch("")
        elif self.conn.their_state is h11.SEND_BODY:
            self._watch("body")
        else:
            self._watch("")  # the request is in: the app has it

    def _watch(self, what: str) -> None:
        if what == self._waiting_for:
            return
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._waiting_for = what
        if what:
            delay = self.limits.header_timeout if what == "head" else self.limits.body_timeout
            self._deadline = self.loop.call_later(delay, self._expired, what)

    def _expired(self, what: str) -> None:
        self._deadline = None
        self._waiting_for = ""
        if self.transport.is_closing():
            return
        started = what == "body" or bool(self.conn.trailing_data[0])
        peer = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        if started:
            log.warning(
                "closed the connection of %s: request %s incomplete after %g s "
                "(STOCKY_%s_TIMEOUT_SECONDS)",
                peer,
                what,
                self.limits.header_timeout if what == "head" else self.limits.body_timeout,
                "HEADER" if what == "head" else "BODY",
            )
        cycle = self.cycle if what == "body" else None
        if started and (cycle is None or not cycle.response_started):
            self.transport.write(
                _response(
                    408,
                    "Request Timeout",
                    f"the request {what} did not arrive in time: send the whole request promptly",
                )
            )
        if cycle is not None:  # the app waits in receive(): hand it a disconnect
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()


def uvicorn_log_config(log_level: str, log_format: str) -> dict[str, Any]:
    """uvicorn's logging config for `STOCKY_LOG_FORMAT` (its own formatters for text, JSON
    lines for json) in which stocky's access log follows the server's log level, as
    uvicorn's own does. Every worker applies it (it travels with the pickled Config).
    """
    import copy

    from uvicorn.config import LOGGING_CONFIG

    from stocky.api.accesslog import ACCESS_LOGGER

    config = copy.deepcopy(LOGGING_CONFIG)
    if log_format == "json":
        for name in ("default", "access"):
            config["formatters"][name] = {"()": "stocky.logjson.JsonFormatter"}
    config["loggers"][ACCESS_LOGGER] = {"level": log_level.upper()}
    return config


def run_server(
    *,
    limits: ServerLimits,
    log_repeat_seconds: float,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    log_format: str = "text",
    app: str = "stocky.api.main:app_factory",
) -> None:
    """Serve `app` (an app factory's import string) until interrupted.

    Args:
        limits: The connection limits of every worker (`stocky.wiring.server_limits`; each
            worker builds its app from the environment, like `uvicorn --factory`).
        log_repeat_seconds: How long a repeated log line stays quiet (STOCKY_LOG_REPEAT_SECONDS).
        host: Interface to bind.
        port: Port to bind.
        workers: Worker processes sharing one listening socket.
        log_level: uvicorn's log level.
        log_format: "text" or "json" (STOCKY_LOG_FORMAT), for uvicorn's own lines too.
        app: Import string of the app factory.
    """
    from uvicorn.supervisors import Multiprocess

    from stocky.logguard import install_log_filters

    config = StockyConfig(
        app,
        limits=limits,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=uvicorn_log_config(log_level, log_format),
        access_log=False,  # stocky.access has the latency and request id (stocky.api.accesslog)
    )
    install_log_filters(repeat_seconds=log_repeat_seconds)  # uvicorn's handlers too
    try:
        sock = bind_worker_socket(host, port) if workers > 1 else bind_socket(host, port)
    except OSError as exc:
        raise BadInput(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): pick another --port or "
            "--host, or stop what is listening there"
        ) from exc
    log.info("listening on %s:%d with %d worker(s)", host, sock.getsockname()[1], workers)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
