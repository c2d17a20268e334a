"""One JSON object per log line (`STOCKY_LOG_FORMAT=json`), for Loki, Elasticsearch and the like.

Every line has `time` (UTC, ISO 8601 with milliseconds), `level`, `logger`, `message` and
`pid`; a record's extra fields (`log.info(..., extra={"ticker": "MSFT"})`) follow as they
are: `request_id`, `ticker`, `model_version`, `latency_ms`, `status` ... where they apply.
An exception is written as `exc_type` plus `exception`, the whole traceback in one string.
uvicorn's access records (`client - "GET / HTTP/1.1" 200`) also get `client`, `method`,
`path`, `http_version` and `status`.

Lines are strict JSON: non-finite numbers become null (a NaN would make the line unparsable),
text stays UTF-8 (no \\u escapes), and values JSON cannot hold are written as their str().
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import numbers
from typing import Any

__all__ = ["JsonFormatter"]

#: LogRecord attributes that are not extra fields (everything a plain record carries).
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
    "taskName",
}

_UVICORN_ACCESS = ("client", "method", "path", "http_version", "status")


def _clean(value: Any) -> Any:
    """`value` with non-finite floats as None, containers walked, unknown objects as str."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, numbers.Integral):  # numpy integers too
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    return str(value)


def _plain(value: Any) -> Any:
    """JSON's fallback for values it cannot encode: numbers (numpy's) as numbers, else str."""
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON (see the module docstring for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        moment = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
        line: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            line.update(zip(_UVICORN_ACCESS, args, strict=True))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = value
        if record.exc_info:
            exc_type = record.exc_info[0]
            line["exc_type"] = exc_type.__name__ if exc_type is not None else None
            if not record.exc_text:  # set (and masked) by stocky.logguard.RedactFilter
                record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        try:  # the common case: plain values, encoded as they are
            return json.dumps(line, ensure_ascii=False, allow_nan=False, default=_plain)
        except ValueError:  # a NaN or an infinity somewhere: null it (strict JSON)
            return json.dumps(_clean(line), ensure_ascii=False, allow_nan=False, default=str)
