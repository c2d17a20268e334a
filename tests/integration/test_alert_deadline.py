"""Alert delivery against receivers that never answer or drip: every call and every pass ends
by its deadline, a broken target is skipped, nothing is lost, and delivery never holds the
daily lock. Real sockets on 127.0.0.1; every wait is bounded."""

from __future__ import annotations

import datetime as dt
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stocky.adapters.lock import exclusive_lock
from stocky.adapters.notify.webhook import WebhookNotifier
from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.alerts import AlertOutbox
from stocky.cli.main import app
from stocky.core import alert_messages as msgs
from stocky.core.alerts import DeliveryPolicy, Envelope
from stocky.errors import DeliveryError
from stocky.pipelines.alerts import deliver_due
from support import make_settings

pytestmark = pytest.mark.integration

SECRET = "test-secret-for-loopback"
S0 = dt.date(2024, 7, 3)
T0 = dt.datetime(2024, 7, 3, 21, 0, tzinfo=dt.UTC)


class RawReceiver:
    """A TCP server on 127.0.0.1 whose behaviour can change between passes.

    hang: accept, read the request, never answer. drip: answer one byte every `drip_every`
    seconds, forever. ok: answer 204 at once.
    """

    def __init__(self, mode: str, drip_every: float = 0.5) -> None:
        self.mode = mode
        self.drip_every = drip_every
        self.accepted = threading.Event()
        self.answered = 0
        self.dripped = 0
        self.stop = threading.Event()
        receiver = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                sock.settimeout(0.2)
                while not receiver.stop.is_set():
                    mode = receiver.mode
                    receiver.accepted.set()
                    if not _read_request(sock, receiver.stop):
                        return
                    if mode == "ok":
                        sock.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
                        receiver.answered += 1
                        continue
                    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: " + b"x" * 1000
                    for byte in head:
                        if receiver.stop.wait(receiver.drip_every if mode == "drip" else 30):
                            return
                        try:
                            sock.sendall(bytes([byte]))
                        except OSError:
                            return
                        receiver.dripped += 1
                    return

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _read_request(sock: socket.socket, stop: threading.Event) -> bool:
    """Read one request (head and Content-Length body); False when the client went away."""
    data = b""
    while b"\r\n\r\n" not in data:
        if stop.is_set():
            return False
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return False
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length and not stop.is_set():
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            return False
        body += chunk
    return True


@pytest.fixture
def servers() -> Iterator[list[RawReceiver]]:
    started: list[RawReceiver] = []
    yield started
    for server in started:
        server.close()


def serve(servers: list[RawReceiver], mode: str) -> RawReceiver:
    server = RawReceiver(mode)
    servers.append(server)
    return server


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[AlertOutbox]:
    engine = make_engine(f"sqlite:///{tmp_path / 'stocky.db'}")
    create_schema(engine)
    yield AlertOutbox(engine)
    engine.dispose()


def degraded(ticker: str):
    return msgs.model_degraded(
        ticker=ticker,
        session=S0,
        metric="rmse",
        window=14,
        latest=42.0,
        baseline=20.0,
        threshold=30.0,
        streak=3,
        naive_latest=40.0,
    )


def queue(outbox: AlertOutbox, count: int) -> list[int]:
    for i in range(count):
        outbox.raise_alert(degraded(f"T{i}"), now=T0)
    return sorted(row.id for row in outbox.recent(limit=100))


def test_a_dripping_receiver_is_cut_at_the_call_deadline(servers):
    drip = serve(servers, "drip")
    notifier = WebhookNotifier(drip.url, SECRET, timeout_seconds=1.5)
    envelope = Envelope(1, degraded("A"), T0)
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=r"did not answer within 1.5 s"):
        notifier.send(envelope, now=T0)
    elapsed = time.monotonic() - started
    notifier.close()
    # each byte came well within a per-read timeout of 1.5 s: only a wall-clock limit stops it
    assert drip.dripped >= 2
    assert 1.4 <= elapsed < 2.5, elapsed


def test_the_pass_ends_by_its_deadline_and_the_rest_is_delivered_later(outbox, servers):
    receiver = serve(servers, "hang")
    ids = queue(outbox, 6)
    notifier = WebhookNotifier(receiver.url, SECRET, timeout_seconds=1.0)
    policy = DeliveryPolicy(max_attempts=5, pass_seconds=1.5, breaker_failures=10)

    started = time.monotonic()
    report = deliver_due(outbox=outbox, notifiers=[notifier], now=T0, policy=policy)
    elapsed = time.monotonic() - started

    assert elapsed < 2.5, elapsed  # 1.5 s pass, not 6 x 1.0 s
    assert report.out_of_time and report.delivered == []
    assert report.retrying == ids[:2]  # 1.0 s, then the 0.5 s left in the pass
    assert report.deferred == ids[2:]
    untouched = [outbox.get(i) for i in ids[2:]]
    assert all(r is not None and (r.status, r.attempts) == ("pending", 0) for r in untouched)
    assert outbox.due(now=T0) != []  # the rest is due at once, nothing lost

    receiver.mode = "ok"
    later = T0 + dt.timedelta(hours=2)  # past the backoff of the two that were tried
    again = deliver_due(outbox=outbox, notifiers=[notifier], now=later, policy=policy)
    notifier.close()
    assert sorted(again.delivered) == ids and receiver.answered == 6
    assert all(outbox.get(i).status == "delivered" for i in ids)  # type: ignore[union-attr]


