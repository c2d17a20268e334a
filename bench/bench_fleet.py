"""A fleet of tickers on one machine: how each part scales with the universe's size.

Run with ``make bench`` (or ``python bench/bench_fleet.py --quick`` for N <= 100). Parts are
chosen with ``--parts`` (comma-separated); each part is one function registered in PARTS, so
others (daily, serving, dask, ...) can be added beside ``train`` without touching it.

The universe is SYNTHETIC and seeded: N tickers named SYN0000.. with geometric random-walk
closes on the XNYS sessions up to 2018-12-31, each with its own daily volatility (0.8-3%) and
drift; stored in a fresh state folder with source ``synthetic`` (so every MLflow run says
``source = synthetic``) and trained with ``--no-pull``, never touching a price source.

train: ``stocky train --all --no-pull`` as a subprocess (the wall time a user waits, process
start-up and worker start-up included), the process pool (``--jobs`` = CPU count) beside
``--jobs 1`` (one ticker after another, in the CLI's process) on the same stored universe.
The training configuration is the default (``--order auto``: AIC over p, q in 0..3 on CSS fits,
a validation walk-forward of 126 sessions, a 252-session test walk-forward with fixed
parameters, a final exact-ML refit on up to 1,260 sessions, the PNG chart and the MLflow run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

END = dt.date(2018, 12, 31)
SEED = 20240703


@dataclass(frozen=True)
class Args:
    sizes: tuple[int, ...]
    jobs: int
    sessions: int
    serial_max: int
    keep: Path | None


def synthetic_universe(n: int, *, sessions: int, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """SYNTHETIC: N seeded geometric random walks on the XNYS sessions ending at END."""
    import exchange_calendars as xcals

    calendar = xcals.get_calendar("XNYS", start="2000-01-01")
    days = calendar.sessions_in_range("2000-01-03", END.isoformat())[-sessions:]
    dates = pd.DatetimeIndex(days).tz_localize(None).astype("datetime64[ns]")
    rng = np.random.default_rng(seed)
    frames = {}
    for i in range(n):
        vol = rng.uniform(0.008, 0.03)
        drift = rng.normal(0.0002, 0.0004)
        close = rng.uniform(10, 500) * np.exp(np.cumsum(rng.normal(drift, vol, sessions)))
        frames[f"SYN{i:04d}"] = pd.DataFrame(
            {
                "date": dates,
                "open": close,
                "high": close,
                "low": close,
                "close": close,
                "volume": 0.0,
            }
        )
    return frames


def store_universe(home: Path, frames: dict[str, pd.DataFrame]) -> None:
    """Create a state folder whose database holds the frames (source `synthetic`)."""
    from stocky.adapters.store import PriceRepository, create_schema, make_engine
    from stocky.config import Settings

    settings = Settings(home=home)
    settings.ensure_home()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    repo = PriceRepository(engine)
    fetched = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)
    for ticker, frame in frames.items():
        repo.upsert(ticker, frame, source="synthetic", fetched_at=fetched)
    engine.dispose()


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKY_")}
    env |= {"STOCKY_HOME": str(home), "STOCKY_LOG_LEVEL": "WARNING", "MPLBACKEND": "Agg"}
    src = Path(__file__).resolve().parent.parent / "src"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    return env


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # user + system seconds of the CLI process and its workers
    load: float  # 1-minute load average when the run started (other jobs on the machine)
    failed: int  # tickers the run reported as failed (exit 12 = some failed)


def run_train(home: Path, jobs: int) -> Run:
    """`stocky train --all --no-pull --jobs N` in a fresh process: wall and CPU seconds."""
    cmd = [sys.executable, "-m", "stocky", "train", "--all", "--no-pull", "--jobs", str(jobs)]
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=_env(home), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 12):
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise SystemExit(f"stocky train --jobs {jobs} exited {proc.returncode}:\n{tail}")
    failed = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    for line in failed:
        print(f"  (--jobs {jobs}) {line}")
    return Run(wall, cpu, load, len(failed))


def registered(home: Path) -> int:
    """Champions registered in the state folder (the run must have registered every ticker)."""
    from stocky.adapters.registry import ModelRegistry
    from stocky.config import Settings

    settings = Settings(home=home)
    registry = ModelRegistry(
        tracking_uri=settings.tracking_uri,
        experiment=settings.mlflow_experiment,
        artifact_root=settings.artifact_root,
    )
    return len(registry.alias_map("champion"))


def part_train(args: Args, root: Path) -> None:
    print(
        f"\n== train: stocky train --all --no-pull, pool (--jobs {args.jobs}) vs --jobs 1; "
        f"SYNTHETIC universe, {args.sessions} sessions per ticker, default config (order auto)"
    )
    print(
        f"{'N':>5} | {'jobs 1: wall':>12} {'s/ticker':>8} {'cpu/t':>6} {'load':>5} | "
        f"{'pool: wall':>10} {'s/ticker':>8} {'cpu/t':>6} {'load':>5} | {'ratio':>6}"
    )
    per_serial: float | None = None
    for n in args.sizes:
        frames = synthetic_universe(n, sessions=args.sessions)
        pool_home, serial_home = root / f"train-{n}-pool", root / f"train-{n}-serial"
        for home in (pool_home, serial_home):
            store_universe(home, frames)
        pool = run_train(pool_home, args.jobs)
        if registered(pool_home) != n - pool.failed:
            raise SystemExit(f"the pool run registered {registered(pool_home)} of {n} tickers")
        note = ""
        if n <= args.serial_max:
            serial = run_train(serial_home, 1)
            per_serial = serial.wall / n
            serial_text = (
                f"{serial.wall:12.1f} {serial.wall / n:8.3f} {serial.cpu / n:6.3f} "
                f"{serial.load:5.1f}"
            )
            serial_wall = serial.wall
        elif per_serial is not None:
            serial_wall = per_serial * n
            serial_text = (
                f"{'~' + format(serial_wall, '.0f'):>12} {per_serial:8.3f} {'-':>6} {'-':>5}"
            )
            note = "  (--jobs 1 extrapolated from the largest N measured)"
        else:
            serial_wall, serial_text = float("nan"), f"{'-':>12} {'-':>8} {'-':>6} {'-':>5}"
        print(
            f"{n:>5} | {serial_text} | {pool.wall:10.1f} {pool.wall / n:8.3f} "
            f"{pool.cpu / n:6.3f} {pool.load:5.1f} | {serial_wall / pool.wall:5.2f}x{note}",
            flush=True,
        )
    print(
        "wall = process wall seconds, start-up included (it dominates at N=10); s/ticker = "
        "wall / N; cpu/t = CPU seconds (CLI + workers) per ticker; load = 1-minute load "
        "average at the run's start (other jobs share the machine); ratio = jobs-1 wall / "
        "pool wall."
    )


PARTS: dict[str, Callable[[Args, Path], None]] = {"train": part_train}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts", default="train", help=f"comma-separated parts: {', '.join(PARTS)}"
    )
    parser.add_argument("--quick", action="store_true", help="N = 10 and 100 only")
    parser.add_argument("--sizes", default=None, help="comma-separated N (default 10,100,1000)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="pool workers")
    parser.add_argument("--sessions", type=int, default=1000, help="sessions per ticker")
    parser.add_argument(
        "--serial-max",
        type=int,
        default=100,
        help="largest N also run with --jobs 1 (above: extrapolated per ticker)",
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep state folders here")
    ns = parser.parse_args()
    sizes = ns.sizes or ("10,100" if ns.quick else "10,100,1000")
    args = Args(
        sizes=tuple(int(x) for x in sizes.split(",")),
        jobs=ns.jobs,
        sessions=ns.sessions,
        serial_max=ns.serial_max,
        keep=ns.keep,
    )
    parts = [p.strip() for p in ns.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {unknown}: choose from {', '.join(PARTS)}")
    from stocky.runtime import limit_blas_threads

    limit_blas_threads(1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"bench_fleet: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load:.1f} at start, Python {platform.python_version()}"
    )
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        for part in parts:
            PARTS[part](args, args.keep)
        return
    with tempfile.TemporaryDirectory(prefix="stocky-bench-fleet-") as tmp:
        for part in parts:
            PARTS[part](args, Path(tmp))


if __name__ == "__main__":
    main()
