"""Alert values, message builders, the webhook body and signature, and the retry backoff."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import httpx
import pytest

from stocky.adapters.notify.webhook import SIGNATURE_HEADER, WebhookNotifier, sign, verify
from stocky.core import alert_messages as msgs
from stocky.core.alerts import FLEET, Alert, DeliveryPolicy, Envelope
from stocky.errors import BadInput, DeliveryError

DAY = dt.date(2024, 7, 3)
NOW = dt.datetime(2024, 7, 4, 2, 0, tzinfo=dt.UTC)


def every_kind() -> list[Alert]:
    return [
        msgs.model_degraded(
            ticker="^gspc",
            session=DAY,
            metric="rmse",
            window=14,
            latest=42.0,
            baseline=20.0,
            threshold=30.0,
            streak=3,
            naive_latest=40.0,
        ),
        msgs.volatility_changed(
            ticker="^GSPC", session=DAY, previous_volatility=0.008, current_volatility=0.024
        ),
        msgs.retrain_promoted(
            ticker="MSFT",
            session=DAY,
            from_version=2,
            to_version=3,
            champion_rmse=1.5,
            challenger_rmse=1.2,
            naive_rmse=1.3,
            reason="challenger beats the champion by 20%.",
        ),
        msgs.retrain_rejected(
            ticker="MSFT",
            session=DAY,
            champion_version=2,
            champion_rmse=1.5,
            challenger_rmse=1.6,
            naive_rmse=1.4,
            reason="challenger is not better.",
        ),
        msgs.rollback(ticker="MSFT", session=DAY, from_version=3, to_version=2, reason="manual"),
        msgs.daily_failed(ticker=FLEET, session=DAY, step="pull", error="Yahoo timed out"),
        msgs.labels_late(
            ticker="^IXIC",
            session=DAY,
            close_at=dt.datetime(2024, 7, 3, 20, 0, tzinfo=dt.UTC),
            now=NOW,
            grace_hours=6,
            last_stored=dt.date(2024, 7, 2),
        ),
        msgs.coverage_broken(
            ticker="^GSPC", session=DAY, coverage=0.80, nominal=0.95, window=63, lower_limit=0.88
        ),
    ]


@pytest.mark.parametrize("alert", every_kind(), ids=lambda a: a.kind)
def test_every_message_names_ticker_session_numbers_and_what_to_do(alert: Alert):
    who = "stocky" if alert.ticker == FLEET else alert.ticker
    assert alert.message.startswith(f"{who}: ")
    assert alert.title.startswith(f"{who}: ")
    assert str(DAY) in alert.message
    what, todo = alert.message.split("What to do:")
    assert len(todo.strip()) > 10
    if alert.kind != "daily_failed":  # that one carries the step and the error instead
        assert any(ch.isdigit() for ch in what.replace(str(DAY), "").replace(alert.ticker, ""))


def test_model_degraded_numbers_are_computed_not_copied():
    alert = every_kind()[0]
    assert alert.ticker == "^GSPC"  # normalised
    assert "2.1x the baseline 20" in alert.message  # 42 / 20
    assert "skill vs naive -5.0%" in alert.message  # 1 - 42/40
    assert alert.data["skill_vs_naive"] == pytest.approx(-0.05)
    assert "fall back to the random walk" in alert.message


def test_volatility_change_says_no_retrain():
    alert = every_kind()[1]
    assert "rose from 0.8% to 2.4% (3x)" in alert.message
    assert "no retrain" in alert.message


def test_non_finite_numbers_print_na_and_store_none():
    alert = msgs.model_degraded(
        ticker="^GSPC",
        session=DAY,
        metric="rmse",
        window=14,
        latest=float("nan"),
        baseline=float("inf"),
        threshold=None,
        streak=3,
    )
    assert "n/a" in alert.message
    assert alert.data["latest"] is None and alert.data["baseline"] is None
    body = json.loads(Envelope(1, alert, NOW).to_json())
    assert body["data"]["latest"] is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ticker": "a b"}, "ticker"),
        ({"kind": "nonsense"}, "kind 'nonsense' is unknown"),
        ({"session": dt.datetime(2024, 7, 3)}, "not a date"),
        ({"message": " "}, "no title or message"),
        ({"data": {"x": [1]}}, "alert data 'x' is list"),
    ],
)
def test_alert_refuses_bad_values_with_the_fix(kwargs, match):
    values = {
        "ticker": "^GSPC",
        "kind": "rollback",
        "session": DAY,
        "title": "t",
        "message": "m",
        "data": {},
    }
    values.update(kwargs)
    with pytest.raises(BadInput, match=match):
        Alert(**values)  # type: ignore[arg-type]


def test_replay_is_marked_in_title_body_and_json():
    alert = every_kind()[4]
    live, replay = Envelope(7, alert, NOW), Envelope(7, alert, NOW, replay=True)
    assert live.title.startswith("[stocky] ") and "REPLAY" not in live.body
    assert replay.title.startswith("[stocky replay] ")
    assert replay.body.startswith("REPLAY:")
    document = json.loads(replay.to_json())
    assert document["replay"] is True and document["id"] == 7
    assert document["created_at"] == "2024-07-04T02:00:00Z"
    assert document["kind"] == "rollback" and document["severity"] == "warning"


def test_late_labels_alert_only_when_missing_and_past_grace():
    close = dt.datetime(2024, 7, 3, 20, 0, tzinfo=dt.UTC)
    common = {"ticker": "^GSPC", "expected": DAY, "close_at": close, "grace_hours": 6.0}
    assert msgs.late_labels_alert(last_stored=DAY, now=NOW, **common) is None  # stored
    early = close + dt.timedelta(hours=5)
    assert msgs.late_labels_alert(last_stored=None, now=early, **common) is None  # not yet late
    alert = msgs.late_labels_alert(last_stored=dt.date(2024, 7, 2), now=NOW, **common)
    assert alert is not None and alert.kind == "labels_late"
    assert alert.data["hours_late"] == pytest.approx(6.0)
    with pytest.raises(BadInput, match="aware"):
        msgs.late_labels_alert(last_stored=None, now=NOW.replace(tzinfo=None), **common)


def test_backoff_doubles_and_is_capped():
    policy = DeliveryPolicy(max_attempts=5, backoff_seconds=60, max_backoff_seconds=300)
    waits = [policy.backoff(n).total_seconds() for n in (1, 2, 3, 4, 100)]
    assert waits == [60, 120, 240, 300, 300]
    with pytest.raises(BadInput, match="attempts=0"):
        policy.backoff(0)
    with pytest.raises(BadInput, match="max_attempts=0"):
        DeliveryPolicy(max_attempts=0)


def test_signature_matches_an_independent_hmac_and_verifies():
    secret, body = b"s3cret", b'{"a":1}'
    header = sign(secret, body, 1_720_000_000)
    expected = hmac.new(secret, b"1720000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1720000000,v1={expected}"
    at = dt.datetime.fromtimestamp(1_720_000_100, dt.UTC)
    assert verify(secret, body, header, now=at)
    assert not verify(secret, body + b" ", header, now=at)  # body changed
    assert not verify(b"other", body, header, now=at)  # wrong secret
    assert not verify(secret, body, header, now=at + dt.timedelta(hours=1))  # too old


def test_webhook_posts_signed_json_and_raises_on_errors():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200 if len(seen) == 1 else 503, text="busy")

    notifier = WebhookNotifier(
        "http://hooks.invalid/x", "k", transport=httpx.MockTransport(handler)
    )
    envelope = Envelope(3, every_kind()[2], NOW)
    notifier.send(envelope, now=NOW)
    assert verify(b"k", seen[0].content, seen[0].headers[SIGNATURE_HEADER], now=NOW)
    assert json.loads(seen[0].content)["title"] == envelope.title
    with pytest.raises(DeliveryError, match="HTTP 503"):
        notifier.send(envelope, now=NOW)


@pytest.mark.parametrize(("url", "secret"), [("ftp://x/y", "k"), ("https://x/y", "")])
def test_webhook_configuration_is_checked(url, secret):
    with pytest.raises(BadInput, match="STOCKY_WEBHOOK"):
        WebhookNotifier(url, secret)
