"""AutoSource picks Yahoo or bundled once; make_price_source maps Settings to a source."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from pathlib import Path

import pandas as pd
import pytest

from stocky.adapters.prices import (
    AutoSource,
    BundledSource,
    CsvSource,
    YahooSource,
    auto,
)
from stocky.config import Settings
from stocky.errors import BadInput
from stocky.wiring import make_price_source


class FakeSource:
    """A tiny PriceSource that records what it was asked."""

    def __init__(self, name: str, tickers: list[str]) -> None:
        self.name = name
        self._tickers = tickers
        self.asked: list[tuple[str, dt.date | None, dt.date | None]] = []

    def fetch(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        self.asked.append((ticker, start, end))
        return pd.DataFrame({"date": [pd.Timestamp("2024-01-02")], "close": [1.0]})

    def tickers(self) -> list[str]:
        return list(self._tickers)


class CountingProbe:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.answer


def test_online_uses_yahoo_and_probes_once(caplog):
    yahoo, bundled = FakeSource("yahoo", []), FakeSource("bundled", ["^GSPC"])
    probe = CountingProbe(True)
    source = AutoSource(yahoo, bundled, probe)
    assert probe.calls == 0  # nothing happens until first use
    with caplog.at_level(logging.INFO, logger="stocky.adapters.prices.auto"):
        source.fetch("^GSPC", dt.date(2024, 1, 1), dt.date(2024, 1, 5))
        source.fetch("MSFT")
    assert probe.calls == 1
    assert source.chosen == "yahoo"
    assert source.name == "yahoo"
    assert yahoo.asked == [
        ("^GSPC", dt.date(2024, 1, 1), dt.date(2024, 1, 5)),
        ("MSFT", None, None),
    ]
    assert bundled.asked == []
    assert "price source: yahoo" in caplog.text


def test_offline_uses_bundled_and_its_tickers(caplog):
    yahoo, bundled = FakeSource("yahoo", []), FakeSource("bundled", ["^GSPC", "MSFT"])
    source = AutoSource(yahoo, bundled, CountingProbe(False))
    with caplog.at_level(logging.INFO, logger="stocky.adapters.prices.auto"):
        assert source.tickers() == ["^GSPC", "MSFT"]
    source.fetch("^GSPC")
    assert source.chosen == "bundled"
    assert bundled.asked == [("^GSPC", None, None)]
    assert yahoo.asked == []
    assert "Yahoo is unreachable" in caplog.text


def test_default_probe_is_true_when_the_connection_opens(monkeypatch):
    opened: list[tuple[tuple[str, int], float]] = []

    class FakeConnection:
        def __enter__(self) -> FakeConnection:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    def fake_connect(address: tuple[str, int], timeout: float) -> FakeConnection:
        opened.append((address, timeout))
        return FakeConnection()

    monkeypatch.setattr(socket, "create_connection", fake_connect)
    assert auto.yahoo_reachable() is True
    assert opened == [(("query1.finance.yahoo.com", 443), 2.0)]


def test_default_probe_is_false_when_the_connection_fails(monkeypatch):
    def refuse(address: tuple[str, int], timeout: float) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", refuse)
    assert auto.yahoo_reachable(timeout=0.1) is False


def _settings(tmp_path: Path, **kwargs: object) -> Settings:
    return Settings(home=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_factory_builds_each_kind(tmp_path):
    assert isinstance(make_price_source(_settings(tmp_path, price_source="bundled")), BundledSource)
    yahoo = make_price_source(
        _settings(tmp_path, price_source="yahoo", yahoo_timeout_seconds=3.5, yahoo_retries=1)
    )
    assert isinstance(yahoo, YahooSource)
    assert (yahoo.timeout, yahoo.retries) == (3.5, 1)
    assert isinstance(make_price_source(_settings(tmp_path, price_source="auto")), AutoSource)
    csv_source = make_price_source(
        _settings(tmp_path, price_source="csv", csv_path=tmp_path / "p.csv")
    )
    assert isinstance(csv_source, CsvSource)
    assert csv_source.path == tmp_path / "p.csv"


def test_factory_csv_without_a_path_says_what_to_set(tmp_path):
    with pytest.raises(BadInput, match="set STOCKY_CSV_PATH"):
        make_price_source(_settings(tmp_path, price_source="csv", csv_path=None))
