"""The alert outbox and its delivery on real databases and real HTTP receivers on loopback."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from stocky.adapters.notify.human import AppriseNotifier
from stocky.adapters.notify.webhook import SIGNATURE_HEADER, WebhookNotifier
from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.alerts import AddOutcome, AlertOutbox
from stocky.adapters.store.tables import alerts, promotions
from stocky.cli.main import app
from stocky.core import alert_messages as msgs
from stocky.core.alerts import DeliveryPolicy
from stocky.core.sessions import TradingCalendar
from stocky.pipelines.alerts import deliver_due, queue_alert, raise_alert
from support import free_port

pytestmark = pytest.mark.integration

T0 = dt.datetime(2024, 7, 3, 21, 0, tzinfo=dt.UTC)
S0 = dt.date(2024, 7, 3)
SECRET = "test-secret-for-loopback"
POLICY = DeliveryPolicy(max_attempts=3, backoff_seconds=60, max_backoff_seconds=600)


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers `status`."""

    def __init__(self, port: int, status: int = 200) -> None:
        self.port = port
        self.status = status
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return  # keep test output clean

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.close()


def start(receivers: list[Receiver], port: int | None = None, status: int = 200) -> Receiver:
    receiver = Receiver(port or free_port(), status)
    receivers.append(receiver)
    return receiver


@pytest.fixture(scope="module")
def calendar() -> TradingCalendar:
    return TradingCalendar("XNYS")


@pytest.fixture
def sqlite_outbox(tmp_path: Path) -> Iterator[AlertOutbox]:
    engine = make_engine(f"sqlite:///{tmp_path / 'stocky.db'}")
    create_schema(engine)
    yield AlertOutbox(engine)
    engine.dispose()


@pytest.fixture
def outbox(db_url: str) -> Iterator[AlertOutbox]:
    """On SQLite and on PostgreSQL."""
    engine = make_engine(db_url)
    create_schema(engine)
    yield AlertOutbox(engine)
    engine.dispose()


def degraded(session: dt.date = S0, ticker: str = "^GSPC"):
    return msgs.model_degraded(
        ticker=ticker,
        session=session,
        metric="rmse",
        window=14,
        latest=42.0,
        baseline=20.0,
        threshold=30.0,
        streak=3,
        naive_latest=40.0,
    )


def promoted(session: dt.date = S0):
    return msgs.retrain_promoted(
        ticker="^GSPC",
        session=session,
        from_version=1,
        to_version=2,
        champion_rmse=1.5,
        challenger_rmse=1.2,
        naive_rmse=1.3,
        reason="better.",
    )


def webhook(url: str) -> WebhookNotifier:
    return WebhookNotifier(url, SECRET, timeout_seconds=2)


def row_count(outbox: AlertOutbox) -> int:
    with outbox.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(alerts)).scalar_one())


# --- raising: dedup, cooldown, same transaction ------------------------------------------


def test_same_ticker_kind_session_is_stored_once(outbox, calendar):
    common = {"outbox": outbox, "calendar": calendar, "cooldown_sessions": 0}
    assert raise_alert(degraded(), now=T0, **common) is AddOutcome.ADDED
    assert raise_alert(degraded(), now=T0 + dt.timedelta(hours=1), **common) is (
        AddOutcome.DUPLICATE
    )
    assert raise_alert(degraded(ticker="MSFT"), now=T0, **common) is AddOutcome.ADDED
    assert row_count(outbox) == 2


def test_cooldown_silences_a_condition_for_n_sessions_but_not_events(outbox, calendar):
    common = {"outbox": outbox, "calendar": calendar, "cooldown_sessions": 3}
    sessions = calendar.sessions_in_range(S0, dt.date(2024, 7, 15))  # 07-04 is a holiday
    assert sessions[:4] == [S0, dt.date(2024, 7, 5), dt.date(2024, 7, 8), dt.date(2024, 7, 9)]
    outcomes = [raise_alert(degraded(s), now=T0, **common) for s in sessions[:4]]
    assert outcomes == [
        AddOutcome.ADDED,
        AddOutcome.COOLDOWN,
        AddOutcome.COOLDOWN,
        AddOutcome.ADDED,
    ]
    events = [raise_alert(promoted(s), now=T0, **common) for s in sessions[:2]]
    assert events == [AddOutcome.ADDED, AddOutcome.ADDED]


