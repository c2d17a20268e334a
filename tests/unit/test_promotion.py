"""The promotion decision as a pure function."""

from __future__ import annotations

import numpy as np
import pytest

from stocky.core.promotion import HoldoutScore, PromotionPolicy, decide
from stocky.errors import BadInput

rng = np.random.default_rng(7)
BASE = rng.normal(0, 10, 63)


def s(name: str, scale: float) -> HoldoutScore:
    return HoldoutScore(name, BASE * scale)


def test_better_than_champion_and_naive_is_promoted():
    d = decide(s("champion", 1.0), s("challenger", 0.9), s("naive", 0.95), PromotionPolicy())
    assert d.promote
    assert d.challenger_rmse == pytest.approx(0.9 * np.sqrt(np.mean(BASE**2)))
    assert d.reason.startswith("promoted: challenger RMSE")
    assert "+10.00%" in d.reason


def test_equal_rmse_is_rejected():
    d = decide(s("champion", 1.0), s("challenger", 1.0), s("naive", 1.0), PromotionPolicy())
    assert not d.promote and "must be lower than the champion" in d.reason


def test_min_improvement_is_relative():
    policy = PromotionPolicy(min_improvement=0.05)
    assert not decide(s("c", 1.0), s("n", 0.97), s("v", 2.0), policy).promote
    assert decide(s("c", 1.0), s("n", 0.94), s("v", 2.0), policy).promote


def test_worse_than_naive_is_rejected_unless_tolerated():
    d = decide(s("c", 1.2), s("n", 1.1), s("v", 1.0), PromotionPolicy())
    assert not d.promote and "worse than naive" in d.reason
    assert decide(
        s("c", 1.2), s("n", 1.1), s("v", 1.0), PromotionPolicy(naive_tolerance=0.15)
    ).promote


def test_dm_alpha_requires_significance():
    # 1% better everywhere by a constant factor: the DM test sees a systematic gain
    strong = decide(s("c", 1.0), s("n", 0.5), s("v", 2.0), PromotionPolicy(dm_alpha=0.05))
    assert strong.promote and strong.dm_pvalue is not None and strong.dm_pvalue < 0.05
    noisy = HoldoutScore("n", BASE + rng.normal(0, 10, 63) * 0.3)
    weak = decide(s("c", 1.0), noisy, s("v", 2.0), PromotionPolicy(dm_alpha=1e-6))
    assert not weak.promote or weak.dm_pvalue < 1e-6


def test_no_champion_only_checks_naive():
    assert decide(None, s("n", 0.99), s("v", 1.0), PromotionPolicy()).promote
    d = decide(None, s("n", 1.01), s("v", 1.0), PromotionPolicy())
    assert not d.promote and d.champion_rmse is None


def test_lengths_must_match():
    with pytest.raises(BadInput, match="one holdout"):
        decide(HoldoutScore("c", BASE[:10]), s("n", 1.0), s("v", 1.0), PromotionPolicy())


@pytest.mark.parametrize(
    "kwargs", [{"min_improvement": -0.1}, {"naive_tolerance": -1}, {"dm_alpha": 1.5}]
)
def test_policy_validation(kwargs):
    with pytest.raises(BadInput):
        PromotionPolicy(**kwargs)


def test_naive_beats_both_is_the_random_walk_fallback_rule() -> None:
    from stocky.core.promotion import Decision, naive_beats_both

    def decision(
        promote: bool, champion: float | None, challenger: float, naive: float
    ) -> Decision:
        return Decision(promote, "r", champion, challenger, naive, None)

    assert naive_beats_both(decision(False, 2.0, 2.1, 1.9))
    assert not naive_beats_both(decision(False, 2.0, 1.8, 1.9))  # the challenger beat naive
    assert not naive_beats_both(decision(False, 1.8, 2.1, 1.9))  # the champion beat naive
    assert not naive_beats_both(decision(False, 1.9, 1.9, 1.9))  # a tie is no win
    assert not naive_beats_both(decision(True, 2.0, 1.95, 1.9))  # promoted: nothing to fall back
    assert not naive_beats_both(decision(False, None, 2.1, 1.9))  # no champion to replace


# --- promotion by a distribution score ---------------------------------------------------

ACTUAL = 100.0 + np.cumsum(BASE) / 10
ERR = rng.normal(0, 1.0, 63)  # the model's errors, sd 1


def scored(name: str, half: float, errors: np.ndarray = ERR) -> HoldoutScore:
    forecast = ACTUAL - errors
    return HoldoutScore(name, errors, ACTUAL, forecast - half, forecast + half)


def test_interval_score_promotes_a_calibrated_interval_that_rmse_cannot_see():
    champion, challenger = scored("champion", 3 * 1.96), scored("challenger", 1.96)
    naive = HoldoutScore("naive", ERR * 1.05)  # no interval: gets the challenger's half-width
    by_rmse = decide(champion, challenger, naive, PromotionPolicy())
    assert not by_rmse.promote and by_rmse.metric == "rmse"  # equal point errors
    by_score = decide(champion, challenger, naive, PromotionPolicy(metric="interval_score"))
    assert by_score.promote and by_score.reason.startswith("promoted: challenger interval score")
    # hand value of the champion's mean Winkler score: width + 40 x misses
    lo, hi = ACTUAL - ERR - 3 * 1.96, ACTUAL - ERR + 3 * 1.96
    hand = np.mean((hi - lo) + 40 * np.maximum(lo - ACTUAL, 0) + 40 * np.maximum(ACTUAL - hi, 0))
    assert by_score.champion_value == pytest.approx(hand)
    assert by_score.champion_rmse == pytest.approx(by_score.challenger_rmse)  # RMSEs still told
    by_crps = decide(champion, challenger, naive, PromotionPolicy(metric="crps"))
    assert by_crps.promote and by_crps.challenger_value < by_crps.champion_value


def test_interval_metric_dm_test_runs_on_the_losses():
    champion, challenger = scored("champion", 4 * 1.96), scored("challenger", 1.96)
    policy = PromotionPolicy(metric="interval_score", dm_alpha=0.01)
    d = decide(champion, challenger, HoldoutScore("naive", ERR * 2), policy)
    assert d.promote and d.dm_pvalue is not None and d.dm_pvalue < 0.01


def test_interval_metric_without_an_interval_says_what_to_do():
    with pytest.raises(BadInput, match="champion has no holdout interval.*PROMOTION_METRIC=rmse"):
        decide(
            HoldoutScore("champion", ERR), scored("challenger", 1.96), HoldoutScore("naive", ERR),
            PromotionPolicy(metric="crps"),
        )  # fmt: skip
    with pytest.raises(BadInput, match="promotion metric 'mae' is unknown"):
        PromotionPolicy(metric="mae")  # type: ignore[arg-type]


def test_naive_fallback_follows_the_metric():
    from stocky.core.promotion import naive_beats_both

    # naive's point errors are the smallest, but its own interval is three times too wide
    champion, challenger = scored("champion", 1.96), scored("challenger", 1.96 * 1.5)
    naive = scored("naive", 3 * 1.96, ERR * 0.999)
    by_rmse = decide(champion, challenger, naive, PromotionPolicy())
    assert not by_rmse.promote and naive_beats_both(by_rmse)
    by_score = decide(champion, challenger, naive, PromotionPolicy(metric="interval_score"))
    assert not by_score.promote and not naive_beats_both(by_score)
    assert by_score.naive_value > by_score.champion_value
