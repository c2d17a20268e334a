"""Train one ticker: quality gates, order choice, walk-forward vs naive, MLflow run, registry.

Collaborators come in as keyword arguments; time is an argument (`now`).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from stocky import __version__
from stocky.adapters.ports import AuditLog, Leaderboard, ModelVersionInfo, Registry, RunRecord
from stocky.core.arima import ArimaOrder
from stocky.core.backtest import WalkForward, walk_forward_model
from stocky.core.families.base import Forecaster
from stocky.core.families.registry import DEFAULT_FAMILIES, parse_families
from stocky.core.intervals import AUTO, validate_interval_setting
from stocky.core.intervals.auto import IntervalChoice
from stocky.core.metrics import Scores, naive_scale, score
from stocky.core.quality import check_prices, drop_non_sessions
from stocky.core.sessions import TradingCalendar
from stocky.core.spec import ModelSpec
from stocky.errors import BadInput
from stocky.pipelines.artifacts import Artifacts
from stocky.pipelines.choice import ModelChoice, choose_model
from stocky.pipelines.intervals import (
    choose_walk_interval,
    served_interval_params,
    test_interval_params,
)
from stocky.pipelines.leaderboard import leaderboard_rows
from stocky.pipelines.publish import Published, publish
from stocky.report.charts import forecast_chart

__all__ = [
    "TrainConfig",
    "TrainResult",
    "baseline_metrics",
    "data_hash",
    "evaluate",
    "interval_info",
    "served_interval_params",
    "train_ticker",
    "version_tags",
]


#: The shortest validation window a training shrinks to (see `TrainConfig.for_history`).
MIN_VALIDATION = 126


@dataclass(frozen=True)
class TrainConfig:
    """How to train: the families (or an ARIMA order 'p,d,q') and the split."""

    order: str = "auto"
    #: Candidate families with order "auto" (naive always among them).
    families: tuple[str, ...] = DEFAULT_FAMILIES
    #: Level a non-naive candidate must reach against naive (one-sided DM, Holm-corrected).
    alpha: float = 0.05
    test_size: int = 252
    #: Sessions the families are compared on before the test period: as many as the history
    #: allows up to this (`for_history`), at least MIN_VALIDATION. 756 gives the one-sided DM
    #: test the power to find a 4-6% edge (bench/bench_selection.py) while keeping false
    #: discoveries on random walks near 1%.
    validation_size: int = 756
    train_window: int = 1260
    refit_every: int = 0
    min_train_size: int = 250
    #: How the model sizes its intervals: "auto" (the lowest validation interval score among
    #: ewma, garch and conformal) or one method (`stocky.core.intervals`), and the prices
    #: behind each interval in the walk-forward (what the server gets: STOCKY_MAX_PRICES).
    interval: str = AUTO
    interval_window: int = 60

    def __post_init__(self) -> None:
        if self.order != "auto":
            ArimaOrder.parse(self.order)
        object.__setattr__(self, "families", parse_families(self.families))
        validate_interval_setting(self.interval)

    def for_history(self, n: int) -> TrainConfig:
        """This configuration with the validation window cut to what `n` sessions allow.

        The validation shrinks (not below MIN_VALIDATION, nor below what was asked when that
        is smaller) so a ticker with a shorter history still trains; the test period and the
        fewest fit sessions never shrink.
        """
        room = n - self.test_size - self.min_train_size
        floor = min(self.validation_size, MIN_VALIDATION)
        size = max(floor, min(self.validation_size, room))
        return self if size == self.validation_size else replace(self, validation_size=size)


@dataclass(frozen=True)
class Evaluation:
    """The pure part of training: the chosen model, its walk-forward and scores vs naive."""

    choice: ModelChoice
    walk: WalkForward
    scores: Scores
    scale: float
    #: The interval method chosen on the validation window (None: evaluated without one).
    intervals: IntervalChoice | None = None

    @property
    def interval(self) -> str:
        """The interval method of the test walk and of the served model."""
        return self.walk.interval

    @property
    def model_type(self) -> str:
        return self.choice.model_type

    @property
    def label(self) -> str:
        """The tested model's label ("ARIMA(0,1,1)", "ETS(A,N,N)"...)."""
        return self.walk.models[-1].label if self.walk.models else self.choice.label

    @property
    def fitted(self) -> Forecaster:
        """The model of the last test block (warm start and configuration of the final fit)."""
        return self.walk.models[-1]


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    ticker: str
    run_id: str
    version: ModelVersionInfo
    alias: str
    spec: ModelSpec
    scores: Scores
    order_reason: str
    warnings: tuple[str, ...]
    source: str
    #: When a first model lost to naive on its test period: the random walk's version, which
    #: serves as champion while this one is the challenger.
    champion_version: int | None = None


