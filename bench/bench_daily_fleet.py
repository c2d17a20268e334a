"""The daily loop over a fleet: one `stocky daily --retrain never` day (no retrains) for
N = 10, 100, 1,000 tickers through the one set-based path (the per-ticker path it replaced
took 41.4 s for 1,000 tickers on this machine; README).

    python bench/bench_daily_fleet.py [--sizes 10 100 1000] [--cache DIR]

Everything is SYNTHETIC: prices from `STOCKY_PRICE_SOURCE=synthetic` (SYN0001..), champions
registered through a fast path (a registered model whose one version's source is a folder
holding spec.json, ARIMA(0,1,1) parameters drawn from a seeded generator, no training run),
and a year of logged forecasts with their actuals inserted directly into the database (each
the previous close plus a small made-up error, with a +-2 sigma interval). The day run is the
last synthetic session: its prices are pulled, yesterday's forecasts labeled, drift checked
(both states) and tomorrow's forecasts logged.

Each run starts from a copy of the same database and lists the registry once. Printed per size: seconds
per step and SQL statements per step on the stocky database, then the whole day (in one
process, after a warm-up day: imports are not counted). Target: the
1,000-ticker day with no retrains in <= 20 s. A missed target prints MISS, never fails the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_serve_fleet import _spec, empty_mlflow_db  # noqa: E402

SIZES = (10, 100, 1000)
TARGET_S = 20.0  # a 1,000-ticker day without retrains
YEAR = 250  # logged forecasts per ticker
SESSIONS = 600  # synthetic sessions per ticker
STEPS = ("pulling", "attaching", "checking drift", "forecasting")
FORMAT = 1


def _settings(home: Path, n: int, db: Path) -> Any:
    from stocky.config import Settings

    return Settings(
        home=home,
        database_url=f"sqlite:///{db}",
        mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        price_source="synthetic",
        synthetic_tickers=n,
        synthetic_sessions=SESSIONS,
        order="0,1,1",
        reload_interval_seconds=0,
    )


def _register(home: Path, tickers: list[str], template: Path) -> None:
    """The fast path: a registered model, one version (source: a folder with spec.json), alias."""
    import numpy as np

    from stocky.adapters.registry import ModelRegistry, model_name

    shutil.copy(template, home / "mlflow.db")
    client = ModelRegistry(
        tracking_uri=f"sqlite:///{home / 'mlflow.db'}", experiment="stocky"
    ).client
    rng = np.random.default_rng(len(tickers))
    for ticker in tickers:
        source = home / "specs" / ticker
        source.mkdir(parents=True)
        (source / "spec.json").write_text(json.dumps(_spec(ticker, rng)))
        name = model_name(ticker)
        client.create_registered_model(name, tags={"ticker": ticker, "synthetic": "true"})
        version = client.create_model_version(name, source=source.as_uri())
        client.set_registered_model_alias(name, "champion", version.version)


def _forecasts(engine: Any, frames: dict[str, Any], day: dt.date, now: dt.datetime) -> int:
    """A year of labeled daily forecasts per ticker up to `day`'s eve, and the pending one
    for `day` (SYNTHETIC errors: 0.3 x the ticker's typical move)."""
    import numpy as np

    from stocky.adapters.registry import model_name
    from stocky.adapters.store.tables import predictions

    rng = np.random.default_rng(7)
    rows: list[dict[str, Any]] = []
    for ticker, frame in frames.items():
        close = frame["close"].to_numpy(float)
        dates = [d.date() for d in frame["date"]]
        sigma = float(np.std(np.diff(np.log(close)))) * close
        start = len(close) - YEAR - 1
        for k in range(start, len(close)):
            naive, target = close[k - 1], dates[k]
            pred = naive + 0.3 * sigma[k] * rng.standard_normal()
            labeled = target < day
            actual = close[k] if labeled else None
            rows.append(
                {
                    "ticker": ticker,
                    "created_at": dt.datetime.combine(dates[k - 1], dt.time(22), tzinfo=dt.UTC),
                    "as_of": dates[k - 1],
                    "target_date": target,
                    "prediction": pred,
                    "lower": pred - 2 * sigma[k],
                    "upper": pred + 2 * sigma[k],
                    "naive": naive,
                    "model_name": model_name(ticker),
                    "model_version": 1,
                    "arima_order": "(0, 1, 1)",
                    "history_len": 60,
                    "input_hash": "synthetic",
                    "request_id": "synthetic",
                    "source": "daily",
                    "actual": actual,
                    "error": None if actual is None else actual - pred,
                    "abs_error": None if actual is None else abs(actual - pred),
                    "sq_error": None if actual is None else (actual - pred) ** 2,
                    "naive_error": None if actual is None else actual - naive,
                    "actual_at": now if labeled else None,
                }
            )
    with engine.begin() as conn:
        conn.execute(predictions.insert(), rows)
    return len(rows)


def build(folder: Path, n: int, template: Path) -> tuple[Path, dt.date]:
    """The state before the day: prices through the eve, champions, a year of forecasts."""
    from stocky.adapters.prices.synthetic import SyntheticSource
    from stocky.adapters.store import create_schema, make_engine
    from stocky.adapters.store.prices import PriceRepository
    from stocky.core.sessions import TradingCalendar

    home = folder / f"fleet-{n}"
    marker = home / "built.json"
    calendar = TradingCalendar("XNYS")
    source = SyntheticSource(n, sessions=SESSIONS)
    day = calendar.session_on_or_before(source.end)
    if marker.exists() and json.loads(marker.read_text()) == {"n": n, "format": FORMAT}:
        return home, day
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    t0 = time.perf_counter()
    tickers = source.tickers()
    _register(home, tickers, template)
    engine = make_engine(f"sqlite:///{home / 'state.db'}")
    create_schema(engine)
    eve = calendar.previous_session(day)
    now = dt.datetime.combine(eve, dt.time(22), tzinfo=dt.UTC)
    frames = source.fetch_many(tickers, None, day)
    PriceRepository(engine).store_many(
        {t: f[f["date"].dt.date <= eve] for t, f in frames.items()},
        source=source.name,
        fetched_at=now,
    )
    rows = _forecasts(engine, frames, day, now)
    engine.dispose()
    marker.write_text(json.dumps({"n": n, "format": FORMAT}))
    print(f"  built {n} tickers ({rows} logged forecasts) in {time.perf_counter() - t0:.0f} s")
    return home, day


def run_day(home: Path, n: int, day: dt.date) -> dict[str, Any]:
    """One day on a fresh copy of the state; seconds and statements per step."""
    import sqlalchemy as sa

    from stocky.adapters.executor import InlineExecutor
    from stocky.pipelines.daily import DailyDeps
    from stocky.pipelines.retrain_many import run_daily_many
    from stocky.wiring import build_stack

    db = home / "new.db"
    for stale in home.glob(db.name + "*"):
        stale.unlink()
    shutil.copy(home / "state.db", db)
    settings = _settings(home, n, db)
    seconds: dict[str, float] = defaultdict(float)
    queries: dict[str, int] = defaultdict(int)
    current = ["setup"]
    mark = [time.perf_counter()]

    def progress(message: str) -> None:
        step = next((s for s in STEPS if s in message), current[0])
        now = time.perf_counter()
        seconds[current[0]] += now - mark[0]
        current[0], mark[0] = step, now

    t0 = time.perf_counter()
    with build_stack(settings) as stack:
        assert stack.engine is not None
        sa.event.listen(
            stack.engine,
            "before_cursor_execute",
            lambda *_a: queries.__setitem__(current[0], queries[current[0]] + 1),
        )
        deps = DailyDeps.from_stack(stack)
        outcomes = run_daily_many(
            deps,
            executor=InlineExecutor(),
            settings=settings,
            tickers=stack.source.tickers(),  # type: ignore[attr-defined]
            as_of=day,
            now=dt.datetime.combine(day, dt.time(22), tzinfo=dt.UTC),
            retrain_mode="never",
            forecast=True,
            progress=progress,
        )
        seconds[current[0]] += time.perf_counter() - mark[0]
    total = time.perf_counter() - t0
    failed = [o for o in outcomes if o.error is not None]
    if failed:
        print(f"  {len(failed)} tickers failed, e.g. {failed[0].ticker}: {failed[0].error}")
    forecasts = sum(1 for o in outcomes if o.day is not None and o.day.forecast_target)
    labeled = sum(o.day.actuals.updated for o in outcomes if o.day is not None)
    return {
        "total": total,
        "seconds": dict(seconds),
        "queries": dict(queries),
        "forecasts": forecasts,
        "labeled": labeled,
    }


def main() -> None:
    from stocky.runtime import limit_blas_threads

    limit_blas_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--cache", type=Path, default=None, help="Keep built states here.")
    args = parser.parse_args()
    folder = args.cache or Path(tempfile.mkdtemp(prefix="bench-daily-fleet-"))
    folder.mkdir(parents=True, exist_ok=True)
    template = empty_mlflow_db(folder)
    print("daily loop over a SYNTHETIC fleet, --retrain never (seconds | SQL statements)")
    header = "  ".join(f"{s[:8]:>14}" for s in ("setup", *STEPS))
    print(f"{'N':>5} {'path':10} {header} {'total':>8} {'labeled':>8} {'forecasts':>9}")
    for i, n in enumerate(args.sizes):
        home, day = build(folder, n, template)
        if i == 0:  # imports (mlflow, scipy.stats, ...) out of the first timing
            run_day(home, n, day)
        r = run_day(home, n, day)
        cells = "  ".join(
            f"{r['seconds'].get(s, 0.0):6.2f}|{r['queries'].get(s, 0):<7d}"
            for s in ("setup", *STEPS)
        )
        print(
            f"{n:>5} {'fleet':10} {cells} {r['total']:7.2f}s {r['labeled']:>8} {r['forecasts']:>9}"
        )
        if n == 1000:
            verdict = "PASS" if r["total"] <= TARGET_S else "MISS"
            print(f"  target: 1,000 tickers in <= {TARGET_S:.0f} s: {verdict}")
    if args.cache is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
