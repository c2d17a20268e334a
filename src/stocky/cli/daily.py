"""`stocky daily` and `stocky scheduler`: the daily loop, once or forever."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, cast

import typer

from stocky.cli._common import console_err, handle_errors, settings_for_cli
from stocky.config import Settings
from stocky.core.redact import redact
from stocky.core.words import count
from stocky.errors import BadInput, StockyError

if TYPE_CHECKING:
    from stocky.adapters.executor import ExecutorKind
    from stocky.pipelines.catch_up import Plan
    from stocky.pipelines.daily import DailyDeps, RetrainMode
    from stocky.pipelines.retrain_many import DailyOutcome
    from stocky.wiring import Stack

__all__ = ["attention", "daily", "run_daily_cli", "scheduler"]

log = logging.getLogger(__name__)


def run_daily_cli(
    settings: Settings,
    *,
    as_of: str | None,
    retrain_mode: str,
    tickers: list[str] | None,
    forecast: bool,
    report: bool,
    executor_kind: str | None = None,
    jobs: int | None = None,
    start: str | None = None,
    end: str | None = None,
) -> int:
    """Run the daily job under the state folder's lock for one session (`as_of`), a range
    (`start`..`end`) or every session missed since the last run (neither), in order; print
    one line per session for the fleet (and its tickers' lines, what needs attention first),
    one line for the run; return the exit code."""
    from stocky.adapters.lock import daily_lock
    from stocky.core.tickers import normalize_tickers
    from stocky.pipelines.catch_up import plan_sessions, session_date
    from stocky.pipelines.daily import RETRAIN_MODES, DailyDeps
    from stocky.pipelines.freshness import source_ends
    from stocky.pipelines.retrain_many import run_daily_many
    from stocky.wiring import build_stack, make_executor

    if retrain_mode not in RETRAIN_MODES:
        raise BadInput(f"--retrain {retrain_mode!r}: use one of {', '.join(RETRAIN_MODES)}")
    # delivery runs after the lock is released: a slow alert target must never keep the next
    # daily run out (the outbox's claims keep two senders from sending one alert twice)
    report_failure: StockyError | None = None
    code = 0
    lines: list[str] = []
    with build_stack(settings) as stack:
        with daily_lock(stack.engine or settings.db_url, settings.home):
            deps = DailyDeps.from_stack(stack)
            now = dt.datetime.now(dt.UTC)
            calendar = deps.calendar
            symbols = (
                normalize_tickers(tickers)
                if tickers
                else sorted(set(deps.registry.tickers()) | set(deps.predictions.tickers()))
                or [settings.default_ticker]
            )
            plan = plan_sessions(
                calendar=calendar,
                audit=deps.audit,
                prices=deps.prices,
                source_end=source_ends(lambda: deps.source),
                source=deps.source.name,
                tickers=symbols,
                now=now,
                as_of=None if as_of is None else session_date(as_of, "--as-of", calendar),
                start=None if start is None else session_date(start, "--from", calendar),
                end=None if end is None else session_date(end, "--to", calendar),
            )
            if not plan.sessions:
                typer.echo(_nothing_to_do(plan))
                return 0
            executor = make_executor(
                settings, kind=cast("ExecutorKind | None", executor_kind), jobs=jobs
            )
            totals = Totals()
            try:
                for day in plan.sessions:
                    active = plan.tickers_on(symbols, day)
                    if len(plan.sessions) > 1:
                        log.info("daily %s: %s", day, count(len(active), "ticker"))
                    outcomes = run_daily_many(
                        deps,
                        executor=executor,
                        settings=settings,
                        tickers=active,
                        as_of=day,
                        now=dt.datetime.now(dt.UTC),
                        retrain_mode=cast("RetrainMode", retrain_mode),
                        forecast=forecast,
                        # steps in the log for one session; a catch-up logs only its sessions
                        progress=log.info if len(plan.sessions) == 1 else log.debug,
                    )
                    session_code = _session(deps, day, outcomes, totals=totals, now=now)
                    code = code or session_code
            finally:
                executor.close()
            last = plan.sessions[-1]
            if len(plan.sessions) > 1:
                lines.append(totals.line(plan.sessions))
            if (ended := plan.ended()) is not None:
                lines.append(ended)
            if report:
                try:
                    lines.append(_write_report(stack, symbols, now))
                except StockyError as exc:
                    _failed_alert(
                        deps, ticker=None, session=last, step="report", error=str(exc), now=now
                    )
                    report_failure = exc
        delivered = _deliver(stack, dt.datetime.now(dt.UTC))
    if report_failure is not None:
        console_err(delivered)  # the failure alert went out
        raise report_failure
    lines.append(delivered)
    for line in lines:
        typer.echo(line)
    return code


#: A fleet this size or smaller lists every ticker under each session's line; a larger one
#: lists only the tickers that need attention, at most this many.
TICKER_LINES = 20


@dataclass
class Totals:
    """What a run did over all its sessions."""

    prices: int = 0
    labeled: int = 0
    forecasts: int = 0
    promoted: int = 0
    rejected: int = 0
    failed: int = 0
    degraded: int = 0

    def add(self, counts: Counter[str]) -> None:
        for name in ("prices", "labeled", "forecasts", "promoted", "rejected", "failed"):
            setattr(self, name, getattr(self, name) + counts[name])
        self.degraded += counts["model_degraded"] + counts["drift"]

    def line(self, sessions: list[dt.date]) -> str:
        """`caught up 5 sessions (2018-12-24 .. 2018-12-31): +5 prices, ...`."""
        return (
            f"ran {count(len(sessions), 'session')} ({sessions[0]} .. {sessions[-1]}): "
            f"+{count(self.prices, 'price')}, {self.labeled} labeled, "
            f"{count(self.forecasts, 'forecast')}, {self.degraded} degraded, "
            f"{count(self.promoted + self.rejected, 'retrain')} ({self.promoted} promoted), "
            f"{self.failed} failed"
        )


def _nothing_to_do(plan: Plan) -> str:
    ran = f"the daily job ran for {plan.last_run}" if plan.last_run else "no session to run"
    ended = plan.ended()
    return f"{ended} ({ran})" if ended else f"nothing to catch up: {ran}"


def _session(
    deps: DailyDeps,
    day: dt.date,
    outcomes: list[DailyOutcome],
    *,
    totals: Totals,
    now: dt.datetime,
) -> int:
    """Print one session's line for the fleet and its tickers' lines (what needs attention
    first; only those for a fleet over TICKER_LINES); queue its `daily_failed` alerts;
    return its exit code."""
    code = 0
    counts: Counter[str] = Counter()
    ticker_lines: list[tuple[int, str]] = []
    failures: list[tuple[str, str, str]] = []
    for outcome in sorted(outcomes, key=attention):
        sym, r = outcome.ticker, outcome.day
        rank = attention(outcome)
        if outcome.error is not None or r is None:
            error = redact(str(outcome.error))
            console_err(f"error: {sym}: {day}: {error}")
            code = code or outcome.exit_code or 1
            counts["failed"] += 1
            ticker_lines.append((rank, f"{sym:8} FAILED: {error}"))
            failures.append((sym, "retraining" if r is not None else "daily", error))
            continue
        counts["prices"] += r.rows_pulled
        counts["labeled"] += r.actuals.updated
        counts[r.drift.decision] += 1
        retrain_text = "no retrain"
        if r.retrain is not None:
            counts["promoted" if r.retrain.promoted else "rejected"] += 1
            retrain_text = (
                f"PROMOTED v{r.retrain.to_version}"
                if r.retrain.promoted
                else f"rejected (v{r.retrain.from_version} stays)"
            )
        latest = "-" if r.drift.latest_value is None else f"{r.drift.latest_value:.4g}"
        fc = "no new forecast"
        if r.forecast_target:
            counts["forecasts"] += 1
            fc = f"forecast for {r.forecast_target}"
        ticker_lines.append(
            (
                rank,
                f"{sym:8} as of {day}: +{r.rows_pulled} prices, {r.actuals.updated} labeled, "
                f"drift {r.drift.decision} ({deps.rule.metric} {latest}), {retrain_text}, {fc}",
            )
        )
    _failed_alerts(deps, failures, session=day, now=now)
    totals.add(counts)
    typer.echo(_session_line(day, len(outcomes), counts))
    shown = ticker_lines
    if len(outcomes) > TICKER_LINES:
        shown = [t for t in ticker_lines if t[0] < _FINE][:TICKER_LINES]
        more = sum(1 for t in ticker_lines if t[0] < _FINE) - len(shown)
        if more:
            shown.append((0, f"... {more} more need attention: see `stocky report` or /dashboard"))
    for _rank, line in shown:
        typer.echo(f"  {line}")
    return code


def _session_line(day: dt.date, n: int, counts: Counter[str]) -> str:
    """`2018-12-24: 7 tickers, +7 prices, 7 labeled, 7 forecasts; drift: 6 no_drift,
    1 volatility_changed; retrains: 1 promoted, 0 rejected; 0 failed`."""
    decisions = sorted((k, v) for k, v in counts.items() if k not in _COUNTED)
    drift = ", ".join(f"{v} {k}" for k, v in decisions) or "none"
    retrains = counts["promoted"] + counts["rejected"]
    retrain = (
        f"{count(retrains, 'retrain')} ({counts['promoted']} promoted)"
        if retrains
        else "no retrain"
    )
    return (
        f"daily {day}: {count(n, 'ticker')}, +{count(counts['prices'], 'price')}, "
        f"{counts['labeled']} labeled, {count(counts['forecasts'], 'forecast')}; "
        f"drift: {drift}; {retrain}; {counts['failed']} failed"
    )


_COUNTED = frozenset({"prices", "labeled", "forecasts", "promoted", "rejected", "failed"})


#: Summary order: what needs attention first (a failure, a degraded model, a rejected
#: retrain, a changed market), then the rest; tickers keep their order within a rank.
_DECISION_RANK = {
    "model_degraded": 1,
    "drift": 1,
    "cooldown": 2,
    "volatility_changed": 3,
    "insufficient_data": 4,
    "no_champion": 4,
}


#: In a fleet over TICKER_LINES, the tickers listed: `attention` below this (failures,
#: degraded, rejected retrains, cooling down, volatility or coverage), not those merely
#: waiting for labels or a champion (counted in the session's line).
_FINE = 4


def attention(outcome: DailyOutcome) -> int:
    """0 for a failure, then degraded (1), cooling down (2), volatility changed or coverage
    broken (3), too little data or no champion (4), fine (5); a rejected retrain ranks 1."""
    r = outcome.day
    if outcome.error is not None or r is None:
        return 0
    if r.retrain is not None and not r.retrain.promoted:
        return 1
    rank = _DECISION_RANK.get(r.drift.decision, 5)
    if rank == 5 and (r.drift.coverage_broken or r.drift.volatility_changed):
        return 3
    return rank


def _failed_alerts(
    deps: DailyDeps,
    failures: list[tuple[str, str, str]],
    *,
    session: dt.date,
    now: dt.datetime,
) -> None:
    """Queue a `daily_failed` alert per (ticker, step, error) in one transaction."""
    from stocky.core.alert_messages import daily_failed
    from stocky.pipelines.alert_causes import queued

    if not failures:
        return
    alerts = [
        queued(
            daily_failed(ticker=sym, session=session, step=step, error=error),
            calendar=deps.calendar,
            config=deps.alerts,
        )
        for sym, step, error in failures
    ]
    try:
        deps.audit.add_alerts(alerts, now=now)
    except StockyError as store_exc:
        console_err(f"error: could not queue {len(alerts)} daily_failed alert(s): {store_exc}")


def _failed_alert(
    deps: DailyDeps,
    *,
    ticker: str | None,
    session: dt.date,
    step: str,
    error: str,
    now: dt.datetime,
) -> None:
    """Queue a `daily_failed` alert (ticker None: the whole job); a database that cannot take
    it is reported on stderr, and the job's own error stays the one that counts."""
    from stocky.core.alerts import FLEET

    _failed_alerts(deps, [(ticker or FLEET, step, error)], session=session, now=now)


def _deliver(stack: Stack, now: dt.datetime) -> str:
    """Send the due alerts; a failure to deliver never fails the daily job (they stay queued)."""
    from stocky.cli._deliver import deliver_outbox

    if stack.engine is None:
        return "alerts: no database outbox"
    try:
        return deliver_outbox(stack, now=now)
    except StockyError as exc:
        console_err(f"error: alerts not delivered (they stay queued): {exc}")
        return f"alerts: not delivered: {exc}"


def _write_report(stack: Stack, symbols: list[str], now: dt.datetime) -> str:
    from stocky.pipelines.fleet_view import report_for_stack
    from stocky.report.write import write_report

    built = report_for_stack(stack, tickers=symbols, now=now)
    path = write_report(built, stack.settings.home / "report")
    return f"report: {path}"


@handle_errors
def daily(
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Run this one session only (default: every session missed since the last "
            "run, up to the last closed one)."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Run every session from this one (YYYY-MM-DD), in order."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="... up to this session (default: the last closed one, or where the "
            "price source ends).",
        ),
    ] = None,
    retrain: Annotated[
        str, typer.Option(help="on-drift (default), always, monthly or never.")
    ] = "on-drift",
    ticker: Annotated[
        list[str] | None,
        typer.Option("--ticker", "-t", help="Tickers (default: every registered one)."),
    ] = None,
    forecast: Annotated[
        bool, typer.Option(help="Log the champion's forecast for the next session.")
    ] = True,
    report: Annotated[bool, typer.Option(help="Write the HTML report to <home>/report.")] = True,
    executor: Annotated[
        str | None,
        typer.Option(help="Where retrains run: local or dask (default STOCKY_EXECUTOR)."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            help="Worker processes for local / a Dask LocalCluster (default STOCKY_JOBS)."
        ),
    ] = None,
) -> None:
    """Pull prices, attach actuals, check drift, retrain when needed, forecast, report: for every session missed since the last run (or --as-of, or --from/--to), in order. Exit 11 if already running."""
    settings = settings_for_cli()
    code = run_daily_cli(
        settings,
        as_of=as_of,
        start=start,
        end=end,
        retrain_mode=retrain,
        tickers=ticker,
        forecast=forecast,
        report=report,
        executor_kind=executor,
        jobs=jobs,
    )
    if code:
        raise typer.Exit(code)


@handle_errors
def scheduler(
    delay_minutes: Annotated[
        int, typer.Option(help="Minutes after each session's close to run.")
    ] = 30,
    retrain: Annotated[
        str, typer.Option(help="on-drift (default), always, monthly or never.")
    ] = "on-drift",
    once: Annotated[
        bool, typer.Option("--once", help="Wait for the next run time, run once, exit.")
    ] = False,
) -> None:
    """Run the daily job after every session's close, in this long-lived process (for compose)."""
    from stocky.core.sessions import TradingCalendar
    from stocky.pipelines.schedule import next_run

    settings = settings_for_cli()
    calendar = TradingCalendar(settings.exchange)
    while True:
        now = dt.datetime.now(dt.UTC)
        session, at = next_run(calendar, now, delay=dt.timedelta(minutes=delay_minutes))
        typer.echo(f"next daily run: {at.isoformat()} (after the {session} close)")
        while (left := (at - dt.datetime.now(dt.UTC)).total_seconds()) > 0:
            time.sleep(min(left, 60.0))
        try:
            run_daily_cli(
                settings,
                as_of=session.isoformat(),
                retrain_mode=retrain,
                tickers=None,
                forecast=True,
                report=True,
            )
        except StockyError as exc:
            console_err(
                f"error: daily run for {session} failed, will try again after the next close: {exc}"
            )
        if once:
            return
