"""The JSON log formatter: one strict JSON object per record, extra fields kept."""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Iterator

import numpy as np
import pytest
from pydantic import ValidationError

from stocky.api.server import uvicorn_log_config
from stocky.config import Settings
from stocky.logguard import RedactFilter
from stocky.logjson import JsonFormatter
from stocky.runtime import log_formatter


def _strict(line: str) -> dict:
    """Parse like a strict consumer: NaN, Infinity and -Infinity are refused."""

    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name} in {line!r}")

    record = json.loads(line, parse_constant=refuse)
    assert isinstance(record, dict)
    return record


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactFilter())
    logger = logging.getLogger("stocky.test_log_json")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [_strict(line) for line in text.splitlines()]


def test_a_record_is_one_line_with_the_standard_fields_and_its_extras(logged) -> None:
    logger, stream = logged
    logger.info(
        "served %s v%d\nin %.1f ms",
        "^GSPC",
        3,
        1.25,
        extra={"request_id": "r-1", "ticker": "^GSPC", "model_version": 3, "latency_ms": 1.25},
    )
    (line,) = _lines(stream)  # the newline in the message is escaped: still one line
    assert line["message"] == "served ^GSPC v3\nin 1.2 ms"
    assert line["level"] == "INFO" and line["logger"] == "stocky.test_log_json"
    assert line["time"].endswith("Z") and len(line["time"]) == len("2024-07-03T21:30:00.123Z")
    assert (line["request_id"], line["ticker"], line["model_version"]) == ("r-1", "^GSPC", 3)
    assert line["latency_ms"] == 1.25
    assert isinstance(line["pid"], int)
    assert "args" not in line and "msg" not in line and "exc_info" not in line


def test_time_is_the_records_creation_in_utc(logged) -> None:
    logger, stream = logged
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "at", (), None)
    record.created = 1_720_042_200.123_4  # 2024-07-03 21:30:00.123 UTC
    logger.handle(record)
    assert _lines(stream)[0]["time"] == "2024-07-03T21:30:00.123Z"


def test_an_exception_is_its_type_and_the_whole_traceback_masked(logged) -> None:
    logger, stream = logged
    try:
        raise ConnectionError("cannot reach postgresql://app:hunter2@db:5432/stocky")
    except ConnectionError:
        logger.exception("store down", extra={"ticker": "MSFT"})
    (line,) = _lines(stream)
    assert line["level"] == "ERROR" and line["exc_type"] == "ConnectionError"
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert "ConnectionError: cannot reach postgresql://app:***@db:5432/stocky" in line["exception"]
    assert "hunter2" not in stream.getvalue()
    assert line["ticker"] == "MSFT"


def test_text_stays_utf8_and_odd_values_become_strings(logged) -> None:
    logger, stream = logged
    logger.warning("prix 12 € pour Zürich — 日本", extra={"where": {"ville": "Zürich"}})
    raw = stream.getvalue()
    assert "€" in raw and "Zürich" in raw and "日本" in raw and "\\u" not in raw
    line = _lines(stream)[0]
    assert line["message"] == "prix 12 € pour Zürich — 日本"
    assert line["where"] == {"ville": "Zürich"}


def test_non_finite_numbers_become_null_and_numpy_scalars_numbers(logged) -> None:
    logger, stream = logged
    logger.info(
        "numbers",
        extra={
            "nan": math.nan,
            "inf": np.float64("inf"),
            "neg_inf": -math.inf,
            "nested": {"rmse": [1.5, math.nan]},
            "count": np.int64(7),
            "skill": np.float32(0.25),
            "flag": True,
            "when": object.__new__(type("Moment", (), {"__str__": lambda self: "moment"})),
        },
    )
    line = _lines(stream)[0]  # strict: a NaN would fail here
    assert line["nan"] is None and line["inf"] is None and line["neg_inf"] is None
    assert line["nested"] == {"rmse": [1.5, None]}
    assert line["count"] == 7 and isinstance(line["count"], int)
    assert line["skill"] == 0.25 and line["flag"] is True
    assert line["when"] == "moment"


def test_uvicorns_access_record_gets_its_fields() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/health", "1.1", 200),
        None,
    )
    line = _strict(JsonFormatter().format(record))
    assert line["message"] == '127.0.0.1:5000 - "GET /health HTTP/1.1" 200'
    assert (line["client"], line["method"], line["path"], line["status"]) == (
        "127.0.0.1:5000",
        "GET",
        "/health",
        200,
    )


def test_the_log_format_setting() -> None:
    assert isinstance(log_formatter("json"), JsonFormatter)
    assert not isinstance(log_formatter("text"), JsonFormatter)
    with pytest.raises(ValueError, match="'xml' is unknown: use text or json"):
        log_formatter("xml")
    with pytest.raises(ValidationError, match="log_format"):
        Settings(log_format="xml")  # type: ignore[arg-type]


def test_the_servers_log_config_follows_the_format_and_level() -> None:
    text = uvicorn_log_config("warning", "text")
    assert text["loggers"]["stocky.access"] == {"level": "WARNING"}
    assert "()" in text["formatters"]["default"]  # uvicorn's own formatter
    assert "JsonFormatter" not in json.dumps(text)
    as_json = uvicorn_log_config("info", "json")
    assert as_json["loggers"]["stocky.access"] == {"level": "INFO"}
    for name in ("default", "access"):
        assert as_json["formatters"][name] == {"()": "stocky.logjson.JsonFormatter"}
