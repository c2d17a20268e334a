"""The policy study's cost: CPU-seconds per ticker-year-policy of each way a study can run,
side by side: the in-memory backend in segments (the default), the in-memory backend session
by session (the daily path every session), and the SQL backend (a SQLite database and an
MLflow store per cell, the path studies ran first).

    python bench/bench_study.py [--tickers 2] [--years 6] [--order 0,1,1] [--repeat 1]
        [--paths memory:segments memory:sessions sql:sessions] [--profile]

Everything is SYNTHETIC: `STOCKY_PRICE_SOURCE=synthetic` tickers (seeded random walks, SYN0001..)
replayed over the last `--years` years of their history (ending 2024-12-31) under
`retrain=never,on-drift,monthly`, with ARIMA(0,1,1) alone by default (`--order ''`: every
default family competes at the first training and at every retrain, ~4x the cost of a
monthly retrain). Each backend runs as `stocky study --jobs 1` in a fresh
process, so the figure includes every fixed cost: process start, imports, the initial training
of every cell and the retrains. CPU time is the child process's user + system time.

Printed per path: cells, wall seconds, CPU seconds, CPU-s per ticker-year-policy and the
process's peak memory (what one worker running cells one after another needs); the goal is
<= 0.3 on the default path (a miss prints MISS, never fails), and each path's ratio to it.
`--profile` runs one memory cell of each policy under cProfile in this process and prints
where the time goes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 0.3
POLICIES = "retrain=never,on-drift,monthly"
END = dt.date(2024, 12, 31)


def _env(home: Path, tickers: int, years: int, order: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKY_")}
    if years > 6:  # the default 2,520 sessions hold 6 replayed years and 4 of training before
        env["STOCKY_SYNTHETIC_SESSIONS"] = str(252 * (years + 4))
    env |= {
        "STOCKY_HOME": str(home),
        "STOCKY_PRICE_SOURCE": "synthetic",
        "STOCKY_SYNTHETIC_TICKERS": str(tickers),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
    }
    if order:  # an explicit ARIMA order: ARIMA alone; empty: every default family competes
        env["STOCKY_ORDER"] = order
    return env


def run(path: str, tickers: int, years: int, root: Path, order: str = "0,1,1") -> dict[str, float]:
    """One `stocky study` in a child process (`path` is backend:engine); its wall and CPU seconds."""
    backend, engine = path.split(":")
    start = dt.date(END.year - years + 1, 1, 2)
    home = root / path.replace(":", "-")
    args = [sys.executable, "-m", "stocky", "study", "--start", str(start), "--end", str(END)]
    args += [t for i in range(1, tickers + 1) for t in ("-t", f"SYN{i:04d}")]
    args += ["--grid", POLICIES, "--jobs", "1", "--backend", backend, "--engine", engine]
    args += ["--out", str(home / "s")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        args, env=_env(home, tickers, years, order), capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
        raise SystemExit(f"{path}: stocky study failed ({done.returncode})")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    units = tickers * years * len(POLICIES.split("=")[1].split(","))
    rss_mb = after.ru_maxrss / 1024  # kB on Linux: the largest child's peak (one process here)
    return {
        "wall": wall,
        "cpu": cpu,
        "per_unit": cpu / units,
        "cells": units / years,
        "rss_mb": rss_mb,
    }


def profile(years: int) -> None:
    """One memory cell per policy under cProfile, in this process (imports excluded)."""
    import cProfile
    import pstats

    from stocky.config import Settings
    from stocky.pipelines.replay_run import run_replay

    prof = cProfile.Profile()
    for mode in POLICIES.split("=")[1].split(","):
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(home=Path(tmp), price_source="synthetic", order="0,1,1")
            t0 = time.process_time()
            prof.enable()
            run_replay(
                settings,
                ticker="SYN0001",
                start=dt.date(END.year - years + 1, 1, 2),
                end=END,
                retrain_mode=mode,  # type: ignore[arg-type]
                backend="memory",
                folder=None,
            )
            prof.disable()
            print(f"{mode}: {time.process_time() - t0:.2f} CPU s (profiled)")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickers", type=int, default=2)
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument(
        "--order",
        default="0,1,1",
        help="STOCKY_ORDER of the cells (default 0,1,1: ARIMA alone); '' lets every default "
        "family compete at every training and retrain",
    )
    parser.add_argument(
        "--paths", nargs="+", default=["memory:segments", "memory:sessions", "sql:sessions"]
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per path; the median CPU time is printed"
    )
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.profile:
        profile(args.years)
        return
    print(
        f"policy study on SYNTHETIC tickers ({'ARIMA' + args.order if args.order else 'every family'}): "
        f"{args.tickers} ticker(s) x {args.years} years x "
        f"3 policies ({POLICIES}), --jobs 1, fresh process each, median of {args.repeat}"
    )
    print(
        f"{'path':16} {'cells':>5} {'wall s':>8} {'CPU s':>8} "
        f"{'CPU-s/ticker-year-policy':>25} {'x first':>8} {'peak RSS MB':>12}"
    )
    first: float | None = None
    with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
        for path in args.paths:
            runs = [
                run(path, args.tickers, args.years, Path(tmp) / str(i), args.order)
                for i in range(args.repeat)
            ]
            r = sorted(runs, key=lambda x: x["cpu"])[len(runs) // 2]  # the median run
            first = first or r["per_unit"]
            verdict = "" if path != args.paths[0] else ("PASS" if r["per_unit"] <= GOAL else "MISS")
            print(
                f"{path:16} {r['cells']:5.0f} {r['wall']:8.1f} {r['cpu']:8.1f} "
                f"{r['per_unit']:25.3f} {r['per_unit'] / first:8.1f} {r['rss_mb']:12.0f} {verdict}"
            )
    print(f"goal: <= {GOAL} CPU-s per ticker-year-policy on {args.paths[0]}")


if __name__ == "__main__":
    main()
