"""Dask vs the local process pool on the same universe, and a policy study's wall time.

    python bench/bench_dask.py --tickers 6                  # pool vs LocalCluster only
    python bench/bench_dask.py --tickers 6 --study 20       # plus 3 policies x 20 tickers x 2 years

Part 1 trains a universe of SYNTHETIC seeded random walks (stored in a private SQLite state
folder first) with `local` (a spawned pool of N processes) and with a Dask `LocalCluster` of N
worker processes, each in its own state folder: wall times and the overhead ratio. Part 2 runs
`stocky study`'s pipeline (3 retrain policies x T tickers x 2 years) on a LocalCluster; its
tickers come from STOCKY_PRICE_SOURCE=synthetic when that source exists, else the bundled real
closes (^GSPC, ^IXIC, MSFT).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from stocky.runtime import limit_blas_threads

END = dt.date(2018, 12, 31)
NOW = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)


def synthetic_frames(n_tickers: int, n: int = 800) -> dict[str, object]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from fakes import price_frame

    frames = {}
    for i in range(n_tickers):
        rng = np.random.default_rng(1000 + i)
        frames[f"SYN{i + 1}"] = price_frame(
            40.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.013, n))), end=END
        )
    return frames


def part_pool_vs_dask(n_tickers: int, jobs: int, root: Path) -> None:
    from stocky.config import Settings
    from stocky.pipelines.tasks import train_task
    from stocky.wiring import build_stack, make_executor

    frames = synthetic_frames(n_tickers)
    walls = {}
    for kind in ("local", "dask"):
        settings = Settings(home=root / kind, price_source="bundled", reload_interval_seconds=0)
        settings.ensure_home()
        with build_stack(settings) as stack:
            for t, f in frames.items():
                stack.prices.upsert(t, f, source="synthetic", fetched_at=NOW)  # type: ignore[arg-type]
            stack.registry.tickers()
        t0 = time.perf_counter()
        executor = make_executor(settings, kind=kind, jobs=jobs)  # type: ignore[arg-type]
        started = time.perf_counter() - t0
        outs = list(executor.map(train_task, list(frames), settings.model_dump_json(), NOW, END))
        executor.close()
        walls[kind] = time.perf_counter() - t0
        failed = [o for o in outs if not o.ok]
        print(
            f"{kind:6} {n_tickers} tickers, {jobs} workers: {walls[kind]:6.1f} s wall "
            f"(start-up {started:.1f} s), {len(failed)} failed"
        )
    print(f"dask / local wall-time ratio: {walls['dask'] / walls['local']:.2f}")


def part_study(n_tickers: int, jobs: int, root: Path) -> None:
    from stocky.config import Settings
    from stocky.pipelines.study import parse_grid, run_study
    from stocky.pipelines.study_report import policy_table, write_study
    from stocky.wiring import build_stack, make_executor

    try:
        settings = Settings(
            home=root / "study", price_source="synthetic", reload_interval_seconds=0
        )  # type: ignore[arg-type]
        os.environ.setdefault("STOCKY_SYNTHETIC_TICKERS", str(n_tickers))
    except ValueError:
        print("(no synthetic price source here: the bundled real closes are used)")
        settings = Settings(home=root / "study", price_source="bundled", reload_interval_seconds=0)
    settings.ensure_home()
    with build_stack(settings, migrate=False) as stack:
        tickers = stack.source.tickers()[:n_tickers]
    policies = parse_grid(["retrain=on-drift,monthly,never"])
    # two years with enough history before them to train: the synthetic universe ends in 2024,
    # the bundled closes in 2018
    synthetic = settings.price_source == "synthetic"
    start = dt.date(2022, 1, 3) if synthetic else dt.date(2016, 1, 4)
    end = dt.date(2023, 12, 29) if synthetic else dt.date(2017, 12, 29)
    executor = make_executor(settings, kind="dask", jobs=jobs)
    t0 = time.perf_counter()
    run = run_study(
        executor=executor,
        settings=settings,
        tickers=tickers,
        policies=policies,
        start=start,
        end=end,
        root=root / "study" / "out",
    )
    executor.close()
    wall = time.perf_counter() - t0
    write_study(run.cells, root / "study" / "out", start=str(start), end=str(end))
    failed = [c for c in run.cells if c.error]
    if failed:
        print(f"{len(failed)} of {len(run.cells)} cells FAILED, e.g. {failed[0].error}")
    compute = sum(c.compute_seconds for c in run.cells)
    print(
        f"study ({settings.price_source}, {start}..{end}): {len(policies)} policies x "
        f"{len(tickers)} tickers x 2 years = {len(run.cells)} "
        f"cells on {jobs} Dask workers: {wall:.1f} s wall, {compute:.1f} s summed cell compute "
        f"({compute / max(1, len(run.cells)):.1f} s per cell)"
    )
    print(policy_table(run.cells).to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--study", type=int, default=0, help="tickers in the study (0: skip)")
    args = parser.parse_args()
    limit_blas_threads(1)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        part_pool_vs_dask(args.tickers, args.jobs, Path(tmp))
        if args.study:
            part_study(args.study, args.jobs, Path(tmp))


if __name__ == "__main__":
    main()