def test_alert_rolls_back_with_its_cause_and_a_duplicate_keeps_the_transaction(outbox, calendar):
    cause = {
        "ticker": "^GSPC",
        "model_name": "stocky-^GSPC",
        "action": "promote",
        "decided_at": T0,
        "reason": "better",
        "triggered_by": "drift",
    }
    common = {"outbox": outbox, "calendar": calendar, "now": T0, "cooldown_sessions": 0}
    with pytest.raises(RuntimeError, match="crash"), outbox.engine.begin() as conn:
        conn.execute(promotions.insert().values(**cause))
        assert queue_alert(conn, promoted(), **common) is AddOutcome.ADDED
        raise RuntimeError("crash after the alert was queued")
    assert row_count(outbox) == 0

    with outbox.engine.begin() as conn:
        conn.execute(promotions.insert().values(**cause))
        assert queue_alert(conn, promoted(), **common) is AddOutcome.ADDED
        assert queue_alert(conn, promoted(), **common) is AddOutcome.DUPLICATE
        conn.execute(promotions.insert().values(**cause))  # still usable after the conflict
    assert row_count(outbox) == 1
    with outbox.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(promotions)).scalar() == 2


def test_a_second_sender_cannot_claim_an_alert_being_sent(outbox, calendar):
    raise_alert(degraded(), outbox=outbox, calendar=calendar, now=T0, cooldown_sessions=0)
    (row,) = outbox.due(now=T0)
    lease = dt.timedelta(minutes=5)
    assert outbox.claim(row, now=T0, lease=lease)
    assert not outbox.claim(row, now=T0, lease=lease)  # same snapshot, already taken
    assert outbox.due(now=T0 + dt.timedelta(minutes=4)) == []
    assert [r.id for r in outbox.due(now=T0 + dt.timedelta(minutes=6))] == [row.id]  # lease over


# --- delivery over HTTP on loopback --------------------------------------------------------


def test_webhook_receives_signed_json_once(sqlite_outbox, calendar, receivers):
    receiver = start(receivers)
    raise_alert(degraded(), outbox=sqlite_outbox, calendar=calendar, now=T0, cooldown_sessions=0)
    send_at = T0 + dt.timedelta(seconds=5)

    report = deliver_due(
        outbox=sqlite_outbox, notifiers=[webhook(receiver.url)], now=send_at, policy=POLICY
    )
    again = deliver_due(
        outbox=sqlite_outbox, notifiers=[webhook(receiver.url)], now=send_at, policy=POLICY
    )

    assert len(report.delivered) == 1 and again.delivered == []
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    signature = {k.lower(): v for k, v in headers.items()}[SIGNATURE_HEADER.lower()]
    timestamp, v1 = (part.split("=", 1)[1] for part in signature.split(","))
    assert int(timestamp) == int(send_at.timestamp())
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(v1, expected.hexdigest())
    document = json.loads(body)
    assert document["ticker"] == "^GSPC" and document["kind"] == "model_degraded"
    assert document["data"]["latest"] == 42.0 and "What to do:" in document["message"]
    (row,) = sqlite_outbox.recent()
    assert (row.status, row.attempts, row.delivered_at) == ("delivered", 1, send_at)


def test_a_receiver_that_is_down_gets_the_alert_later_exactly_once(
    sqlite_outbox, calendar, receivers
):
    port = free_port()  # nothing listens there yet
    notifiers = [webhook(f"http://127.0.0.1:{port}/hook")]
    raise_alert(degraded(), outbox=sqlite_outbox, calendar=calendar, now=T0, cooldown_sessions=0)

    first = deliver_due(outbox=sqlite_outbox, notifiers=notifiers, now=T0, policy=POLICY)
    assert len(first.retrying) == 1 and "did not answer" in first.errors[0]
    (row,) = sqlite_outbox.recent()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == T0 + dt.timedelta(seconds=60)

    receiver = start(receivers, port=port)
    early = deliver_due(
        outbox=sqlite_outbox, notifiers=notifiers, now=T0 + dt.timedelta(seconds=30), policy=POLICY
    )
    assert early.delivered == [] and receiver.requests == []  # backing off
    for later in (61, 120, 3600):
        deliver_due(
            outbox=sqlite_outbox,
            notifiers=notifiers,
            now=T0 + dt.timedelta(seconds=later),
            policy=POLICY,
        )
    assert len(receiver.requests) == 1
    (row,) = sqlite_outbox.recent()
    assert (row.status, row.attempts, row.last_error) == ("delivered", 2, None)


def test_a_retry_only_goes_to_the_target_that_missed_it(sqlite_outbox, calendar, receivers):
    up, down = start(receivers), start(receivers, status=503)
    notifiers = [webhook(up.url), webhook(down.url)]
    raise_alert(promoted(), outbox=sqlite_outbox, calendar=calendar, now=T0, cooldown_sessions=0)
    deliver_due(outbox=sqlite_outbox, notifiers=notifiers, now=T0, policy=POLICY)
    down.status = 200
    deliver_due(
        outbox=sqlite_outbox, notifiers=notifiers, now=T0 + dt.timedelta(hours=1), policy=POLICY
    )
    assert (len(up.requests), len(down.requests)) == (1, 2)  # down: the 503, then the delivery
    assert sqlite_outbox.recent()[0].status == "delivered"


