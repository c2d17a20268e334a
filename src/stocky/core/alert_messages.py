"""Message builders: one pure function per alert kind, each returning an `Alert`.

Every message says the ticker, what happened, the numbers, and what to do, in that order, so
it reads well in a chat line, an e-mail or a pager. Missing or non-finite numbers print as
"n/a" and are stored as None.
"""

from __future__ import annotations

import datetime as dt

from stocky.core.alerts import Alert
from stocky.core.words import version_change

__all__ = [
    "coverage_broken",
    "daily_failed",
    "labels_late",
    "late_labels_alert",
    "model_degraded",
    "model_degraded_vs_naive",
    "retrain_promoted",
    "retrain_rejected",
    "rollback",
    "probe_alert",
    "volatility_changed",
]


from stocky.core.alert_format import num as _num
from stocky.core.alert_format import pct as _pct
from stocky.core.alert_format import ratio as _ratio
from stocky.core.alert_format import skill as _skill
from stocky.core.alert_format import symbol as _symbol
from stocky.core.alert_ops import (
    coverage_broken,
    daily_failed,
    labels_late,
    late_labels_alert,
    probe_alert,
)


def model_degraded(
    *,
    ticker: str,
    session: dt.date,
    metric: str,
    window: int,
    latest: float | None,
    baseline: float | None,
    threshold: float | None,
    streak: int,
    naive_latest: float | None = None,
) -> Alert:
    """The champion forecasts worse than it was validated to (the drift rule fired).

    Args:
        ticker: The symbol.
        session: The latest labeled session of the check.
        metric: The drift metric (rmse, return_rmse, mape, mase).
        window: Sessions in the rolling window.
        latest: The rolling metric at `session`.
        baseline: The champion's walk-forward value of the metric.
        threshold: The breach threshold (multiplier x baseline).
        streak: Breaching sessions in a row ending at `session`.
        naive_latest: The random walk's rolling metric at `session`, when known.

    Returns:
        A `model_degraded` alert.
    """
    ticker = _symbol(ticker)
    skill = _skill(latest, naive_latest)
    beats_naive = skill is not None and skill > 0
    todo = (
        f"run `stocky retrain --ticker {ticker}` to train and score a challenger"
        if beats_naive or skill is None
        else f"the random walk does better now: run `stocky retrain --ticker {ticker}`, and keep "
        "or fall back to the random walk if no challenger beats it"
    )
    message = (
        f"{ticker}: model degraded as of {session}.\n"
        f"Rolling {metric} over {window} sessions is {_num(latest)}, "
        f"{_num(_ratio(latest, baseline))}x the baseline {_num(baseline)} "
        f"(threshold {_num(threshold)}), {streak} session(s) in a row; "
        f"naive's is {_num(naive_latest)} (skill vs naive {_pct(skill, signed=True)}).\n"
        f"What to do: {todo}."
    )
    return Alert(
        ticker,
        "model_degraded",
        session,
        f"{ticker}: model degraded ({metric} {_num(_ratio(latest, baseline))}x baseline)",
        message,
        {
            "metric": metric,
            "window": window,
            "latest": latest,
            "baseline": baseline,
            "threshold": threshold,
            "streak": streak,
            "naive_latest": naive_latest,
            "skill_vs_naive": skill,
        },
    )


def model_degraded_vs_naive(
    *,
    ticker: str,
    session: dt.date,
    since: dt.date | None,
    sessions: int,
    rmse: float | None,
    naive_rmse: float | None,
    statistic: float,
    threshold: float,
    expected_skill: float,
) -> Alert:
    """The champion forecasts worse than the random walk, or than the skill it was validated
    with (the drift assessment's *model degraded* state: a CUSUM on the loss against naive).

    Args:
        ticker: The symbol.
        session: The session of the check.
        since: The session it became champion (its sessions are counted after it).
        sessions: Labeled sessions of the champion since then.
        rmse: Its RMSE over those sessions.
        naive_rmse: The random walk's RMSE over the same sessions.
        statistic: The skill CUSUM at `session`.
        threshold: The CUSUM's alarm level.
        expected_skill: The skill vs naive the champion was expected to keep.

    Returns:
        A `model_degraded` alert.
    """
    ticker = _symbol(ticker)
    skill = _skill(rmse, naive_rmse)
    message = (
        f"{ticker}: model degraded as of {session}.\n"
        f"Over its {sessions} session(s) as champion (since {since or 'its first forecast'}), "
        f"RMSE {_num(rmse)} vs naive {_num(naive_rmse)}: skill vs naive "
        f"{_pct(skill, signed=True)}, expected {_pct(expected_skill, signed=True)}; the skill "
        f"CUSUM is {_num(statistic)} (alarm above {_num(threshold)}).\n"
        "What to do: `stocky daily` (--retrain on-drift) retrains it and falls back to the "
        "random walk when naive beats both champion and challenger on the holdout; by hand: "
        f"`stocky retrain --ticker {ticker}`."
    )
    return Alert(
        ticker,
        "model_degraded",
        session,
        f"{ticker}: model degraded (skill vs naive {_pct(skill, signed=True)})",
        message,
        {
            "detector": "assessment",
            "since": since.isoformat() if since else None,
            "sessions": sessions,
            "rmse": rmse,
            "naive_rmse": naive_rmse,
            "skill_vs_naive": skill,
            "expected_skill": expected_skill,
            "statistic": statistic,
            "threshold": threshold,
        },
    )


