"""Alerts raised by their causes on a real SQLite database, and a replay's alerts delivered to
a webhook receiver on loopback only when asked.

The replay runs on a SYNTHETIC price series (seeded numpy random walk whose daily volatility
triples), read through the CSV source.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from fakes import price_frame
from stocky.adapters.notify.webhook import SIGNATURE_HEADER, verify
from stocky.adapters.ports import PromotionRow, QueuedAlert
from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.alerts import AlertOutbox
from stocky.adapters.store.audit import AuditRepository
from stocky.adapters.store.tables import alerts, promotions
from stocky.cli.main import app
from stocky.config import get_settings
from stocky.core import alert_messages as msgs
from stocky.errors import StoreError
from support import free_port

pytestmark = pytest.mark.integration

NOW = dt.datetime(2024, 7, 3, 21, 0, tzinfo=dt.UTC)
SESSION = dt.date(2024, 7, 3)
SECRET = "loopback-test-secret"


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _row(**kw: object) -> PromotionRow:
    values: dict[str, object] = {
        "ticker": "^GSPC",
        "model_name": "stocky-gspc",
        "action": "rollback",
        "from_version": 2,
        "to_version": 1,
        "decided_at": NOW,
        "as_of": SESSION,
        "reason": "test",
        "triggered_by": "manual",
    } | kw
    return PromotionRow(**values)  # type: ignore[arg-type]


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditRepository]:
    engine = make_engine(f"sqlite:///{tmp_path / 'stocky.db'}")
    create_schema(engine)
    yield AuditRepository(engine)
    engine.dispose()


def test_a_failed_promotion_transaction_leaves_no_alert(audit: AuditRepository) -> None:
    engine = audit.engine
    rollback = msgs.rollback(
        ticker="^GSPC", session=SESSION, from_version=2, to_version=1, reason="test"
    )
    with engine.begin() as conn:  # the database refuses every rollback alert from now on
        conn.execute(
            sa.text(
                "CREATE TRIGGER refuse AFTER INSERT ON alerts WHEN NEW.kind = 'rollback' "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        )
    promoted = msgs.retrain_promoted(
        ticker="^GSPC",
        session=SESSION,
        from_version=1,
        to_version=2,
        champion_rmse=2.0,
        challenger_rmse=1.9,
        naive_rmse=2.1,
        reason="better",
    )
    # the promotion row and a first alert are written, then the second alert fails
    with pytest.raises(StoreError, match="rollback alert"):
        audit.add_promotion(_row(), alerts=[QueuedAlert(promoted), QueuedAlert(rollback)])
    assert _count(engine, promotions) == 0 and _count(engine, alerts) == 0
    # and a row the database refuses takes its alerts with it
    with pytest.raises(StoreError, match="promotion record"):
        audit.add_promotion(_row(model_name=None), alerts=[QueuedAlert(promoted)])
    assert _count(engine, promotions) == 0 and _count(engine, alerts) == 0
    # the same write without the refused alert commits both
    audit.add_promotion(_row(), alerts=[QueuedAlert(promoted)])
    assert _count(engine, promotions) == 1 and _count(engine, alerts) == 1
    (stored,) = AlertOutbox(engine).recent()
    assert stored.alert.kind == "retrain_promoted" and stored.created_at == NOW


class Receiver:
    """Records POSTs on 127.0.0.1 and answers 200."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_replay_delivers_its_alerts_only_when_asked_marked_as_replay(
    cli_env: Path, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(7)  # SYNTHETIC: 0.8% daily volatility, then 2.4%
    moves = np.concatenate([rng.normal(0, 0.008, 500), rng.normal(0, 0.024, 40)])
    frame = price_frame(100 * np.exp(np.cumsum(moves)), end=dt.date(2018, 12, 31))
    csv = tmp_path / "synthetic.csv"
    frame.rename(columns={"date": "Date", "close": "Close"})[["Date", "Close"]].to_csv(
        csv, index=False
    )
    env = {
        "PRICE_SOURCE": "csv",
        "CSV_PATH": str(csv),
        "ORDER": "0,1,1",
        "TEST_SIZE": "40",
        "VALIDATION_SIZE": "20",
        "TRAIN_WINDOW": "300",
        "MIN_TRAIN_SIZE": "100",
        "HOLDOUT_SIZE": "30",
        "WEBHOOK_URL": receiver.url,
        "WEBHOOK_SECRET": SECRET,
    }
    for key, value in env.items():
        monkeypatch.setenv(f"STOCKY_{key}", value)
    get_settings.cache_clear()
    start, end = frame["date"].iloc[-45].date(), frame["date"].iloc[-1].date()
    args = ["replay", "-t", "SYN", "--start", str(start), "--end", str(end), "--no-report"]
    result = CliRunner().invoke(app, [*args, "--deliver-alerts"])
    assert result.exit_code == 0, result.output
    assert "alerts: delivered" in result.output
    assert receiver.posts, "the volatility jump must raise at least one alert"
    kinds = set()
    for headers, body in receiver.posts:
        assert verify(SECRET.encode(), body, headers[SIGNATURE_HEADER], now=dt.datetime.now(dt.UTC))
        doc = json.loads(body)
        assert doc["replay"] is True and doc["title"].startswith("[stocky replay]")
        assert doc["message"].startswith("REPLAY:") and doc["ticker"] == "SYN"
        kinds.add(doc["kind"])
    assert "volatility_changed" in kinds and "model_degraded" not in kinds
    # the replay's outbox lives in its own database: every alert there is delivered ...
    replay_db = cli_env / "replays" / f"syn-{start}-{end}" / "stocky.db"
    engine = make_engine(f"sqlite:///{replay_db}")
    rows = AlertOutbox(engine).recent(limit=500)
    engine.dispose()
    assert len(rows) == len(receiver.posts) and all(r.status == "delivered" for r in rows)
    # ... and the live outbox never saw them: delivering it sends nothing
    sent = len(receiver.posts)
    live = CliRunner().invoke(app, ["alerts", "deliver", "--include-replay"])
    assert live.exit_code == 0, live.output
    assert "delivered 0" in live.output and len(receiver.posts) == sent