def test_the_breaker_skips_a_hanging_target_and_keeps_its_alerts_queued(outbox, servers):
    hang, ok = serve(servers, "hang"), serve(servers, "ok")
    ids = queue(outbox, 5)
    notifiers = [
        WebhookNotifier(ok.url, SECRET, timeout_seconds=0.5),
        WebhookNotifier(hang.url, SECRET, timeout_seconds=0.5),
    ]
    policy = DeliveryPolicy(max_attempts=5, pass_seconds=20, breaker_failures=2)

    started = time.monotonic()
    report = deliver_due(outbox=outbox, notifiers=notifiers, now=T0, policy=policy)
    elapsed = time.monotonic() - started

    assert elapsed < 2.0, elapsed  # two timeouts of 0.5 s, then the target is skipped
    assert not report.out_of_time and len(report.broken_targets) == 1
    assert report.retrying == ids[:2] and report.deferred == ids[2:]
    assert ok.answered == 5  # the healthy target got every alert in the same pass
    for alert_id in ids[2:]:
        row = outbox.get(alert_id)
        assert row is not None and (row.status, row.attempts) == ("pending", 0)
        assert list(row.targets_done) == [notifiers[0].target_id]

    hang.mode = "ok"
    later = T0 + dt.timedelta(hours=2)
    again = deliver_due(outbox=outbox, notifiers=notifiers, now=later, policy=policy)
    for notifier in notifiers:
        notifier.close()
    assert sorted(again.delivered) == ids
    assert (ok.answered, hang.answered) == (5, 5)  # nothing sent twice, nothing lost


def test_cli_deliver_against_a_dripping_receiver_ends_in_time(cli_env, servers, monkeypatch):
    drip = serve(servers, "drip")
    monkeypatch.setenv("STOCKY_WEBHOOK_URL", drip.url)
    monkeypatch.setenv("STOCKY_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("STOCKY_ALERT_TIMEOUT_SECONDS", "1")
    from stocky.config import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    settings.ensure_home()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    AlertOutbox(engine).raise_alert(degraded("A"), now=dt.datetime.now(dt.UTC))
    engine.dispose()

    started = time.monotonic()
    result = CliRunner().invoke(app, ["alerts", "deliver", "--limit", "1"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "retrying later 1" in result.output and "within 1 s" in result.output
    assert elapsed < 4.0, elapsed


def test_a_second_daily_takes_the_lock_while_the_first_delivers(fresh_trained_home, servers):
    from stocky.cli.daily import run_daily_cli

    receiver = serve(servers, "hang")
    home = fresh_trained_home()
    settings = make_settings(
        home,
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        alert_timeout_seconds=3.0,
        alert_pass_seconds=3.0,
    )
    engine = make_engine(settings.db_url)
    outbox = AlertOutbox(engine)
    outbox.raise_alert(degraded("^GSPC"), now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    codes: list[int] = []
    first = threading.Thread(
        target=lambda: codes.append(
            run_daily_cli(
                settings,
                as_of="2018-12-28",
                retrain_mode="never",
                tickers=["^GSPC"],
                forecast=False,
                report=False,
            )
        ),
        daemon=True,
    )
    first.start()
    try:
        assert receiver.accepted.wait(120), "the first daily never started delivering"
        # the first run is blocked on the receiver now; the lock must be free
        with exclusive_lock(home / "daily.lock", what="a second daily job"):
            assert first.is_alive()
    finally:
        first.join(timeout=30)
    assert not first.is_alive() and codes == [0]
    (row,) = outbox.recent()
    assert (row.status, row.attempts) == ("pending", 1)  # kept for the next pass
    engine.dispose()


def test_an_apprise_call_to_a_hanging_receiver_ends_at_its_limit(servers):
    from stocky.adapters.notify.human import AppriseNotifier

    hang = serve(servers, "hang")
    port = hang.server.server_address[1]
    notifier = AppriseNotifier(f"json://127.0.0.1:{port}/", timeout_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=r"did not finish within 1 s"):
        notifier.send(Envelope(1, degraded("A"), T0), now=T0)
    assert time.monotonic() - started < 2.0
    assert hang.accepted.is_set()
