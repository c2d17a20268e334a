"""The uvicorn server stocky runs (stocky.api.server), in-process on loopback with a tiny app:
TCP_NODELAY on accepted connections, head/body read timeouts, keep-alive, the connection cap.
"""

from __future__ import annotations

import json
import pickle
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn

from stocky.api.server import ServerLimits, StockyConfig, bind_socket, bind_worker_socket

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
GET = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"


class Echo:
    """An ASGI app answering 200 with the body length; records disconnects it is handed."""

    def __init__(self) -> None:
        self.disconnects = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnects += 1
                return
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        body = json.dumps({"size": size}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


Start = Callable[[ServerLimits], tuple[int, uvicorn.Server, Echo]]


@pytest.fixture
def start() -> Iterator[Start]:
    running: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def run(limits: ServerLimits) -> tuple[int, uvicorn.Server, Echo]:
        app = Echo()
        config = StockyConfig(app, limits=limits, lifespan="off", log_level="warning")
        server = uvicorn.Server(config)
        sock = bind_socket(HOST, 0)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        running.append((server, thread, sock))
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return sock.getsockname()[1], server, app

    yield run
    for server, thread, sock in running:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _connect(port: int) -> socket.socket:
    conn = socket.create_connection((HOST, port), timeout=5)
    return conn


def _response(conn: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One whole response (status, headers, body) from a connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, f"connection closed before a response head: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    size = int(headers["content-length"])
    while len(rest) < size:
        chunk = conn.recv(65536)
        assert chunk
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:size]


def _closed_after(conn: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    start, data = time.monotonic(), b""
    while chunk := conn.recv(65536):
        data += chunk
    return data, time.monotonic() - start


def test_listening_socket_is_tcp_with_nodelay_and_accepted_sockets_inherit_it():
    with bind_socket(HOST, 0) as listener:
        # proto TCP (not 0): asyncio sets TCP_NODELAY itself only on such sockets
        assert listener.proto == socket.IPPROTO_TCP
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        listener.listen()
        with _connect(listener.getsockname()[1]):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_each_worker_gets_a_listener_of_its_own_and_connections_spread_over_them():
    from multiprocessing.reduction import ForkingPickler

    with bind_worker_socket(HOST, 0) as parent:  # holds the port, never listens
        port = parent.getsockname()[1]
        # what uvicorn does to hand the socket to each spawned worker
        workers = [pickle.loads(ForkingPickler.dumps(parent)) for _ in range(2)]
        try:
            for w in workers:
                assert w.getsockname()[1] == port and w.fileno() != parent.fileno()
                assert w.proto == socket.IPPROTO_TCP
                assert w.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) != 0
                assert w.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                w.listen()
                w.setblocking(False)
            clients = [_connect(port) for _ in range(32)]
            time.sleep(0.1)
            accepted = [0, 0]
            for i, w in enumerate(workers):
                while True:
                    try:
                        conn, _ = w.accept()
                    except BlockingIOError:
                        break
                    conn.close()
                    accepted[i] += 1
            for c in clients:
                c.close()
        finally:
            for w in workers:
                w.close()
    assert sum(accepted) == 32
    assert min(accepted) >= 4, f"the kernel gave the workers {accepted} connections"


def test_every_connection_the_server_accepts_has_tcp_nodelay(start: Start):
    port, server, _app = start(ServerLimits())
    clients = [_connect(port) for _ in range(3)]
    try:
        for c in clients:
            c.sendall(GET)
            assert _response(c)[0] == 200
        connections = list(server.server_state.connections)
        assert len(connections) == 3
        for protocol in connections:
            sock = protocol.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for c in clients:
            c.close()


def test_a_half_sent_head_gets_408_and_is_closed(start: Start):
    port, _server, _app = start(ServerLimits(header_timeout=0.4))
    with _connect(port) as c:
        c.sendall(b"GET /x HTTP/1.1\r\nHost: t")
        data, waited = _closed_after(c)
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"connection: close" in data
    assert json.loads(data.partition(b"\r\n\r\n")[2])["detail"].startswith("the request head")
    assert 0.3 < waited < 3


def test_a_silent_connection_is_closed_without_an_answer(start: Start):
    port, _server, _app = start(ServerLimits(header_timeout=0.4))
    with _connect(port) as c:
        data, waited = _closed_after(c)
    assert data == b""
    assert 0.3 < waited < 3


def test_trickling_bytes_does_not_extend_the_head_deadline(start: Start):
    port, _server, _app = start(ServerLimits(header_timeout=0.5))
    head = b"GET /x HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 40  # 4.5 s at 10 bytes/s
    answer = None
    with _connect(port) as c:
        started = time.monotonic()
        for byte in head:  # slowloris: one byte every 0.1 s
            try:
                c.sendall(bytes([byte]))
            except OSError:  # reset: the server closed
                answer = b""
                break
            if select.select([c], [], [], 0.1)[0]:
                answer = _closed_after(c)[0]
                break
        waited = time.monotonic() - started
    assert answer is not None, "the server kept a trickling connection for the whole head"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 ")
    assert 0.4 < waited < 2.0


def test_an_idle_kept_alive_connection_is_not_cut_by_the_head_timeout(start: Start):
    port, _server, _app = start(ServerLimits(header_timeout=0.3, keep_alive_timeout=5))
    with _connect(port) as c:
        for _ in range(2):
            c.sendall(GET)
            assert _response(c)[0] == 200
            time.sleep(0.6)  # idle longer than the head timeout, shorter than keep-alive


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(start: Start):
    port, _server, _app = start(ServerLimits(keep_alive_timeout=1))
    with _connect(port) as c:
        c.sendall(GET)
        assert _response(c)[0] == 200
        data, waited = _closed_after(c)
    assert data == b"" and 0.8 < waited < 4


def test_a_half_sent_body_gets_408_and_the_app_a_disconnect(start: Start):
    port, _server, app = start(ServerLimits(body_timeout=0.4))
    with _connect(port) as c:
        c.sendall(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        data, waited = _closed_after(c)
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert json.loads(data.partition(b"\r\n\r\n")[2])["detail"].startswith("the request body")
    assert 0.3 < waited < 3
    deadline = time.monotonic() + 2
    while app.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert app.disconnects == 1


def test_a_whole_body_is_served(start: Start):
    port, _server, _app = start(ServerLimits(body_timeout=0.4))
    with _connect(port) as c:
        c.sendall(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n" + b"x" * 40)
        time.sleep(0.1)
        c.sendall(b"y" * 60)
        status, _headers, body = _response(c)
    assert status == 200 and json.loads(body) == {"size": 100}


def test_connections_over_the_cap_get_a_clean_503(start: Start):
    port, _server, _app = start(ServerLimits(max_connections=3))
    held = [_connect(port) for _ in range(3)]
    try:
        for c in held:
            c.sendall(GET)
            assert _response(c)[0] == 200  # three open, kept alive
        with _connect(port) as extra:
            extra.sendall(GET)
            status, headers, body = _response(extra)
            assert status == 503
            assert headers["connection"] == "close" and headers["retry-after"] == "1"
            assert "STOCKY_MAX_CONNECTIONS" in json.loads(body)["detail"]
            assert extra.recv(1) == b""  # and closed
        held.pop().close()
        time.sleep(0.2)  # the server notices the close
        with _connect(port) as again:
            again.sendall(GET)
            assert _response(again)[0] == 200
    finally:
        for c in held:
            c.close()


def _head_of(size: int) -> bytes:
    """A GET whose head (request line, headers, blank line) is exactly `size` bytes."""
    start = b"GET /x HTTP/1.1\r\nHost: t\r\nX-Pad: "
    return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"


@pytest.mark.parametrize("size", [17 * 1024, 64 * 1024])
def test_a_head_over_16_kib_in_one_write_gets_431_and_is_closed(start: Start, size: int):
    port, _server, app = start(ServerLimits())
    with _connect(port) as c:
        c.sendall(_head_of(size))
        data, _ = _closed_after(c)
    assert data.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), data[:80]
    assert "16 KiB" in json.loads(data.partition(b"\r\n\r\n")[2])["detail"]
    assert app.disconnects == 0  # the app never saw it


def test_a_head_over_16_kib_in_small_writes_gets_431(start: Start):
    port, _server, _app = start(ServerLimits())
    head = _head_of(20 * 1024)
    with _connect(port) as c:
        for i in range(0, len(head), 4096):
            c.sendall(head[i : i + 4096])
            time.sleep(0.01)
        data, _ = _closed_after(c)
    assert data.startswith(b"HTTP/1.1 431 "), data[:80]


def test_a_head_of_16_kib_is_served_and_a_kept_alive_second_one_over_it_is_not(start: Start):
    port, _server, _app = start(ServerLimits())
    with _connect(port) as c:
        c.sendall(_head_of(16 * 1024))
        assert _response(c)[0] == 200
        c.sendall(_head_of(16 * 1024 + 1))
        data, _ = _closed_after(c)
    assert data.startswith(b"HTTP/1.1 431 "), data[:80]