def volatility_changed(
    *,
    ticker: str,
    session: dt.date,
    previous_volatility: float,
    current_volatility: float,
) -> Alert:
    """The volatility regime moved (daily return volatility, as fractions: 0.008 = 0.8%).

    This is not a stale model: on a random walk the forecast stays right and only the interval
    width should follow, which the EWMA intervals do by themselves.
    """
    ticker = _symbol(ticker)
    ratio = _ratio(current_volatility, previous_volatility)
    direction = "rose" if (ratio or 1.0) >= 1.0 else "fell"
    message = (
        f"{ticker}: volatility regime changed as of {session}.\n"
        f"Daily return volatility {direction} from {_pct(previous_volatility)} to "
        f"{_pct(current_volatility)} ({_num(ratio)}x).\n"
        "What to do: no retrain needed; the 95% intervals follow the recent volatility by "
        "themselves (ewma, garch and conformal intervals all scale with it; 'model' does "
        "not). Review anything sized on the old volatility."
    )
    return Alert(
        ticker,
        "volatility_changed",
        session,
        f"{ticker}: volatility {direction} to {_pct(current_volatility)} a day ({_num(ratio)}x)",
        message,
        {
            "previous_volatility": previous_volatility,
            "current_volatility": current_volatility,
            "ratio": ratio,
        },
    )


def retrain_promoted(
    *,
    ticker: str,
    session: dt.date,
    from_version: int | None,
    to_version: int,
    champion_rmse: float | None,
    challenger_rmse: float,
    naive_rmse: float,
    reason: str,
) -> Alert:
    """A challenger replaced the champion (scores on the same holdout)."""
    ticker = _symbol(ticker)
    message = (
        f"{ticker}: champion {version_change(from_version, to_version)} as of {session}.\n"
        f"Holdout RMSE {_num(challenger_rmse)} vs champion {_num(champion_rmse)} and naive "
        f"{_num(naive_rmse)} (skill vs naive {_pct(_skill(challenger_rmse, naive_rmse), signed=True)}). "
        f"{reason}\n"
        f"What to do: nothing; the API serves it within a reload interval. To undo: "
        f"`stocky rollback --ticker {ticker}`."
    )
    return Alert(
        ticker,
        "retrain_promoted",
        session,
        f"{ticker}: v{to_version} promoted to champion",
        message,
        {
            "from_version": from_version,
            "to_version": to_version,
            "champion_rmse": champion_rmse,
            "challenger_rmse": challenger_rmse,
            "naive_rmse": naive_rmse,
        },
    )


def retrain_rejected(
    *,
    ticker: str,
    session: dt.date,
    champion_version: int | None,
    champion_rmse: float | None,
    challenger_rmse: float,
    naive_rmse: float,
    reason: str,
) -> Alert:
    """A challenger was trained and scored, and the champion stays."""
    ticker = _symbol(ticker)
    champion_skill = _skill(champion_rmse, naive_rmse)
    todo = (
        "nothing; the champion still beats naive"
        if champion_skill is not None and champion_skill >= 0
        else "the champion is behind naive on the holdout: watch the next drift checks, and "
        "consider training the random walk (`stocky train --families naive`)"
    )
    message = (
        f"{ticker}: retrain rejected as of {session}; champion v{champion_version or '-'} stays.\n"
        f"Holdout RMSE: challenger {_num(challenger_rmse)}, champion {_num(champion_rmse)}, "
        f"naive {_num(naive_rmse)} (champion skill vs naive {_pct(champion_skill, signed=True)}). "
        f"{reason}\n"
        f"What to do: {todo}."
    )
    return Alert(
        ticker,
        "retrain_rejected",
        session,
        f"{ticker}: challenger rejected, v{champion_version or '-'} stays",
        message,
        {
            "champion_version": champion_version,
            "champion_rmse": champion_rmse,
            "challenger_rmse": challenger_rmse,
            "naive_rmse": naive_rmse,
        },
    )


def rollback(
    *, ticker: str, session: dt.date, from_version: int, to_version: int, reason: str
) -> Alert:
    """The champion alias moved back to the previous version."""
    ticker = _symbol(ticker)
    message = (
        f"{ticker}: rolled back from v{from_version} to v{to_version} as of {session}.\n"
        f"Reason: {reason}\n"
        f"What to do: find out why v{from_version} was withdrawn (`stocky report --ticker "
        f"{ticker}`); the next retrain may promote a new challenger."
    )
    return Alert(
        ticker,
        "rollback",
        session,
        f"{ticker}: rolled back to v{to_version}",
        message,
        {"from_version": from_version, "to_version": to_version},
    )
