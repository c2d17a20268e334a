"""Log filters every entrypoint installs: masked credentials and rate-limited repeats.

- `RedactFilter` masks URL passwords (`http://admin:***@host`) in messages and tracebacks.
- `RepeatFilter` lets one warning or error of a kind through per interval and counts the rest:
  under a flood (thousands of "Too many open files" from the accept loop a second) the log
  gets one line per interval, and the next one says how many were left out.

Both sit on handlers (so records propagated from any logger pass them) and decide once per
record, whichever number of handlers it passes through.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable

from stocky.core.redact import redact

__all__ = ["RedactFilter", "RepeatFilter", "install_log_filters"]

_DECIDED = "_stocky_repeat_pass"
_MAX_KINDS = 1024


class RedactFilter(logging.Filter):
    """Mask credentials in the formatted message and in the traceback text of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters use exc_text when it is set: format the traceback once, masked.
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_text = record.exc_text.rstrip("\n")
        return True


class RepeatFilter(logging.Filter):
    """Let one WARNING-or-worse record of a kind through per `interval` seconds.

    A kind is the logger, the level, the message template and the exception type, so
    "%s answered %d" with different arguments is one kind. The first record of a kind that
    passes after suppressed ones carries the count.

    Args:
        interval: Seconds between two records of a kind; 0 lets everything through.
        clock: Monotonic seconds (tests pass a fake).
    """

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._kinds: dict[tuple[object, ...], list[float]] = {}  # kind -> [window start, count]

    def filter(self, record: logging.LogRecord) -> bool:
        decided = record.__dict__.get(_DECIDED)
        if decided is None:
            decided = self._decide(record)
            record.__dict__[_DECIDED] = decided
        return bool(decided)

    def _decide(self, record: logging.LogRecord) -> bool:
        if self.interval <= 0 or record.levelno < logging.WARNING:
            return True
        exc_type = record.exc_info[0] if record.exc_info else None
        kind = (record.name, record.levelno, str(record.msg), exc_type)
        now = self.clock()
        with self._lock:
            seen = self._kinds.get(kind)
            if seen is not None and now - seen[0] < self.interval:
                seen[1] += 1
                return False
            suppressed, since = (int(seen[1]), now - seen[0]) if seen is not None else (0, 0.0)
            if len(self._kinds) >= _MAX_KINDS:
                self._forget(now)
            self._kinds[kind] = [now, 0]
        if suppressed:
            note = f" [{suppressed} more like this in the last {since:.0f} s were not logged]"
            if isinstance(record.msg, str):
                record.msg += note
            else:
                record.msg, record.args = record.getMessage() + note, None
        return True

    def _forget(self, now: float) -> None:
        expired = [k for k, (start, count) in self._kinds.items() if now - start >= self.interval]
        for k in expired:
            if not self._kinds[k][1]:
                del self._kinds[k]
        if len(self._kinds) >= _MAX_KINDS:  # a flood of distinct kinds: start over
            self._kinds.clear()


def install_log_filters(*, repeat_seconds: float) -> None:
    """Put one RepeatFilter and one RedactFilter on every handler of every configured logger.

    Call after logging is configured (and again after a server reconfigures it): handlers
    that already carry stocky's filters keep them, and the repeat interval is updated.
    """
    repeat = RepeatFilter(repeat_seconds)
    redact_filter = RedactFilter()
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            mine = [f for f in handler.filters if isinstance(f, RepeatFilter | RedactFilter)]
            if mine:
                for f in mine:
                    if isinstance(f, RepeatFilter):
                        f.interval = repeat_seconds
                continue
            handler.addFilter(repeat)  # throttle first: its kinds are the unformatted templates
            handler.addFilter(redact_filter)
