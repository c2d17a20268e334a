"""The plausible-price rule, and the quality gate refusing a store poisoned before it existed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stocky.core.plausible import MAX_DAILY_RATIO, PRICE_CEILING, first_implausible
from stocky.core.quality import check_prices
from stocky.errors import DataQualityError


def test_ordinary_series_and_a_real_crash_pass():
    assert first_implausible(np.array([100.0, 48.1, 50.0, 60.0])) is None
    assert first_implausible(np.array([100.0, 10.0, 100.0])) is None  # x10 and /10 are real


@pytest.mark.parametrize(
    ("values", "index", "reason"),
    [
        ([1.0, 1e300, 1.0], 1, "above the plausible ceiling 1e+09"),
        ([1.0, 2.0, float("inf")], 2, "not a finite number"),
        ([1.0, float("nan")], 1, "not a finite number"),
        ([1.0, -2.0], 1, "not > 0"),
        ([1e-9], 0, "below the plausible floor 1e-06"),
        ([100.0, 5001.0], 1, "jumps x50.01 from 100.0"),
        ([100.0, 1.9], 1, "jumps /52.63 from 100.0"),
    ],
)
def test_the_first_offender_is_named_with_its_reason(values, index, reason):
    found = first_implausible(np.array(values))
    assert found is not None
    assert found.index == index
    assert reason in found.reason


def test_bounds_are_inclusive_and_jumps_can_be_skipped():
    assert first_implausible(np.array([PRICE_CEILING, PRICE_CEILING])) is None
    assert first_implausible(np.array([1.0, MAX_DAILY_RATIO])) is None
    assert first_implausible(np.array([1.0, 1000.0]), check_jumps=False) is None


def test_quality_gate_refuses_a_poisoned_close_naming_date_and_the_repair():
    frame = pd.DataFrame(
        {"date": pd.bdate_range("2024-01-01", periods=3), "close": [10.0, 1e300, 11.0]}
    )
    with pytest.raises(DataQualityError) as info:
        check_prices(frame, min_rows=2)
    message = str(info.value)
    assert "close[1] (date 2024-01-02) = 1e+300" in message
    assert "stocky data pull --replace" in message
