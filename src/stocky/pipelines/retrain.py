"""Retrain with safe promotion, and rollback.

A challenger is fitted on data before a holdout (the last `holdout_size` sessions up to
`as_of`); champion, challenger and naive are scored by walk-forward on that same holdout with
fixed parameters; `core.promotion.decide` rules. On promotion the challenger is refitted on
all data up to `as_of`, registered, the old champion gets the alias `previous`, and then
`champion` moves: that last alias write is the single switch, so a crash at any moment leaves
`champion` on a complete, loadable version. A crash after the switch but before the decision
is recorded is finished by the rerun of the session, which writes the decision the promoted
version's tags carry and promotes nothing again (`pipelines.retrain_record`): one promotion
per (ticker, session).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

import pandas as pd

from stocky import __version__
from stocky.adapters.ports import (
    AuditLog,
    Champion,
    ModelVersionInfo,
    QueuedAlert,
    Registry,
    RunRecord,
)
from stocky.adapters.registry import model_name
from stocky.core.promotion import (
    Decision,
    naive_beats_both,
)
from stocky.core.spec import ModelSpec
from stocky.errors import BadInput
from stocky.pipelines.publish import publish
from stocky.pipelines.retrain_record import PROMOTED_ON_TAG, DecisionRecord, promotion_recorded
from stocky.pipelines.retrain_scoring import (
    RetrainConfig,
    RetrainScoring,
    decide_retrain,
    score_retrain,
)
from stocky.pipelines.rollback import rollback
from stocky.pipelines.train import (
    baseline_metrics,
    interval_info,
    version_tags,
)

__all__ = [
    "PROMOTED_ON_TAG",
    "RetrainConfig",
    "RetrainResult",
    "RetrainScoring",
    "decide_retrain",
    "retrain_ticker",
    "rollback",
    "score_retrain",
]


@dataclass(frozen=True)
class RetrainResult:
    """What a retrain decided and did."""

    ticker: str
    promoted: bool
    decision: Decision
    from_version: int | None
    to_version: int | None
    run_id: str
    challenger_order: str
    champion_order: str | None
    holdout: tuple[str, str]
    forced: bool
    spec: ModelSpec
    version: ModelVersionInfo | None
    #: The challenger was rejected and the random walk promoted instead (naive beat both).
    fallback: bool = False


def retrain_ticker(
    *,
    ticker: str,
    prices: pd.DataFrame,
    registry: Registry,
    audit: AuditLog,
    config: RetrainConfig,
    as_of: dt.date,
    now: dt.datetime,
    triggered_by: str,
    force: bool = False,
    champion: Champion | None = None,
    git_commit: str | None = None,
    fallback_to_naive: bool = False,
    replay: bool = False,
) -> RetrainResult:
    """Train a challenger, score all three on the holdout, decide, and promote or reject.

    The decision is recorded with a `retrain_promoted` or `retrain_rejected` alert in the same
    transaction.

    Args:
        ticker: The ticker.
        prices: Stored prices (date, close), any range; only sessions up to `as_of` are used.
        registry: MLflow registry (runs, versions, aliases).
        audit: Where the decision is recorded (promotions table).
        config: Order, holdout, windows and promotion policy.
        as_of: The last session whose close may be used.
        now: Recorded decision time.
        triggered_by: drift, schedule, manual, replay...
        force: Promote even when the policy rejects (the reason says so).
        champion: The current champion; read from the registry when None.
        git_commit: Code version, when known.
        fallback_to_naive: The champion is degraded: when the challenger is rejected and
            naive beats both on the holdout (`core.promotion.naive_beats_both`), promote the
            random walk (0,1,0) instead, through the same publish path, with the reason.
        replay: Part of a replay: its alert is marked as a replay's.

    A rerun of a session whose promotion switched `champion` but died before recording it
    writes that record (and its alert) and returns it: nothing is trained or promoted again.

    Returns:
        The RetrainResult.

    Raises:
        BadInput: Too little data before `as_of`.
        RegistryError: MLflow failed (the champion alias is untouched unless the final switch ran).
    """
    frame = prices[pd.to_datetime(prices["date"]) <= pd.Timestamp(as_of)]
    close = frame["close"].to_numpy(dtype=float)
    dates = pd.to_datetime(frame["date"])
    need = config.holdout_size + config.validation_size + config.min_train_size
    if len(close) < need:
        raise BadInput(
            f"{ticker}: {len(close)} sessions up to {as_of}, fewer than the {need} a retrain needs "
            f"(holdout {config.holdout_size} + validation {config.validation_size} + fit {config.min_train_size}): "
            "pull more history or shrink --holdout"
        )
    if champion is None:
        champion = registry.champion(ticker)
    if champion is not None:
        finished = _finish_recording(champion, audit=audit, as_of=as_of, replay=replay)
        if finished is not None:
            return finished
    scoring = score_retrain(close, champion=champion, config=config)
    decision = decide_retrain(scoring, config.policy)
    fallback = fallback_to_naive and not force and naive_beats_both(decision)
    promote = decision.promote or force or fallback
    reason = (
        decision.reason
        if decision.promote or not force
        else f"forced by the operator; the policy said: {decision.reason}"
    )
    if fallback:
        reason = (
            f"fallback to the random walk: the champion is degraded and naive "
            f"beat both on the holdout (naive RMSE {decision.naive_rmse:.4f}); challenger "
            f"{scoring.label} {decision.reason}"
        )
        rw = dataclasses.replace(config, order="auto", families=("naive",))
        scoring = score_retrain(close, champion=champion, config=rw)
    start = scoring.start
    holdout = (str(dates.iloc[start].date()), str(dates.iloc[-1].date()))
    latest = close[-config.train_window :] if config.train_window else close
    final = scoring.evaluation.choice.make().fit(latest) if promote else scoring.challenger
    fit_len = len(latest) if promote else len(scoring.fit_part)
    interval, interval_params = (
        scoring.served_interval(close, latest, config.interval_window)
        if promote
        else scoring.challenger_interval(close, config.interval_window)
    )
    spec = ModelSpec(
        ticker=ticker,
        model_type=final.model_type,
        params=final.to_params(),
        train_start=str(dates.iloc[len(close) - fit_len].date())
        if promote
        else str(dates.iloc[start - len(scoring.fit_part)].date()),
        train_end=str(dates.iloc[-1].date()) if promote else str(dates.iloc[start - 1].date()),
        train_rows=fit_len,
        metrics=baseline_metrics(scoring.evaluation),
        info={
            "trained_at": now.isoformat(),
            "kind": "retrain",
            "holdout": list(holdout),
            "decision": reason,
        }
        | interval_info(scoring.evaluation),
        interval=interval,
        interval_params=interval_params,
    )
    champ_version = champion.version if champion else None
    record = _retrain_record(
        ticker=ticker,
        as_of=as_of,
        challenger=scoring.label,
        champion=champion,
        holdout=holdout,
        triggered_by=triggered_by,
        config=config,
        force=force,
        promote=promote,
        reason=reason,
        decision=decision,
        git_commit=git_commit,
        interval=interval,
    )
    decided = DecisionRecord(
        ticker=ticker,
        model_name=champion.name if champion else model_name(ticker),
        promoted=promote,
        from_version=champ_version,
        decided_at=now,
        as_of=as_of,
        reason=reason,
        triggered_by="force" if force and not decision.promote else triggered_by,
        decision=decision,
        forced=force and not decision.promote,
        fallback=fallback,
        challenger_order=scoring.label,
        champion_order=champion.spec.label if champion else None,
        holdout=holdout,
    )
    published = publish(
        registry=registry,
        ticker=ticker,
        record=record,
        spec=spec,
        # the session and decision travel with the version, so a rerun can finish the record
        tags=version_tags(spec, scoring.evaluation.scores) | decided.tags(),
        action="promote" if promote else "log-only",
        previous=champ_version,
    )
    version = published.version
    to_version = version.version if version is not None else None
    audit.add_promotion(
        decided.row(to_version=to_version, run_id=published.run_id),
        alerts=[QueuedAlert(decided.alert(to_version=to_version), replay=replay)],
    )
    return _result(decided, spec=spec, version=version, run_id=published.run_id)


def _result(
    decided: DecisionRecord, *, spec: ModelSpec, version: ModelVersionInfo | None, run_id: str
) -> RetrainResult:
    return RetrainResult(
        ticker=decided.ticker,
        promoted=decided.promoted,
        decision=decided.decision,
        from_version=decided.from_version,
        to_version=version.version if version is not None else None,
        run_id=run_id,
        challenger_order=decided.challenger_order,
        champion_order=decided.champion_order,
        holdout=decided.holdout,
        forced=decided.forced,
        spec=spec,
        version=version,
        fallback=decided.fallback,
    )


def _finish_recording(
    champion: Champion, *, audit: AuditLog, as_of: dt.date, replay: bool
) -> RetrainResult | None:
    """Record the promotion of `champion` for `as_of` when a dead process left it unrecorded.

    Returns:
        The promotion's RetrainResult once recorded; None when the champion was not promoted
        for `as_of`, or its promotion is recorded (a further retrain is a new decision).
    """
    decided = DecisionRecord.from_tags(champion.info.tags, as_of=as_of)
    if decided is None or promotion_recorded(
        audit, ticker=champion.ticker, as_of=as_of, version=champion.version
    ):
        return None
    run_id = champion.info.run_id or ""
    audit.add_promotion(
        decided.row(to_version=champion.version, run_id=run_id or None),
        alerts=[QueuedAlert(decided.alert(to_version=champion.version), replay=replay)],
    )
    return _result(decided, spec=champion.spec, version=champion.info, run_id=run_id)


def _retrain_record(
    *,
    ticker: str,
    as_of: dt.date,
    challenger: str,
    champion: Champion | None,
    holdout: tuple[str, str],
    triggered_by: str,
    config: RetrainConfig,
    force: bool,
    promote: bool,
    reason: str,
    decision: Decision,
    git_commit: str | None,
    interval: str = "-",
) -> RunRecord:
    champ_version = champion.version if champion else None
    return RunRecord(
        run_name=f"retrain-{ticker}-{as_of}",
        params={
            "ticker": ticker,
            "as_of": as_of.isoformat(),
            "challenger_order": challenger,
            "champion_order": champion.spec.label if champion else "none",
            "champion_version": champ_version if champ_version is not None else "none",
            "holdout_first": holdout[0],
            "holdout_last": holdout[1],
            "triggered_by": triggered_by,
            "interval": interval,
            "interval_setting": config.interval,
            "forced": force,
            "min_improvement": config.policy.min_improvement,
            "naive_tolerance": config.policy.naive_tolerance,
            "dm_alpha": config.policy.dm_alpha if config.policy.dm_alpha is not None else "none",
            "decision": "promote" if promote else "reject",
            "reason": reason,
        },
        metrics={
            k: v
            for k, v in {
                "challenger_rmse": decision.challenger_rmse,
                "champion_rmse": decision.champion_rmse,
                "naive_rmse": decision.naive_rmse,
                "dm_pvalue": decision.dm_pvalue,
                "promoted": 1.0 if promote else 0.0,
            }.items()
            if v is not None
        },
        tags={"stocky.version": __version__, "stocky.kind": "retrain", "ticker": ticker}
        | ({"git.commit": git_commit} if git_commit else {}),
        artifacts={
            "decision.json": json.dumps(
                {**decision.to_dict(), "reason": reason, "holdout": holdout}, indent=2
            ).encode()
        },
    )
