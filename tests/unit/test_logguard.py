"""Log hygiene: a flood of one error becomes one line per interval with a count, and URL
passwords are masked in messages and tracebacks (stocky.logguard)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from stocky.logguard import RedactFilter, RepeatFilter, install_log_filters


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def logger_and_output() -> Iterator[tuple[logging.Logger, io.StringIO, FakeClock]]:
    clock = FakeClock()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RepeatFilter(10.0, clock=clock))
    handler.addFilter(RedactFilter())
    logger = logging.getLogger("stocky.test.logguard")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, out, clock
    logger.removeHandler(handler)


def _accept_failure() -> OSError:
    return OSError(24, "Too many open files")


def test_a_flood_of_one_error_is_one_line_per_interval_with_a_count(logger_and_output):
    logger, out, clock = logger_and_output
    for _ in range(5000):  # e.g. the accept loop failing for every connection attempt
        logger.error("socket.accept() out of system resource", exc_info=_accept_failure())
        clock.now += 0.001  # 5 s in all
    lines = [x for x in out.getvalue().splitlines() if x.startswith("ERROR")]
    assert lines == ["ERROR socket.accept() out of system resource"]
    assert out.getvalue().count("Too many open files") == 1  # one traceback, not 5000
    clock.now += 6  # past the interval
    logger.error("socket.accept() out of system resource", exc_info=_accept_failure())
    last = out.getvalue().splitlines()
    assert [x for x in last if x.startswith("ERROR")][-1] == (
        "ERROR socket.accept() out of system resource "
        "[4999 more like this in the last 11 s were not logged]"
    )


def test_kinds_are_counted_apart_and_info_is_never_suppressed(logger_and_output):
    logger, out, clock = logger_and_output
    for i in range(3):
        logger.error("%s %s answered %d (request id %s)", "POST", "/predict", 503, i)
        logger.warning("other kind %d", i)
        logger.info("progress %d", i)
    text = out.getvalue().splitlines()
    assert text == [
        "ERROR POST /predict answered 503 (request id 0)",
        "WARNING other kind 0",
        "INFO progress 0",
        "INFO progress 1",
        "INFO progress 2",
    ]


def test_interval_zero_logs_everything():
    flt = RepeatFilter(0.0, clock=FakeClock())
    records = [logging.makeLogRecord({"msg": "same", "levelno": 40}) for _ in range(3)]
    assert all(flt.filter(r) for r in records)


def test_passwords_are_masked_in_messages_and_tracebacks(logger_and_output):
    logger, out, _clock = logger_and_output
    uri = "http://admin:Secret@mlflow:5000"
    logger.warning("model reload failed at %s", uri)
    try:
        raise ConnectionError(f"API request to {uri}/api/2.0/x failed")
    except ConnectionError:
        logger.exception("reload crashed")
    text = out.getvalue()
    assert "Secret" not in text
    assert "model reload failed at http://admin:***@mlflow:5000" in text
    assert "ConnectionError: API request to http://admin:***@mlflow:5000/api/2.0/x failed" in text


def test_one_decision_per_record_across_handlers():
    clock = FakeClock()
    outs = [io.StringIO(), io.StringIO()]
    logger = logging.getLogger("stocky.test.logguard.two")
    logger.propagate = False
    handlers = []
    for out in outs:
        handler = logging.StreamHandler(out)
        handler.addFilter(RepeatFilter(10.0, clock=clock))
        logger.addHandler(handler)
        handlers.append(handler)
    try:
        logger.error("boom")
        logger.error("boom")
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
    # each handler shows the first record; neither shows the repeat
    assert [o.getvalue() for o in outs] == ["boom\n", "boom\n"]


def _all_handlers() -> list[logging.Handler]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    return [h for lg in loggers if isinstance(lg, logging.Logger) for h in lg.handlers]


def test_install_puts_the_filters_on_every_handler_once():
    logger = logging.getLogger("stocky.test.logguard.install")
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    before = {h: list(h.filters) for h in _all_handlers()}  # pytest's own handlers among them
    try:
        install_log_filters(repeat_seconds=5)
        install_log_filters(repeat_seconds=7)
        kinds = [type(f) for f in handler.filters]
        assert kinds.count(RepeatFilter) == 1 and kinds.count(RedactFilter) == 1
        repeat = next(f for f in handler.filters if isinstance(f, RepeatFilter))
        assert repeat.interval == 7
    finally:
        logger.removeHandler(handler)
        for h, filters in before.items():
            h.filters[:] = filters
