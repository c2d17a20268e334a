"""The leaderboard rows of one training: every candidate on the validation window and the test
period, next to naive, and why the champion won.

Training chooses a family on the validation window and an interval method for it, then walks
only the chosen model over the test period. Here every candidate family (the ones the choice
could evaluate, naive included) is walked over the test period the same way (refitted on the
window before it, forecasts as served) and scored under every candidate interval method
(`stocky.core.leaderboard`), so the leaderboard shows what each alternative would have done.
The validation forecasts are the choice's own (`Choice.paths`), not recomputed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

import numpy as np

from stocky.adapters.ports import LeaderboardRow
from stocky.core.backtest import served_path, walk_forward_model
from stocky.core.families.base import Forecaster
from stocky.core.families.naive import Naive
from stocky.core.intervals import AUTO, AUTO_METHODS, normal_quantile
from stocky.core.intervals.auto import IntervalChoice
from stocky.core.leaderboard import CandidateScores, Path, stage_scores
from stocky.core.volatility import ewma_std_path
from stocky.errors import StockyError
from stocky.pipelines.choice import ModelChoice, refit_factory

__all__ = ["leaderboard_rows"]


class TrainConfig(Protocol):
    """What of `stocky.pipelines.train.TrainConfig` the walks need (no import: train calls
    this module)."""

    @property
    def test_size(self) -> int: ...

    @property
    def validation_size(self) -> int: ...

    @property
    def train_window(self) -> int: ...

    @property
    def refit_every(self) -> int: ...

    @property
    def interval(self) -> str: ...

    @property
    def interval_window(self) -> int: ...

    def for_history(self, n: int) -> TrainConfig: ...


class Evaluation(Protocol):
    """What of `stocky.pipelines.train.Evaluation` the rows need."""

    @property
    def choice(self) -> ModelChoice: ...

    @property
    def scale(self) -> float: ...

    @property
    def intervals(self) -> IntervalChoice | None: ...

    @property
    def model_type(self) -> str: ...

    @property
    def interval(self) -> str: ...


def _validation_models(
    pre_test: np.ndarray, ev: Evaluation, config: TrainConfig
) -> tuple[dict[str, Forecaster], int, np.ndarray]:
    """The candidates fitted before the validation window, where it starts in the span, and
    the span (fit part + validation window) they were compared on."""
    fit_part = pre_test[: -config.validation_size]
    if config.train_window:
        fit_part = fit_part[-config.train_window :]
    start = len(fit_part)
    span = pre_test[-(start + config.validation_size) :]
    models = dict(ev.choice.models)
    if not models:  # an order given by the caller: no choice, so the model and naive only
        models = {"naive": Naive().fit(fit_part)}
        models[ev.model_type] = ev.choice.fitted or ev.choice.make().fit(fit_part)
    return models, start, span


def _same(model: Forecaster) -> Forecaster:
    return model


def _test_paths(
    close: np.ndarray,
    models: Mapping[str, Forecaster],
    config: TrainConfig,
    global_models: Mapping[str, Mapping[str, Forecaster]],
    chosen: str,
) -> tuple[dict[str, Path], dict[str, str], dict[str, str]]:
    """Each family walked over the test period; (paths, labels, notes).

    The chosen family is refitted before the test period, as the training's own test walk
    does; the others keep the parameters they were fitted with before the validation window
    (still out of sample, and one refit per training instead of one per family: the
    leaderboard must not double what training costs).
    """
    z = normal_quantile(0.95)
    paths: dict[str, Path] = {}
    labels: dict[str, str] = {}
    notes: dict[str, str] = {}
    for family, model in models.items():
        tested = global_models.get(family, {}).get("test")
        if family != chosen:
            tested = model  # its validation-window parameters, held through the test period
        # a global family walks its model fitted on the universe, as the chosen one does
        make = refit_factory(model) if tested is None else functools.partial(_same, tested)
        try:
            walk = walk_forward_model(
                close,
                make=make,
                fitted=tested,
                serve_window=config.interval_window,
                test_size=config.test_size,
                train_window=config.train_window,
                refit_every=config.refit_every,
                interval="model",
                interval_window=config.interval_window,
            )
        except StockyError as exc:
            notes[family] = f"not walked over the test period: {exc}"
            continue
        paths[family] = (walk.mean, (walk.upper - walk.mean) / z)
        labels[family] = walk.models[-1].label
    return paths, labels, notes


def _why_not(
    family: str, method: str, ev: Evaluation, table: Mapping[str, Mapping[str, object]]
) -> str:
    """Why a candidate is not the champion, in a few words with the numbers."""
    if family == ev.model_type:
        if ev.intervals is None:
            return f"{ev.interval} intervals were served"
        figures = {c.method: c for c in ev.intervals.candidates}
        mine, won = figures.get(method), ev.intervals.chosen
        if mine is None or not math.isfinite(mine.score):
            return f"{method} intervals: {mine.note if mine else 'not a candidate'}"
        return (
            f"{method} validation interval score {mine.score:.4g} vs {won.method}'s {won.score:.4g}"
        )
    row = table.get(family)
    if family == "naive":
        return f"the random walk, beaten significantly by {ev.model_type}"
    if row is None:
        return "not among the candidates of the choice"
    if row.get("note"):
        return str(row["note"])
    holm = float(str(row.get("holm_pvalue", math.nan)))
    if not row.get("passed"):
        return f"not significantly better than naive (Holm-adjusted DM p = {holm:.2g})"
    return (
        f"passed (Holm-adjusted DM p = {holm:.2g}) but {ev.model_type} had the lower "
        "validation RMSE or was simpler"
    )


def leaderboard_rows(
    close: np.ndarray,
    ev: Evaluation,
    config: TrainConfig,
    *,
    ticker: str,
    version: int,
    reason: str,
    trained_at: datetime,
    global_models: Mapping[str, Mapping[str, Forecaster]] | None = None,
) -> list[LeaderboardRow]:
    """Every candidate (family x interval method) of a training on both stages.

    Args:
        close: The prices the training evaluated on (`stocky.pipelines.train.evaluate`).
        ev: Its Evaluation.
        config: Its configuration (cut to the history as `evaluate` does).
        ticker: The symbol.
        version: The registered version of the evaluated model.
        reason: Why the champion won (the choice's reason as registered).
        trained_at: The training's clock reading.
        global_models: Global families fitted on the universe, per stage.

    Returns:
        Validation rows for every candidate of the choice (unscored ones with None metrics
        and the reason), test rows for every one that could be walked.
    """
    config = config.for_history(len(close))
    pre_test = close[: -config.test_size]
    models, start, span = _validation_models(pre_test, ev, config)
    window = config.interval_window
    val_paths: dict[str, Path] = {}
    for family, model in models.items():
        given = ev.choice.paths.get(family)
        val_paths[family] = given or served_path(model, span, start=start, window=window)
    methods = AUTO_METHODS if config.interval == AUTO else (config.interval,)
    validation = stage_scores(
        span, start=start, paths=val_paths, methods=methods, history=span[:start], window=window
    )
    test_paths, test_labels, notes = _test_paths(
        close, models, config, global_models or {}, ev.model_type
    )
    scales = ewma_std_path(span, start=start, window=window)
    calibration = {f: (span[start:] - p[0], scales) for f, p in val_paths.items()}
    test_start = len(close) - config.test_size
    first = max(0, test_start - config.train_window) if config.train_window else 0
    test = stage_scores(
        close, start=test_start, paths=test_paths, methods=methods,
        history=close[first:test_start], window=window, calibration=calibration, scale=ev.scale,
    )  # fmt: skip
    table = {str(r["model_type"]): r for r in ev.choice.candidates}
    won = f"{reason}; {ev.intervals.reason}" if ev.intervals is not None else reason

    def row(c: CandidateScores, stage: str, label: str) -> LeaderboardRow:
        chosen = c.model_type == ev.model_type and c.interval == ev.interval
        s = c.scores
        why = won if chosen else _why_not(c.model_type, c.interval, ev, table)
        if c.note:
            why = f"{c.note}; {why}"
        return LeaderboardRow(
            ticker=ticker, version=int(version), model_type=c.model_type, label=label[:64],
            interval=c.interval, stage=stage,
            rmse=s.rmse if s else None, naive_rmse=s.naive_rmse if s else None,
            skill=s.skill if s else None, dm_pvalue=c.dm_pvalue,
            interval_score=s.interval_score if s else None,
            naive_interval_score=s.naive_interval_score if s else None,
            crps=s.crps if s else None, coverage=s.coverage if s else None,
            direction_accuracy=s.direction_accuracy if s else None,
            chosen=chosen, reason=why, trained_at=trained_at,
        )  # fmt: skip

    rows = [row(c, "validation", models[c.model_type].label) for c in validation]
    for family, cand in table.items():  # candidates the choice could not evaluate
        if family not in models:
            for method in methods:
                empty = CandidateScores(family, method, None, note=str(cand.get("note", "")))
                rows.append(row(empty, "validation", str(cand.get("label", family))))
    rows += [row(c, "test", test_labels[c.model_type]) for c in test]
    for family, note in notes.items():  # families the test walk could not fit
        for method in methods:
            rows.append(row(CandidateScores(family, method, None, note=note), "test",
                            models[family].label))  # fmt: skip
    return rows
