"""The honest choice among families: significance against naive, Holm, ties, stability."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats

from choice_windows import VALIDATION, ar1_returns, choice_windows
from stocky.core.choose import CandidateRow, choose, holm_adjust, one_sided_pvalue
from stocky.core.dm import diebold_mariano
from stocky.core.families.arima import Arima
from stocky.core.families.naive import Naive
from stocky.core.families.registry import BUILTIN_FAMILIES, family_class
from stocky.errors import BadInput

FAKES = {
    "ar1_twin": "fake_families:Ar1Twin",
    "ar1_lean": "fake_families:Ar1Lean",
    "ar1_rich": "fake_families:Ar1Rich",
}


@pytest.fixture
def fake_families(monkeypatch: pytest.MonkeyPatch):
    """The test families registered like built-ins (in this order), for this test only."""
    family_class.cache_clear()
    for name, target in FAKES.items():
        monkeypatch.setitem(BUILTIN_FAMILIES, name, target)
    yield
    family_class.cache_clear()


def _random_walk(seed: int, n: int = 748) -> np.ndarray:
    """SYNTHETIC: a pure random walk in log price."""
    return 100.0 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0.0, 0.01, n)))


def _row(choice, model_type: str) -> CandidateRow:
    return next(r for r in choice.table if r.model_type == model_type)


def test_clear_ar1_returns_choose_a_non_naive_family():
    """SYNTHETIC: log returns AR(1) with phi 0.3."""
    y = ar1_returns(7)
    choice = choose(y, families=["naive", "arima"], validation_size=VALIDATION)
    assert choice.model_type == "arima" and choice.label.startswith("ARIMA(")
    row = _row(choice, "arima")
    assert row.chosen and row.passed and row.dm_pvalue < 0.05 and row.holm_pvalue <= 0.05
    assert "chosen over the random walk" in choice.reason
    # the numbers recomputed from the returned forecaster, fitted on the part before validation
    start = len(y) - VALIDATION
    means, _ = choice.forecaster.one_step_path(y, start=start)
    rmse = float(np.sqrt(np.mean((y[start:] - means) ** 2)))
    naive_rmse = float(np.sqrt(np.mean(np.diff(y[start - 1 :]) ** 2)))
    assert row.validation_rmse == pytest.approx(rmse, rel=1e-9)
    assert row.naive_rmse == pytest.approx(naive_rmse, rel=1e-12)
    assert row.skill == pytest.approx(1 - rmse / naive_rmse, rel=1e-9) and row.skill > 0
    refit = Arima().fit(y[:start])
    assert refit.label == choice.label


def test_a_random_walk_keeps_naive_and_says_why():
    y = _random_walk(3)
    choice = choose(y, families=["arima"], validation_size=VALIDATION)
    assert choice.model_type == "naive" and isinstance(choice.forecaster, Naive)
    assert re.fullmatch(
        r"arima: ARIMA\(\d,\d,\d\) RMSE \d+\.\d{4} vs naive \d+\.\d{4}, one-sided DM p = "
        r"[0-9.e-]+ > 0\.05: kept the random walk",
        choice.reason,
    ), choice.reason
    fit_part = y[:-VALIDATION]
    assert choice.forecaster.sigma_ == pytest.approx(np.sqrt(np.mean(np.diff(fit_part) ** 2)))
    assert [r.model_type for r in choice.table] == ["naive", "arima"]
    assert [r.chosen for r in choice.table] == [True, False]


def test_the_kept_reason_names_the_holm_divisor(fake_families):
    y = _random_walk(4)
    choice = choose(y, families=["arima", "ar1_lean", "ar1_twin"], validation_size=VALIDATION)
    assert choice.model_type == "naive"
    assert re.search(
        r"one-sided DM p = [0-9.e-]+ > 0\.05/3 \(Holm\): kept the random walk$", choice.reason
    )


def test_holm_adjusted_p_values_by_hand():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max(0.06, 0.04)
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm_adjust([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm_adjust([]) == []


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(0).uniform(0, 0.2, 7)
    assert holm_adjust(list(p)) == pytest.approx(multipletests(p, method="holm")[1], rel=1e-12)


def test_table_p_values_are_one_sided_and_holm_corrected(fake_families):
    y = ar1_returns(8)
    choice = choose(y, families=["arima", "ar1_lean", "ar1_twin"], validation_size=VALIDATION)
    rows = [r for r in choice.table if r.model_type != "naive"]
    assert len(rows) == 3
    for row in rows:
        # the one-sided p-value is the Student-t CDF of the HLN statistic (n - 1 df)
        assert row.dm_pvalue == pytest.approx(stats.t.cdf(row.dm_statistic, VALIDATION - 1))
    assert [r.holm_pvalue for r in rows] == pytest.approx(holm_adjust([r.dm_pvalue for r in rows]))
    assert all(r.passed == (r.holm_pvalue <= 0.05) for r in rows)


def test_one_sided_p_from_the_two_sided_test():
    rng = np.random.default_rng(1)
    e_naive = rng.normal(0, 1, 200)
    better = 0.8 * e_naive + rng.normal(0, 0.1, 200)
    dm = diebold_mariano(better, e_naive)
    assert dm.statistic < 0
    assert one_sided_pvalue(dm, 200) == pytest.approx(dm.pvalue / 2)
    worse = diebold_mariano(e_naive, better)
    assert one_sided_pvalue(worse, 200) == pytest.approx(1 - worse.pvalue / 2)


def test_a_near_tie_goes_to_the_smaller_complexity(fake_families):
    """Ar1Rich forecasts a hair (1e-10) closer to every actual than Ar1Lean: a lower RMSE,
    but a tie by the rule, and Ar1Lean has fewer parameters."""
    y = ar1_returns(7)
    choice = choose(y, families=["ar1_rich", "ar1_lean"], validation_size=VALIDATION)
    rich, lean = _row(choice, "ar1_rich"), _row(choice, "ar1_lean")
    assert rich.passed and lean.passed
    assert rich.validation_rmse < lean.validation_rmse  # truly lower, by ~1e-10
    assert choice.model_type == "ar1_lean"
    assert "the lowest validation RMSE of the 2 that passed" in choice.reason


def test_equal_complexity_ties_go_to_the_fixed_family_order(fake_families):
    y = ar1_returns(7)
    for families in (["ar1_lean", "ar1_twin"], ["ar1_twin", "ar1_lean"]):
        choice = choose(y, families=families, validation_size=VALIDATION)
        assert choice.model_type == "ar1_twin", families  # registered before ar1_lean


def test_a_prefitted_candidate_is_used_as_given():
    y = ar1_returns(7)
    model = Arima("1,1,0").fit(y[:-VALIDATION])
    choice = choose(y, families=["arima"], validation_size=VALIDATION, fitted={"arima": model})
    assert choice.forecaster is model and choice.label == "ARIMA(1,1,0)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 1.5}, "alpha=1.5 must be a level strictly between 0 and 1"),
        ({"validation_size": 5}, "validation_size=5 is too small"),
        ({"families": ["nope"]}, "model family 'nope' is unknown"),
        ({"fitted": {"arima": Naive()}}, "fitted['arima'] is a 'naive' forecaster"),
        ({"fitted": {"ets": Naive()}}, "fitted['ets'] is not among the candidate families"),
        ({"train_window": 10}, "train_window=10"),
    ],
)
def test_bad_options_are_named(kwargs, message):
    args = {"families": ["arima"], "validation_size": VALIDATION} | kwargs
    with pytest.raises(BadInput, match=re.escape(message)):
        choose(ar1_returns(7), **args)


def test_rows_are_read_only_mappings_for_logging():
    choice = choose(_random_walk(5), families=["arima"], validation_size=VALIDATION)
    records = choice.table_records()
    assert records[0]["model_type"] == "naive" and set(records[1]) >= {
        "label", "validation_rmse", "naive_rmse", "skill", "dm_pvalue", "holm_pvalue", "passed",
    }  # fmt: skip
    with pytest.raises(AttributeError):
        choice.table[0].passed = False  # type: ignore[misc]


@pytest.mark.slow
def test_choices_survive_a_1e_9_perturbation_of_the_prices():
    """15 real windows and 3 synthetic ones, each perturbed by 1e-9 relative noise: the same
    choice, and the same label and verdict for every candidate."""
    rng = np.random.default_rng(2024)
    nonnaive = 0
    for name, y in choice_windows(3).items():
        base = choose(y, families=["arima"], validation_size=VALIDATION)
        shaken = y * (1.0 + 1e-9 * rng.standard_normal(len(y)))
        again = choose(shaken, families=["arima"], validation_size=VALIDATION)
        assert (again.model_type, again.label) == (base.model_type, base.label), name
        assert [(r.label, r.passed) for r in again.table] == [
            (r.label, r.passed) for r in base.table
        ], name
        nonnaive += base.model_type != "naive"
    assert nonnaive >= 1
