"""Message builders: one pure function per alert kind, each returning an `Alert`.

Every message says the ticker, what happened, the numbers, and what to do, in that order, so
it reads well in a chat line, an e-mail or a pager. Missing or non-finite numbers print as
"n/a" and are stored as None.
"""

from __future__ import annotations

import datetime as dt
import math

from stocky.core.alerts import FLEET, Alert
from stocky.core.tickers import normalize_ticker
from stocky.errors import BadInput

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


def _num(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.4g}"


def _pct(value: float | None, *, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or not (math.isfinite(value) and math.isfinite(base)):
        return None
    return value / base if base != 0 else None


def _skill(model: float | None, naive: float | None) -> float | None:
    ratio = _ratio(model, naive)
    return None if ratio is None else 1.0 - ratio


def _who(ticker: str) -> str:
    return "stocky" if ticker == FLEET else ticker


def _symbol(ticker: str) -> str:
    return ticker if ticker == FLEET else normalize_ticker(ticker)


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
        "themselves (STOCKY_INTERVAL=ewma). Review anything sized on the old volatility."
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
        f"{ticker}: new champion v{to_version} (was v{from_version or '-'}) as of {session}.\n"
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
        "consider training the random walk (`stocky train --order 0,1,0`)"
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


def daily_failed(*, ticker: str, session: dt.date, step: str, error: str) -> Alert:
    """A step of the daily job failed (`ticker` is `FLEET` when the whole job did)."""
    ticker = _symbol(ticker)
    where = "" if ticker == FLEET else f" --ticker {ticker}"
    message = (
        f"{_who(ticker)}: daily job failed at step '{step}' for session {session}.\n"
        f"Error: {error}\n"
        f"What to do: fix the cause named above, then run `stocky daily --as-of {session}{where}`."
    )
    return Alert(
        ticker,
        "daily_failed",
        session,
        f"{_who(ticker)}: daily job failed at {step} ({session})",
        message,
        {"step": step, "error": error[:500]},
    )


def labels_late(
    *,
    ticker: str,
    session: dt.date,
    close_at: dt.datetime,
    now: dt.datetime,
    grace_hours: float,
    last_stored: dt.date | None,
) -> Alert:
    """The close of `session` is not stored `grace_hours` after the market closed."""
    ticker = _symbol(ticker)
    hours = (now - close_at).total_seconds() / 3600.0
    message = (
        f"{ticker}: the close of {session} is not stored {hours:.1f} h after the market closed "
        f"(limit {grace_hours:g} h); the latest stored close is {last_stored or 'none'}.\n"
        "Forecasts for that session cannot be scored and drift checks stall.\n"
        f"What to do: run `stocky data pull --ticker {ticker}` then `stocky actuals --ticker "
        f"{ticker}`; if the pull fails, check the price source (STOCKY_PRICE_SOURCE)."
    )
    return Alert(
        ticker,
        "labels_late",
        session,
        f"{ticker}: close of {session} missing after {hours:.0f} h",
        message,
        {
            "hours_late": hours,
            "grace_hours": grace_hours,
            "last_stored": last_stored.isoformat() if last_stored else None,
        },
    )


def late_labels_alert(
    *,
    ticker: str,
    expected: dt.date,
    close_at: dt.datetime,
    last_stored: dt.date | None,
    now: dt.datetime,
    grace_hours: float,
) -> Alert | None:
    """A `labels_late` alert when `expected` closed over `grace_hours` ago and is not stored.

    Args:
        ticker: The symbol.
        expected: The latest session that closed at least `grace_hours` before `now`.
        close_at: Its close (aware).
        last_stored: The latest stored session for the ticker, None when nothing is stored.
        now: The time of the check (aware).
        grace_hours: How long after the close a missing close is not yet late.

    Returns:
        The alert, or None when the close is stored or not late yet.

    Raises:
        BadInput: A naive datetime or a negative grace.
    """
    if close_at.tzinfo is None or now.tzinfo is None:
        raise BadInput("close_at and now must be aware datetimes: pass UTC times")
    if not (math.isfinite(grace_hours) and grace_hours >= 0):
        raise BadInput(f"grace_hours={grace_hours}: use a number of hours >= 0, e.g. 6")
    if last_stored is not None and last_stored >= expected:
        return None
    if now - close_at < dt.timedelta(hours=grace_hours):
        return None
    return labels_late(
        ticker=ticker,
        session=expected,
        close_at=close_at,
        now=now,
        grace_hours=grace_hours,
        last_stored=last_stored,
    )


def coverage_broken(
    *,
    ticker: str,
    session: dt.date,
    coverage: float,
    nominal: float,
    window: int,
    lower_limit: float,
) -> Alert:
    """The share of actual closes inside the interval fell below `lower_limit`."""
    ticker = _symbol(ticker)
    message = (
        f"{ticker}: interval coverage broken as of {session}.\n"
        f"{_pct(coverage)} of the last {window} closes fell inside the {_pct(nominal)} interval "
        f"(alert below {_pct(lower_limit)}).\n"
        "What to do: the intervals are too narrow for the market now; check STOCKY_INTERVAL is "
        f"'ewma' for this model, and retrain (`stocky retrain --ticker {ticker} --force`) so "
        "the interval scale is recalibrated."
    )
    return Alert(
        ticker,
        "coverage_broken",
        session,
        f"{ticker}: {_pct(coverage)} inside the {_pct(nominal)} interval",
        message,
        {"coverage": coverage, "nominal": nominal, "window": window, "lower_limit": lower_limit},
    )


def probe_alert(*, session: dt.date) -> Alert:
    """A harmless alert that checks the delivery targets (`stocky alerts test`)."""
    return Alert(
        FLEET,
        "test",
        session,
        "test alert",
        "stocky: this is a test alert, sent by `stocky alerts test`.\n"
        "What to do: nothing; if you read this, alerts reach you.",
        {},
    )
