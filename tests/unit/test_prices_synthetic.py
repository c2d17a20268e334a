"""SyntheticSource: seeded per ticker, labelled synthetic, on exchange sessions, fast."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from stocky.adapters.prices import SyntheticSource
from stocky.adapters.prices.base import PRICE_COLUMNS, normalise_frame
from stocky.config import Settings
from stocky.core.quality import check_prices
from stocky.core.sessions import TradingCalendar
from stocky.errors import BadInput, DataUnavailable
from stocky.wiring import make_price_source

SESSIONS = 300


@pytest.fixture(scope="module")
def source() -> SyntheticSource:
    return SyntheticSource(12, sessions=SESSIONS, seed=3)


def test_names_and_label(source):
    assert source.name == "synthetic"
    assert source.tickers()[:2] == ["SYN0001", "SYN0002"]
    assert len(source.tickers()) == 12
    assert SyntheticSource(12_345, sessions=20).tickers()[-1] == "SYN12345"


def test_a_ticker_is_the_same_series_whatever_the_universe_size(source):
    small = SyntheticSource(2, sessions=SESSIONS, seed=3).fetch("SYN0002")
    assert source.fetch("syn0002").equals(small)
    assert not source.fetch("SYN0001")["close"].equals(small["close"])
    other_seed = SyntheticSource(2, sessions=SESSIONS, seed=4).fetch("SYN0002")
    assert not other_seed["close"].equals(small["close"])


def test_frames_have_the_price_frame_shape_and_pass_validation(source):
    frame = source.fetch("SYN0005")
    assert list(frame.columns) == list(PRICE_COLUMNS)
    assert len(frame) == SESSIONS
    checked = normalise_frame(frame, ticker="SYN0005", source="synthetic")
    assert checked.equals(frame)
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()


def test_sessions_are_the_exchange_sessions_ending_at_the_fixed_end(source):
    dates = source.fetch("SYN0001")["date"].dt.date.tolist()
    assert dates[-1] == dt.date(2024, 12, 31)
    calendar = TradingCalendar("XNYS", start=dates[0], end=dates[-1])
    assert dates == calendar.sessions_in_range(dates[0], dates[-1])


def test_tickers_differ_in_volatility(source):
    frames = source.fetch_many(source.tickers())
    vols = [np.diff(np.log(f["close"].to_numpy())).std() for f in frames.values()]
    assert max(vols) > 1.5 * min(vols)


def test_splits_are_optional_and_the_quality_gate_flags_them():
    plain = SyntheticSource(30, sessions=SESSIONS, seed=1)
    split = SyntheticSource(30, sessions=SESSIONS, seed=1, splits=True)
    flagged = [
        t
        for t in split.tickers()
        if any("split" in w for w in check_prices(split.fetch(t), min_rows=20).warnings)
    ]
    assert 3 <= len(flagged) <= 20
    assert not any(
        "matches a" in w
        for t in plain.tickers()
        for w in check_prices(plain.fetch(t), min_rows=20).warnings
    )


def test_range_and_unknown_tickers(source):
    part = source.fetch("SYN0001", dt.date(2024, 12, 24), dt.date(2024, 12, 31))
    assert [d.day for d in part["date"].dt.date] == [24, 26, 27, 30, 31]
    with pytest.raises(DataUnavailable, match="SYN0013 is not in the synthetic universe"):
        source.fetch("SYN0013")
    with pytest.raises(DataUnavailable, match="not in the synthetic universe"):
        source.fetch("AAPL")
    with pytest.raises(DataUnavailable, match="nothing between 2025-01-02"):
        source.fetch("SYN0001", dt.date(2025, 1, 2))
    with pytest.raises(BadInput, match="choose 1..99999"):
        SyntheticSource(0)


def test_settings_build_the_synthetic_source(tmp_path):
    settings = Settings(
        home=tmp_path,
        price_source="synthetic",
        synthetic_tickers=3,
        synthetic_sessions=50,
        synthetic_seed=9,
        synthetic_splits=True,
    )
    built = make_price_source(settings)
    assert isinstance(built, SyntheticSource)
    assert built.tickers() == ["SYN0001", "SYN0002", "SYN0003"]
    assert (built.sessions, built.seed, built.splits) == (50, 9, True)
