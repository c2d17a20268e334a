"""Credentials never reach a response, a log line or the terminal: stocky.core.redact."""

from __future__ import annotations

import pytest

from stocky.core.redact import mask_url, redact


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://admin:Secret@host", "http://admin:***@host"),
        ("http://admin:Secret@host:5000/api/2.0/x?y=1", "http://admin:***@host:5000/api/2.0/x?y=1"),
        (
            "postgresql+psycopg://stocky:p%40ss@db:5432/stocky",
            "postgresql+psycopg://stocky:***@db:5432/stocky",
        ),
        ("postgresql://u:p@ss@db/x", "postgresql://u:***@db/x"),  # an unencoded "@" too
        ("redis://:token@cache:6379/0", "redis://:***@cache:6379/0"),
        ("http://host:8080/path", "http://host:8080/path"),  # a port is no password
        ("https://mlflow.example/api", "https://mlflow.example/api"),
        ("sqlite:////var/lib/stocky/stocky.db", "sqlite:////var/lib/stocky/stocky.db"),
    ],
)
def test_mask_url(url: str, shown: str):
    assert mask_url(url) == shown


def test_urls_inside_messages_are_masked_and_the_rest_kept():
    message = (
        "cannot open MLflow experiment 'stocky' at http://admin:Secret@host: API request to "
        "http://admin:Secret@host/api/2.0/mlflow/experiments/get-by-name failed; "
        "fallback 'postgresql://a:b@db/x' and \"redis://:c@r\""
    )
    shown = redact(message)
    assert "Secret" not in shown and ":b@" not in shown and ":c@" not in shown
    assert shown.count("admin:***@host") == 2
    assert "'postgresql://a:***@db/x'" in shown and '"redis://:***@r"' in shown
    assert shown.startswith("cannot open MLflow experiment 'stocky' at http://admin:***@host: ")


def test_password_pairs_are_masked():
    shown = redact("host=db port=5432 user=stocky password=hunter2 dbname=x; PASSWORD: 'a b'")
    assert shown == "host=db port=5432 user=stocky password=*** dbname=x; PASSWORD: ***"
    # words about passwords are not secrets
    text = 'FATAL:  password authentication failed for user "stocky"'
    assert redact(text) == text


def test_text_without_credentials_is_returned_as_is():
    text = "recent_prices[3] is NaN: send finite prices > 0"
    assert redact(text) is text
