"""A retrain decision as it is recorded: the promotions row, its alert, and the version tags
that let a rerun of the session finish a record a dead process left unwritten.

A promotion is two writes in two systems: the registry's `champion` switch, then the decision
row (with its alert) in the database. A process killed between them leaves the switch done and
no decision, so a rerun of the session would retrain against the new champion and could promote
again (v2 -> v3 -> v4 in one session). The promoted version therefore carries the session
(`stocky.promoted_on`) and the decision (`stocky.promotion`, JSON) in its tags, written when it is
registered, before the switch; a rerun that finds the champion promoted for its session without
the row writes the row from the tags instead of retraining.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any

from stocky.adapters.ports import AuditLog, PromotionRow
from stocky.core.alerts import Alert
from stocky.core.promotion import Decision
from stocky.pipelines.alert_causes import decision_alert

__all__ = ["PROMOTED_ON_TAG", "PROMOTION_TAG", "DecisionRecord", "promotion_recorded"]

#: Version tag: the session (ISO date) whose retrain promoted this version.
PROMOTED_ON_TAG = "stocky.promoted_on"
#: Version tag: the promotion decision (`DecisionRecord` as JSON).
PROMOTION_TAG = "stocky.promotion"


@dataclass(frozen=True)
class DecisionRecord:
    """One retrain decision, everything its row and alert say except the new version."""

    ticker: str
    model_name: str
    promoted: bool
    from_version: int | None
    decided_at: dt.datetime
    as_of: dt.date
    reason: str
    #: What triggered it as recorded: "force" when the operator overrode a rejection.
    triggered_by: str
    decision: Decision
    forced: bool
    fallback: bool
    challenger_order: str
    champion_order: str | None
    holdout: tuple[str, str]

    def row(self, *, to_version: int | None, run_id: str | None) -> PromotionRow:
        """The promotions row of this decision."""
        return PromotionRow(
            ticker=self.ticker,
            model_name=self.model_name,
            action="promote" if self.promoted else "reject",
            from_version=self.from_version,
            to_version=to_version,
            decided_at=self.decided_at,
            as_of=self.as_of,
            reason=self.reason,
            triggered_by=self.triggered_by,
            champion_rmse=self.decision.champion_rmse,
            challenger_rmse=self.decision.challenger_rmse,
            naive_rmse=self.decision.naive_rmse,
            dm_pvalue=self.decision.dm_pvalue,
            run_id=run_id,
        )

    def alert(self, *, to_version: int | None) -> Alert:
        """`retrain_promoted` or `retrain_rejected` for this decision."""
        return decision_alert(
            ticker=self.ticker,
            session=self.as_of,
            promoted=self.promoted,
            decision=self.decision,
            from_version=self.from_version,
            to_version=to_version,
            reason=self.reason,
        )

    def tags(self) -> dict[str, str]:
        """The version tags of a promotion: its session and the decision (empty for a reject)."""
        if not self.promoted:
            return {}
        body: dict[str, Any] = asdict(self)
        body["decision"] = self.decision.to_dict()
        body["decided_at"] = self.decided_at.isoformat()
        body["as_of"] = self.as_of.isoformat()
        return {
            PROMOTED_ON_TAG: self.as_of.isoformat(),
            PROMOTION_TAG: json.dumps(body, sort_keys=True),
        }

    @classmethod
    def from_tags(cls, tags: dict[str, str] | Any, *, as_of: dt.date) -> DecisionRecord | None:
        """The promotion a version's tags record for session `as_of`, or None when the version
        was not promoted by a retrain of that session (or predates these tags)."""
        if tags.get(PROMOTED_ON_TAG) != as_of.isoformat() or PROMOTION_TAG not in tags:
            return None
        body = json.loads(tags[PROMOTION_TAG])
        first, last = body["holdout"]
        return cls(
            **{
                **body,
                "decision": Decision(**body["decision"]),
                "decided_at": dt.datetime.fromisoformat(body["decided_at"]),
                "as_of": dt.date.fromisoformat(body["as_of"]),
                "holdout": (first, last),
            }
        )


def promotion_recorded(audit: AuditLog, *, ticker: str, as_of: dt.date, version: int) -> bool:
    """Whether the promotions log holds the promotion of `version` for session `as_of`."""
    if ticker not in audit.decided_on([ticker], as_of=as_of):
        return False  # the usual answer, from one indexed query
    return any(
        p.as_of == as_of and p.action == "promote" and p.to_version == version
        for p in audit.promotions(ticker)
    )
