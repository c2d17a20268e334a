"""Ticker -> registered model name is one-to-one, stable for plain tickers, and valid in MLflow."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from stocky.adapters.registry import legacy_model_name, model_name
from stocky.core.tickers import TICKER_MAX_LENGTH, normalize_ticker, ticker_from_token
from stocky.errors import BadInput

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789^.-=_"
#: What MLflow 3 checks (no `/` or `:`), what the stores' model_name column holds (64), and
#: what stays plain in a URL, a filter string and a file name.
VALID_NAME = re.compile(r"stocky-[a-z0-9_-]{1,57}")


def _symbols() -> list[str]:
    """Every valid symbol of 1-3 characters, and 5,000 random ones up to the maximum length."""
    short = ["".join(p) for n in (1, 2, 3) for p in itertools.product(ALPHABET, repeat=n)]
    rng = random.Random(19)
    long = [
        "".join(rng.choice(ALPHABET) for _ in range(rng.randint(4, TICKER_MAX_LENGTH)))
        for _ in range(5000)
    ] + ["^" * (TICKER_MAX_LENGTH - 1) + "A", "._=^-" * 3 + "Z"]
    valid = []
    for text in short + long:
        try:
            valid.append(normalize_ticker(text))
        except BadInput:
            continue
    return sorted(set(valid))


def test_names_never_collide_and_read_back():
    symbols = _symbols()
    assert len(symbols) > 60_000
    names = {model_name(s): s for s in symbols}
    assert len(names) == len(symbols)  # injective
    for name, symbol in names.items():
        assert VALID_NAME.fullmatch(name), name
        assert ticker_from_token(name.removeprefix("stocky-")) == symbol


def test_the_reported_collisions_are_apart():
    names = [model_name(t) for t in ("BRK.B", "BRK-B", "BRK_B", "BRK=B", "..A", "A", "^GSPC")]
    assert len(set(names)) == len(names)
    # tickers of letters, digits and `-` keep the names they always had
    for ticker in ("AAPL", "MSFT", "BRK-B", "0700-HK", "A"):
        assert model_name(ticker) == "stocky-" + ticker.lower()
        assert legacy_model_name(ticker) is None
    assert model_name("BRK.B") == "stocky-brk_db"
    assert model_name("^GSPC") == "stocky-_cgspc"
    assert model_name("EURUSD=X") == "stocky-eurusd_ex"
    assert legacy_model_name("^GSPC") == "stocky-gspc"
    assert legacy_model_name("BRK.B") == "stocky-brk-b"


@pytest.mark.parametrize("ticker", ["brk.b", " AAPL", "A/B", "", "<img>"])
def test_a_name_needs_a_normalised_symbol(ticker):
    with pytest.raises(BadInput, match="normalize_ticker|not a symbol"):
        model_name(ticker)


@pytest.mark.parametrize("token", ["brk_xb", "brk_", "BRK", "a.b", "", "_u"])
def test_a_foreign_token_is_refused(token):
    with pytest.raises(BadInput):
        ticker_from_token(token)
