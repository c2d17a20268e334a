"""A model version's scores from its training's walk-forward test period, read from its tags.

Training registers each version with its walk-forward scores next to the naive random walk's
(`stocky.pipelines.train.version_tags`); the spec's metrics hold the Diebold-Mariano p-value.
Until live labels exist these are the only model-vs-naive numbers the pages can show, so they
are shown, labelled "walk-forward" with the test period's length.

Pure: parses strings, no registry access.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["WalkForwardScores", "walk_forward_scores"]


@dataclass(frozen=True)
class WalkForwardScores:
    """Scores over the walk-forward test period; every float is finite or None.

    Attributes:
        sessions: Test sessions walked (None: a version tagged before the count was).
        rmse: The model's RMSE; naive_rmse the random walk's over the same sessions.
        skill: 1 - rmse / naive_rmse.
        coverage: Share of actuals inside the 95% interval.
        interval_score: Mean 95% interval score; naive_interval_score naive's.
        crps: Mean CRPS; naive_crps naive's.
        direction_accuracy: Share of moves with the right sign; direction_pvalue vs 50%.
        dm_pvalue: Two-sided Diebold-Mariano p-value of the model against naive.
    """

    sessions: int | None = None
    rmse: float | None = None
    naive_rmse: float | None = None
    skill: float | None = None
    coverage: float | None = None
    interval_score: float | None = None
    naive_interval_score: float | None = None
    crps: float | None = None
    naive_crps: float | None = None
    direction_accuracy: float | None = None
    direction_pvalue: float | None = None
    dm_pvalue: float | None = None


#: Field -> the version tag holding it.
_TAGS = {
    "rmse": "walk_forward_rmse",
    "naive_rmse": "naive_rmse",
    "skill": "skill",
    "coverage": "walk_forward_coverage",
    "interval_score": "walk_forward_interval_score",
    "naive_interval_score": "naive_interval_score",
    "crps": "walk_forward_crps",
    "naive_crps": "naive_crps",
    "direction_accuracy": "direction_accuracy",
    "direction_pvalue": "direction_pvalue",
    "dm_pvalue": "dm_pvalue",
}


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def walk_forward_scores(
    tags: Mapping[str, str], metrics: Mapping[str, float | None] | None = None
) -> WalkForwardScores | None:
    """The walk-forward scores a version's tags (and its spec's metrics) hold.

    Args:
        tags: The registered version's tags; unparsable or non-finite values count as missing.
        metrics: The spec's metrics, read where a tag is missing (older versions carry the
            DM p-value only there).

    Returns:
        The scores, or None when neither the RMSE nor the skill is known (nothing to show).
    """
    metrics = metrics or {}
    values = {
        name: _number(tags.get(tag)) if tags.get(tag) is not None else _number(metrics.get(tag))
        for name, tag in _TAGS.items()
    }
    if values["rmse"] is None and values["skill"] is None:
        return None
    sessions = _number(tags.get("walk_forward_sessions"))
    return WalkForwardScores(
        sessions=int(sessions) if sessions is not None and sessions >= 1 else None, **values
    )
