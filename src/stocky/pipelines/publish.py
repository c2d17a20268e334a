"""One publish path: an evaluated model becomes a run, a registered version and alias moves.

Training, retraining (and the fleet and distributed paths built on them) all end here, so
the order of the registry writes, and what a crash at any point leaves behind, is decided in
one place: the run is logged first, the version registered next, and the `champion` alias is
always the last write (the single switch serving follows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from stocky.adapters.ports import AuditLog, ModelVersionInfo, PromotionRow, Registry, RunRecord
from stocky.core.spec import ModelSpec

__all__ = ["PublishAction", "Published", "publish"]

#: register: a new version; `champion` if the ticker has none yet, else `challenger`.
#: promote: a new version becomes `champion`; the one it replaces becomes `previous`.
#: log-only: the run is recorded (a rejected challenger), nothing is registered.
PublishAction = Literal["register", "promote", "log-only"]


@dataclass(frozen=True)
class Published:
    """What publishing wrote."""

    run_id: str
    version: ModelVersionInfo | None
    alias: str | None


def publish(
    *,
    registry: Registry,
    ticker: str,
    record: RunRecord,
    spec: ModelSpec,
    tags: Mapping[str, str],
    action: PublishAction,
    previous: int | None = None,
    audit: AuditLog | None = None,
    now: dt.datetime | None = None,
) -> Published:
    """Log the run, then register and move aliases as `action` says.

    Args:
        registry: Where runs, versions and aliases live.
        ticker: The ticker.
        record: Params, metrics, tags and artifacts of the run.
        spec: The model spec stored with the run (what serving loads).
        tags: Tags of the registered version.
        action: register, promote or log-only (see PublishAction).
        previous: For promote, the champion version being replaced (gets the `previous` alias).
        audit: When given, a ticker's first champion is recorded in the promotions log
            (action "register", after the alias move) so serving picks it up from that change
            log; promotions are recorded by their caller (retrain), with the decision.
        now: When the record is made (needed with `audit`).

    Returns:
        The run id, the registered version (None for log-only) and the alias it got.

    Raises:
        RegistryError: The registry failed; `champion` is untouched unless its move ran.
    """
    run_id = registry.log_run(record, spec=spec)
    if action == "log-only":
        return Published(run_id, None, None)
    first = action == "register" and registry.alias_version(ticker, "champion") is None
    version = registry.register(ticker, run_id, tags=tags)
    if action == "register":
        alias = "champion" if first else "challenger"
        registry.set_alias(ticker, alias, version.version)
        if first and audit is not None:
            _record_first(audit, ticker=ticker, version=version, run_id=run_id, now=now)
        return Published(run_id, version, alias)
    if previous is not None:
        registry.set_alias(ticker, "previous", previous)
    registry.set_alias(ticker, "champion", version.version)  # the single switch
    return Published(run_id, version, "champion")


def _record_first(
    audit: AuditLog,
    *,
    ticker: str,
    version: ModelVersionInfo,
    run_id: str,
    now: dt.datetime | None,
) -> None:
    if now is None:
        raise TypeError("publish(audit=...) needs now= for the record it writes")
    audit.add_promotion(
        PromotionRow(
            ticker=ticker,
            model_name=version.name,
            action="register",
            from_version=None,
            to_version=version.version,
            decided_at=now,
            as_of=None,  # no session: the drift cooldown counts retrains and rollbacks only
            reason=f"first champion: v{version.version} registered by training",
            triggered_by="train",
            run_id=run_id,
        )
    )