def data_hash(dates: pd.Series, close: np.ndarray) -> str:
    """sha256 over the dates and closes used, so a run names its exact data."""
    h = hashlib.sha256()
    h.update(pd.to_datetime(dates).dt.strftime("%Y-%m-%d").str.cat(sep=",").encode())
    h.update(np.ascontiguousarray(close, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def evaluate(
    close: np.ndarray,
    config: TrainConfig,
    *,
    global_models: Mapping[str, Mapping[str, Forecaster]] | None = None,
) -> Evaluation:
    """Choose the model (on data before the test period) and walk forward over the test period.

    Args:
        close: Closing prices, oldest first.
        config: Split, families and order settings.
        global_models: Global families fitted on the universe: family -> stage
            ("validation", "test", "final") -> forecaster (`pipelines.global_models`).

    Returns:
        The Evaluation; metrics compare the model with the naive random walk.
    """
    config = config.for_history(len(close))
    need = config.test_size + config.validation_size + config.min_train_size
    if len(close) < need:
        raise BadInput(
            f"{len(close)} sessions are too few: training needs {need} (test {config.test_size} + "
            f"validation {config.validation_size} + fit {config.min_train_size}); "
            "use --test-size smaller or a source with more history"
        )
    pre_test = close[: -config.test_size]
    choice = choose_model(
        pre_test,
        order=config.order,
        families=config.families,
        validation_size=config.validation_size,
        train_window=config.train_window,
        alpha=config.alpha,
        fitted={f: stages["validation"] for f, stages in (global_models or {}).items()},
        serve_window=config.interval_window,
    )
    stages = (global_models or {}).get(choice.model_type, {})
    intervals = choose_walk_interval(
        pre_test,
        choice=choice,
        fitted=stages.get("validation", choice.fitted),
        setting=config.interval,
        validation_size=config.validation_size,
        train_window=config.train_window,
        window=config.interval_window,
    )
    tested = stages.get("test")
    walk = walk_forward_model(
        close,
        make=choice.make if tested is None else (lambda: tested),
        fitted=tested,
        serve_window=config.interval_window,
        test_size=config.test_size,
        train_window=config.train_window,
        refit_every=config.refit_every,
        interval=intervals.method,
        interval_window=config.interval_window,
        interval_params=test_interval_params(intervals, window=config.interval_window),
    )
    train_part = pre_test[-config.train_window :] if config.train_window else pre_test
    scale = naive_scale(train_part)
    scores = score(
        walk.actual, walk.mean, walk.naive, lower=walk.lower, upper=walk.upper, scale=scale
    )
    return Evaluation(choice=choice, walk=walk, scores=scores, scale=scale, intervals=intervals)


def interval_info(ev: Evaluation) -> dict[str, Any]:
    """What a spec's info and a run record say about the interval method and why."""
    if ev.intervals is None:
        return {"interval": ev.interval}
    return {
        "interval": ev.interval,
        "interval_reason": ev.intervals.reason,
        "interval_candidates": ev.intervals.table_records(),
    }


def version_tags(spec: ModelSpec, scores: Scores) -> dict[str, str]:
    """The registered version's tags: what `GET /models` and the report show without loading
    the spec."""
    tags = {
        "model_type": spec.model_type,
        "model": spec.label,
        "order": spec.arima_order or "-",
        "interval": spec.interval,
        "interval_scale": f"{spec.interval_scale:.4g}",
        "walk_forward_rmse": f"{scores.rmse:.6g}",
        "naive_rmse": f"{scores.naive_rmse:.6g}",
        "skill": f"{scores.skill:.6g}",
        "walk_forward_sessions": str(scores.n),
        "train_start": spec.train_start,
        "train_end": spec.train_end,
    }
    if scores.coverage is not None:
        tags["walk_forward_coverage"] = f"{scores.coverage:.6g}"
    for tag, value in (
        ("walk_forward_interval_score", scores.interval_score),
        ("naive_interval_score", scores.naive_interval_score),
        ("walk_forward_crps", scores.crps),
        ("naive_crps", scores.naive_crps),
        ("direction_accuracy", scores.direction_accuracy),
        ("direction_pvalue", scores.direction_pvalue),
        ("dm_pvalue", scores.dm_pvalue),
    ):
        if value is not None and np.isfinite(value):
            tags[tag] = f"{value:.6g}"
    return tags


def baseline_metrics(ev: Evaluation) -> dict[str, float | None]:
    """The metrics a spec carries: drift baselines for every drift metric, naive beside them."""
    walk = ev.walk
    return {
        "walk_forward_rmse": ev.scores.rmse,
        "walk_forward_return_rmse": float(
            np.sqrt(np.mean(((walk.actual - walk.mean) / walk.naive) ** 2))
        ),
        "walk_forward_mape": ev.scores.mape,
        "walk_forward_mase": ev.scores.mase,
        "walk_forward_coverage": ev.scores.coverage,
        "naive_rmse": ev.scores.naive_rmse,
        "skill": ev.scores.skill,
        "dm_pvalue": ev.scores.dm_pvalue,
        "naive_scale": ev.scale,
        "walk_forward_return_interval_score": ev.scores.return_interval_score,
    }


def train_ticker(
    *,
    ticker: str,
    prices: pd.DataFrame,
    source: str,
    registry: Registry,
    config: TrainConfig,
    now: datetime,
    git_commit: str | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    audit: AuditLog | None = None,
    calendar: TradingCalendar | None = None,
    global_models: Mapping[str, Mapping[str, Forecaster]] | None = None,
    leaderboard: Leaderboard | None = None,
) -> TrainResult:
    """Train, evaluate and register one ticker.

    Args:
        ticker: Symbol, e.g. ``^GSPC``.
        prices: Daily sessions with `date` and `close` columns, oldest first.
        source: Name of the price source, recorded with the run.
        registry: Where runs and model versions go.
        config: Order and split.
        now: The clock reading recorded as the training time.
        git_commit: Code version, when known.
        progress: Called with a short message at each step.
        audit: When given, a first champion is recorded there (serving's change log).
        calendar: When given, rows dated on days it does not trade are dropped first, with
            a warning (`core.quality.drop_non_sessions`).
        global_models: Global families fitted once on the universe, per stage
            (`pipelines.global_models`); without them a global family is fitted on this
            ticker alone.
        leaderboard: When given, every candidate (family x interval method) is scored on
            the validation window and the test period and stored there for this version
            (`stocky.pipelines.leaderboard`), replacing the rows of an earlier run of it.

    Returns:
        The TrainResult: registered version, alias given, scores vs naive.

    Raises:
        DataQualityError: Too little or unusable data.
        RegistryError: MLflow failed.
    """
    progress("checking data")
    dropped = None
    if calendar is not None:
        prices, dropped = drop_non_sessions(prices, calendar=calendar)
    config = config.for_history(len(prices))
    quality = check_prices(
        prices, min_rows=config.test_size + config.validation_size + config.min_train_size
    )
    if dropped is not None:
        quality = replace(quality, warnings=(dropped, *quality.warnings))
    close = prices["close"].to_numpy(dtype=float)
    dates = pd.to_datetime(prices["date"])
    progress("choosing the model and walking forward")
    ev = evaluate(close, config, global_models=global_models)
    context = _Context(
        ticker, prices, close, dates, source, config, now, git_commit, quality, global_models
    )
    naive_first: Published | None = None
    reason = ev.choice.reason
    if (
        config.order == "auto"  # an order given by the caller is served as asked
        and ev.model_type != "naive"
        and ev.scores.skill < 0
        and registry.alias_version(ticker, "champion") is None
    ):
        # a first model that lost to naive on its test period does not serve: the random walk
        # does, and the model waits as the challenger
        lost = (
            f"{ev.label} was chosen on the validation window but lost to naive on the "
            f"{config.test_size}-session test period (skill {ev.scores.skill:+.2%}): "
            "the random walk serves as champion"
        )
        naive_ev = evaluate(close, replace(config, order="auto", families=("naive",)))
        progress("registering the random walk as champion")
        naive_first, _ = _publish(
            context, naive_ev, f"{lost}; {ev.label} is registered as challenger", registry, audit
        )
        reason = f"{reason}; {lost}"
    progress("fitting on the latest data")
    published, spec = _publish(context, ev, reason, registry, audit, progress=progress)
    assert published.version is not None and published.alias is not None
    if leaderboard is not None:
        progress("scoring every candidate for the leaderboard")
        rows = leaderboard_rows(
            close, ev, config, ticker=ticker, version=published.version.version,
            reason=reason, trained_at=now, global_models=global_models,
        )  # fmt: skip
        leaderboard.replace(ticker, published.version.version, rows)
    return TrainResult(
        ticker=ticker,
        run_id=published.run_id,
        version=published.version,
        alias=published.alias,
        spec=spec,
        scores=ev.scores,
        order_reason=reason,
        warnings=quality.warnings,
        source=source,
        champion_version=naive_first.version.version
        if naive_first is not None and naive_first.version is not None
        else None,
    )


@dataclass(frozen=True)
class _Context:
    """What every publish of one training shares."""

    ticker: str
    prices: pd.DataFrame
    close: np.ndarray
    dates: pd.Series
    source: str
    config: TrainConfig
    now: datetime
    git_commit: str | None
    quality: Any
    global_models: Mapping[str, Mapping[str, Forecaster]] | None = None


def _publish(
    ctx: _Context,
    ev: Evaluation,
    reason: str,
    registry: Registry,
    audit: AuditLog | None,
    *,
    progress: Callable[[str], None] = lambda _msg: None,
) -> tuple[Published, ModelSpec]:
    """Fit the evaluated model on the latest data and register it (alias as `publish` says)."""
    config, close, dates, ticker = ctx.config, ctx.close, ctx.dates, ctx.ticker
    fit_slice = close[-config.train_window :] if config.train_window else close
    shared = (ctx.global_models or {}).get(ev.model_type, {}).get("final")
    # a global family serves the model fitted on the universe's latest prices
    final = shared if shared is not None else ev.choice.make().fit(fit_slice)
    fit_dates = dates.iloc[-len(fit_slice) :]
    metrics = {
        k: v for k, v in ev.scores.to_dict().items() if isinstance(v, int | float) and v is not None
    }
    spec = ModelSpec(
        ticker=ticker,
        model_type=final.model_type,
        params=final.to_params(),
        train_start=str(fit_dates.iloc[0].date()),
        train_end=str(fit_dates.iloc[-1].date()),
        train_rows=len(fit_slice),
        metrics=baseline_metrics(ev),
        info={"source": ctx.source, "trained_at": ctx.now.isoformat(), "order_reason": reason}
        | interval_info(ev),
        interval=ev.interval,
        interval_params=served_interval_params(
            ev.interval, prices=fit_slice, walk=ev.walk, close=close, window=config.interval_window
        ),
    )
    test_dates = dates.iloc[ev.walk.start :]
    params = {
        "ticker": ticker,
        "model_type": ev.model_type,
        "model": spec.label,
        "order": spec.arima_order or "-",
        "order_mode": config.order,
        "families": ",".join(config.families),
        "order_reason": reason,
        "test_size": config.test_size,
        "validation_size": config.validation_size,
        "train_window": config.train_window,
        "refit_every": config.refit_every,
        "interval": ev.interval,
        "interval_setting": config.interval,
        "interval_reason": ev.intervals.reason if ev.intervals is not None else "-",
        "source": ctx.source,
        "data_first": str(dates.iloc[0].date()),
        "data_last": str(dates.iloc[-1].date()),
        "test_first": str(test_dates.iloc[0].date()),
        "test_last": str(test_dates.iloc[-1].date()),
        "data_hash": data_hash(ctx.prices["date"], close),
        "quality_warnings": len(ctx.quality.warnings),
    }
    progress("logging to MLflow")
    record = RunRecord(
        run_name=f"train-{ticker}",
        params=params,
        metrics=metrics,
        tags={"stocky.version": __version__, "stocky.kind": "train", "ticker": ticker}
        | ({"git.commit": ctx.git_commit} if ctx.git_commit else {}),
        artifacts=_artifacts(ticker, ev, test_dates, ctx.quality.warnings, reason),
    )
    published = publish(
        registry=registry,
        ticker=ticker,
        record=record,
        spec=spec,
        tags=version_tags(spec, ev.scores),
        action="register",
        audit=audit,
        now=ctx.now,
    )
    return published, spec


def _artifacts(
    ticker: str, ev: Evaluation, test_dates: pd.Series, warnings: tuple[str, ...], reason: str
) -> Artifacts:
    frame = pd.DataFrame(
        {
            "date": test_dates.dt.strftime("%Y-%m-%d").to_numpy(),
            "actual": ev.walk.actual,
            "prediction": ev.walk.mean,
            "lower": ev.walk.lower,
            "upper": ev.walk.upper,
            "naive": ev.walk.naive,
        }
    )
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    summary: dict[str, Any] = {
        "ticker": ticker,
        "model_type": ev.model_type,
        "model": ev.label,
        "order_reason": reason,
        "metrics": ev.scores.to_dict(),
        "quality_warnings": list(warnings),
    }
    if ev.choice.candidates:
        summary["candidates"] = [dict(c) for c in ev.choice.candidates]
    summary |= interval_info(ev)
    # rendered when first read: a replay or study cell that keeps no state never reads it
    png = partial(
        forecast_chart,
        list(test_dates),
        ev.walk.actual,
        ev.walk.mean,
        ev.walk.lower,
        ev.walk.upper,
        title=(
            f"{ticker} {ev.label}: walk-forward RMSE {ev.scores.rmse:.3f} "
            f"vs naive {ev.scores.naive_rmse:.3f}"
        ),
    )
    return Artifacts(
        {
            "metrics.json": json.dumps(summary, indent=2, default=str).encode(),
            "walk_forward.csv": buf.getvalue().encode(),
            "forecast_vs_actual.png": png,
        }
    )
