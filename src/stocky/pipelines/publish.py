"""One publish path: an evaluated model becomes a run, a registered version and alias moves.

Training, retraining (and the fleet and distributed paths built on them) all end here, so
the order of the registry writes, and what a crash at any point leaves behind, is decided in
one place: the run is logged first, the version registered next, and the `champion` alias is
always the last write (the single switch serving follows).

Publishing is idempotent. Every run and version carries a `stocky.training_key` tag: a hash of
the ticker, the kind of run, its parameters (which name the data by hash and the
configuration) and the code version, never the clock. Before registering, the one version
with that key is looked up and reused, and alias writes already in place are skipped, so a
task rerun after a crash (a Dask worker lost mid-task, a retried job) never registers a second
version for the same training and never moves an alias twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from stocky.adapters.ports import AuditLog, ModelVersionInfo, PromotionRow, Registry, RunRecord
from stocky.core.spec import ModelSpec

__all__ = ["TRAINING_KEY_TAG", "PublishAction", "Published", "publish", "training_key"]

#: Tag naming the training a run and version came from (see `training_key`).
TRAINING_KEY_TAG = "stocky.training_key"

#: register: a new version; `champion` if the ticker has none yet, else `challenger`.
#: promote: a new version becomes `champion`; the one it replaces becomes `previous`.
#: log-only: the run is recorded (a rejected challenger), nothing is registered.
PublishAction = Literal["register", "promote", "log-only"]

#: Run tags that identify the code and the kind of run (the rest are descriptive).
_KEY_TAGS = ("stocky.version", "stocky.kind", "git.commit")


@dataclass(frozen=True)
class Published:
    """What publishing wrote (or found already written by an earlier attempt)."""

    run_id: str
    version: ModelVersionInfo | None
    alias: str | None
    #: True when an earlier attempt had registered this training: nothing new was registered.
    reused: bool = False


def training_key(ticker: str, record: RunRecord) -> str:
    """A deterministic key of one training: ticker, parameters and code version, no clock.

    Args:
        ticker: The ticker.
        record: The run; its params name the data (by hash or session range) and the config.

    Returns:
        24 hex digits of a sha256.
    """
    payload = {
        "ticker": ticker,
        "params": {k: str(v) for k, v in sorted(record.params.items())},
        "code": {k: record.tags[k] for k in _KEY_TAGS if k in record.tags},
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def _move(
    registry: Registry, aliases: dict[str, int], ticker: str, alias: str, version: int
) -> None:
    """Point `alias` at `version` unless it already does (an alias never moves twice)."""
    if aliases.get(alias) != version:
        registry.set_alias(ticker, alias, version)
        aliases[alias] = version


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
    """Log the run, then register and move aliases as `action` says; safe to rerun.

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
        The run id, the registered version (None for log-only) and the alias it got; `reused`
        when a version with the same training key existed (its run and version are returned).

    Raises:
        RegistryError: The registry failed; `champion` is untouched unless its move ran.
    """
    key = training_key(ticker, record)
    record = dataclasses.replace(record, tags={**record.tags, TRAINING_KEY_TAG: key})
    if action == "log-only":
        return Published(registry.log_run(record, spec=spec), None, None)
    existing = registry.find_version(ticker, TRAINING_KEY_TAG, key)
    aliases = registry.aliases(ticker)
    reused = existing is not None and existing.run_id is not None
    if existing is not None and existing.run_id is not None:
        run_id, version = existing.run_id, existing
    else:
        run_id = registry.log_run(record, spec=spec)
        version = registry.register(ticker, run_id, tags={**tags, TRAINING_KEY_TAG: key})
    number = version.version
    if action == "register":
        held = [a for a in ("champion", "challenger") if aliases.get(a) == number]
        alias = held[0] if held else ("challenger" if "champion" in aliases else "champion")
        first = alias == "champion" and not held
        _move(registry, aliases, ticker, alias, number)
        if first and audit is not None:
            _record_first(audit, ticker=ticker, version=version, run_id=run_id, now=now)
        return Published(run_id, version, alias, reused)
    if aliases.get("champion") == number:
        # an earlier attempt finished the switch; `previous` was set before it
        return Published(run_id, version, "champion", reused)
    if previous is not None:
        _move(registry, aliases, ticker, "previous", previous)
    _move(registry, aliases, ticker, "champion", number)  # the single switch
    return Published(run_id, version, "champion", reused)


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
