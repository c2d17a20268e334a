"""What the monitoring report shows: plain frozen data, built by `build`, drawn by the rest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from stocky.core.drift import DriftRule

if TYPE_CHECKING:
    from stocky.adapters.ports import DriftCheck, ModelVersionInfo, Promotion
    from stocky.core.fleet import FleetRow
    from stocky.core.fleet_summary import SessionStates
    from stocky.core.trained_scores import WalkForwardScores

__all__ = ["Report", "Summary", "TickerReport"]


@dataclass(frozen=True)
class Summary:
    """Accuracy over every labeled target session (the last prediction per session).

    A figure is None when the sessions do not allow it (e.g. skill when naive was exact).
    """

    sessions: int
    first: dt.date
    last: dt.date
    rmse: float | None
    naive_rmse: float | None
    skill: float | None
    mae: float | None
    coverage: float | None
    interval_score: float | None = None
    naive_interval_score: float | None = None
    crps: float | None = None
    naive_crps: float | None = None
    direction_accuracy: float | None = None
    direction_sessions: int = 0
    direction_pvalue: float | None = None
    #: Two-sided Diebold-Mariano p-value of the model vs naive (None: too few sessions).
    dm_pvalue: float | None = None


@dataclass(frozen=True, eq=False)  # holds DataFrames: compare fields, not reports
class TickerReport:
    """Everything the page shows for one ticker."""

    ticker: str
    slug: str
    sessions: pd.DataFrame  # one row per target session, oldest first
    labeled_rows: int
    pending: int
    metric: str  # the rolling metric plotted against the threshold
    window: int
    rolling: pd.DataFrame  # target_date, value, naive_value, skill (NaN until the window fills)
    thresholds: tuple[tuple[dt.date, float], ...]
    threshold_note: str
    alerts: tuple[tuple[dt.date, float], ...]
    changes: tuple[tuple[dt.date, str, str], ...]
    drift_checks: tuple[DriftCheck, ...]  # newest first
    promotions: tuple[Promotion, ...]  # newest first
    versions: tuple[ModelVersionInfo, ...]  # newest first
    summary: Summary | None
    fingerprint: str
    #: The champion's walk-forward scores from training (None: no champion, or untagged).
    walk_forward: WalkForwardScores | None = None
    #: The champion's training run, whose `forecast_vs_actual.png` is the training chart.
    training_run: str | None = None

    @property
    def has_data(self) -> bool:
        return self.summary is not None

    @property
    def champion(self) -> ModelVersionInfo | None:
        """The version holding the champion alias, if any."""
        return next((v for v in self.versions if "champion" in v.aliases), None)


@dataclass(frozen=True, eq=False)
class Report:
    """The report for several tickers at one moment: an overview page, then a page per ticker."""

    generated_at: dt.datetime
    rule: DriftRule
    tickers: tuple[TickerReport, ...]
    #: The overview's rows, problems first (`stocky.pipelines.fleet_view.with_overview`).
    overview: tuple[FleetRow, ...] = ()
    #: Labeled sessions behind the overview's skill, RMSE and coverage.
    overview_window: int = 0
    #: Drift-check states over recent sessions (the overview's summary).
    history: tuple[SessionStates, ...] = ()
    #: The drift detector in charge of retrains (STOCKY_DRIFT_DETECTOR).
    detector: str = "assessment"
    #: run id -> its training chart's PNG (None: not kept); the written report copies it.
    training_chart: Callable[[str], bytes | None] | None = None

    def get(self, ticker: str) -> TickerReport | None:
        return next((t for t in self.tickers if t.ticker == ticker), None)