def test_after_the_last_attempt_the_alert_is_failed_and_kept(sqlite_outbox, calendar, receivers):
    down = start(receivers, status=500)
    raise_alert(promoted(), outbox=sqlite_outbox, calendar=calendar, now=T0, cooldown_sessions=0)
    moment = T0
    for _ in range(POLICY.max_attempts + 2):
        deliver_due(outbox=sqlite_outbox, notifiers=[webhook(down.url)], now=moment, policy=POLICY)
        moment += dt.timedelta(hours=1)
    assert len(down.requests) == POLICY.max_attempts
    (row,) = sqlite_outbox.recent(status="failed")
    assert row.attempts == POLICY.max_attempts and "HTTP 500" in (row.last_error or "")


def test_replay_alerts_wait_until_asked_and_say_replay(sqlite_outbox, calendar, receivers):
    receiver = start(receivers)
    raise_alert(
        degraded(),
        outbox=sqlite_outbox,
        calendar=calendar,
        now=T0,
        cooldown_sessions=0,
        replay=True,
    )
    notifiers = [webhook(receiver.url)]
    deliver_due(outbox=sqlite_outbox, notifiers=notifiers, now=T0, policy=POLICY)
    assert receiver.requests == []
    deliver_due(
        outbox=sqlite_outbox, notifiers=notifiers, now=T0, policy=POLICY, include_replay=True
    )
    document = json.loads(receiver.requests[0][1])
    assert document["replay"] is True and document["message"].startswith("REPLAY:")


def test_apprise_json_url_receives_the_human_message(sqlite_outbox, calendar, receivers):
    receiver = start(receivers)
    notifier = AppriseNotifier(f"json://127.0.0.1:{receiver.port}/")
    raise_alert(degraded(), outbox=sqlite_outbox, calendar=calendar, now=T0, cooldown_sessions=0)
    report = deliver_due(outbox=sqlite_outbox, notifiers=[notifier], now=T0, policy=POLICY)
    assert len(report.delivered) == 1
    document = json.loads(receiver.requests[0][1])
    assert document["title"] == "[stocky] ^GSPC: model degraded (rmse 2.1x baseline)"
    assert document["message"].startswith("^GSPC: model degraded as of 2024-07-03.")
    assert document["type"] == "warning"


def test_apprise_failure_is_retried(sqlite_outbox, calendar, receivers):
    down = start(receivers, status=500)
    notifier = AppriseNotifier(f"json://127.0.0.1:{down.port}/")
    raise_alert(promoted(), outbox=sqlite_outbox, calendar=calendar, now=T0, cooldown_sessions=0)
    report = deliver_due(outbox=sqlite_outbox, notifiers=[notifier], now=T0, policy=POLICY)
    assert len(report.retrying) == 1 and "apprise json://127.0.0.1" in report.errors[0]


# --- the CLI -------------------------------------------------------------------------------


def test_cli_test_list_and_deliver(cli_env, receivers, monkeypatch):
    receiver = start(receivers)
    runner = CliRunner()
    unconfigured = runner.invoke(app, ["alerts", "test"])
    assert unconfigured.exit_code == 2 and "STOCKY_ALERT_URLS" in unconfigured.output

    monkeypatch.setenv("STOCKY_ALERT_URLS", f"json://127.0.0.1:{receiver.port}/")
    monkeypatch.setenv("STOCKY_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("STOCKY_WEBHOOK_SECRET", SECRET)
    from stocky.config import get_settings

    get_settings.cache_clear()
    sent = runner.invoke(app, ["alerts", "test"])
    assert sent.exit_code == 0, sent.output
    assert sent.output.count(": ok") == 2 and len(receiver.requests) == 2

    settings = get_settings()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    outbox = AlertOutbox(engine)
    now = dt.datetime.now(dt.UTC)
    outbox.raise_alert(degraded(), now=now)
    outbox.raise_alert(degraded(ticker="MSFT"), now=now, replay=True)
    engine.dispose()

    listed = runner.invoke(app, ["alerts", "list", "--status", "pending"])
    assert listed.exit_code == 0, listed.output
    assert "^GSPC" in listed.output and "MSFT" in listed.output and "[replay]" in listed.output
    delivered = runner.invoke(app, ["alerts", "deliver"])
    assert delivered.exit_code == 0, delivered.output
    assert "delivered 1," in delivered.output and len(receiver.requests) == 4
    bad = runner.invoke(app, ["alerts", "list", "--status", "sent"])
    assert bad.exit_code == 2 and "use one of" in bad.output
